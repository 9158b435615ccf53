/**
 * Child process of measureCorrelatorIsolated: the correlator alone, in a fresh process whose
 * heap holds nothing but the event stream (the parent has run a whole service by then).
 * Args: messages, seed, batch size. Prints one JSON line: { perS, events, calls }. Fails unless
 * every call got exactly its expected CDR (as the pipeline figure does) and none is left open.
 */
import { benchTraffic } from './traffic';
import { decodeAll, measureCorrelatorSteady } from './correlator';

const [messages, seed, batchSize] = process.argv.slice(2).map(Number);
const traffic = benchTraffic(messages!, seed!, Date.now() * 1000);
const events = decodeAll(traffic.messages);
const result = measureCorrelatorSteady(events, batchSize!, traffic.expected);
if (result.calls !== traffic.expected.length || result.mismatchedCalls !== 0 || result.openCallsLeft !== 0) {
  throw new Error(`correlator bench: ${result.calls} CDRs for ${traffic.expected.length} calls, ${result.mismatchedCalls} not as expected, ${result.openCallsLeft} left open`);
}
process.stdout.write(`${JSON.stringify({ perS: result.perS, events: result.events, calls: result.calls })}\n`);
