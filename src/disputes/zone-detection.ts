/** `--tz auto` against the store: samples of their rows, our calls around them, and the offset they agree on. */
import { formatUs } from '../../correlators/cdr';
import type { CdrReader } from '../stores/store';
import { NumberMatcher, type PartyNumber } from './numbers';
import { ReconcileInputError, type ReconcileOptions } from './options';
import { ourMatchable } from './our-calls';
import { detectOffset, formatOffset, MAX_OFFSET_US, type OffsetCandidate } from './time-zone';
import type { WorkDb } from './work-db';

const TZ_SAMPLE_ROWS = 2000;
const HOUR_US = 3_600_000_000;
/** In answer mode our compared time (the answer) may come this long after the stored start (the INVITE). */
export const ANSWER_SLACK_US = 300_000_000;

/** `--tz auto`: the offset that lines their rows up with our calls at the start, middle and end of the file. */
export async function detectTimeZone(work: WorkDb, reader: CdrReader, numbers: NumberMatcher, options: ReconcileOptions): Promise<{ offsetUs: number; how: string }> {
  const anchors = work.localAnchors();
  if (anchors.length === 0) return { offsetUs: 0, how: 'no time in the file needs it' };
  const found: Array<{ anchorUs: number; offsetUs: number; agreeing: number; sampled: number }> = [];
  for (const anchorUs of anchors) {
    const samples = work.sampleLocal(anchorUs - HOUR_US, anchorUs + HOUR_US, TZ_SAMPLE_ROWS);
    const candidates: OffsetCandidate<{ caller: PartyNumber; callee: PartyNumber }>[] = [];
    const range = {
      sinceUs: anchorUs - HOUR_US - MAX_OFFSET_US - options.windowUs - ANSWER_SLACK_US,
      untilUs: anchorUs + HOUR_US + MAX_OFFSET_US + options.windowUs,
    };
    for await (const page of reader.streamCdrs(range)) {
      for (const stored of page) {
        const call = ourMatchable(stored, options.startIs, numbers);
        candidates.push({ timeUs: call.matchUs, group: call.group, numbers: { caller: call.caller, callee: call.callee } });
      }
    }
    const result = detectOffset(
      samples.map((row) => ({ localUs: row.start.localUs, group: NumberMatcher.group(row.caller, row.callee), numbers: { caller: row.caller, callee: row.callee } })),
      candidates,
      (a, b) => numbers.same(a.caller, b.caller) && numbers.same(a.callee, b.callee),
    );
    if (result !== null) found.push({ anchorUs, ...result });
  }
  if (found.length === 0) {
    throw new ReconcileInputError('--tz auto: no offset lines their rows up with our calls (are these our calls, and is the store right?): pass --tz');
  }
  const offsets = [...new Set(found.map((f) => f.offsetUs))];
  if (offsets.length > 1) {
    const seen = found.map((f) => `${formatOffset(f.offsetUs)} around ${formatUs(f.anchorUs).slice(0, 16)} local`).join(', ');
    throw new ReconcileInputError(`--tz auto: the offset changes within the file (${seen}), as with daylight saving time: pass --tz with the carrier's zone, e.g. --tz Europe/London`);
  }
  const agreeing = found.reduce((sum, f) => sum + f.agreeing, 0);
  const sampled = found.reduce((sum, f) => sum + f.sampled, 0);
  return { offsetUs: offsets[0]!, how: `found with --tz auto: ${agreeing} of ${sampled} sampled rows line up with our calls at ${formatOffset(offsets[0]!)}` };
}
