/**
 * Child process of lookup.ts (run with --expose-gc): the V8 heap a LookupState takes per tracked
 * destination number, and per (caller, prefix) pair, once the tables hold N of each. Prints one JSON line.
 */
import { callHashOf, type CallFact } from '../src/lookup/facts';
import { LookupState } from '../src/lookup/lookup-state';
import { DEFAULT_RULES } from '../src/lookup/rules';
import { DEFAULT_DIAL_PLAN } from '../src/numbers/dial-plan';

function gcHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
}

function fill(state: LookupState, n: number, fact: (i: number) => CallFact): void {
  for (let i = 0; i < n; i += 10_000) {
    const chunk: CallFact[] = [];
    for (let k = i; k < Math.min(n, i + 10_000); k += 1) chunk.push(fact(k));
    state.ingest(chunk);
  }
}

function main(): void {
  const n = Number(process.argv[2] ?? 200_000);
  const nowS = Math.floor(Date.now() / 1000);
  const limits = { maxNumbers: n * 2, maxPairs: n * 2 };
  const number = (k: number) => `+55119${String(10_000_000 + k).padStart(8, '0')}`;
  const call = (k: number, callee: string, caller: string | null): CallFact => ({
    callHash: callHashOf(k.toString(16).padStart(8, '0')), callee, caller, startS: nowS - (k % 3600), finalCode: 200, answered: true, talkMs: 60_000,
  });

  // Numbers alone: N destinations, three calls each, no caller (no pair).
  let before = gcHeap();
  const numbers = new LookupState(DEFAULT_RULES, limits, DEFAULT_DIAL_PLAN);
  fill(numbers, n * 3, (k) => call(k, number(k % n), null));
  const bytesPerNumber = Math.round((gcHeap() - before) / numbers.stats().numbers);

  // Pairs: N callers, three calls each to one destination (one number, N pairs).
  before = gcHeap();
  const pairs = new LookupState(DEFAULT_RULES, limits, DEFAULT_DIAL_PLAN);
  fill(pairs, n * 3, (k) => call(k, '+37129123456', number(k % n)));
  const bytesPerPair = Math.round((gcHeap() - before) / pairs.stats().pairs);
  process.stdout.write(`${JSON.stringify({ numbers: numbers.stats().numbers, pairs: pairs.stats().pairs, bytesPerNumber, bytesPerPair })}\n`);
}

main();
