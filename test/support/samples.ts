/** The three hand-made calls of shared/samples/events.ndjson and their CDRs, worked out by hand from cdr.md. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cdrIdFor, type Cdr, type CdrExtras } from '../../correlators/cdr';

export const SAMPLES_PATH = join(__dirname, '..', '..', '..', 'shared', 'samples', 'events.ndjson');

export function readSamples(): Array<{ routingKey: string; body: Buffer }> {
  return readFileSync(SAMPLES_PATH, 'utf8').trim().split('\n')
    .map((line) => JSON.parse(line) as { routingKey: string; body: string })
    .map((m) => ({ routingKey: m.routingKey, body: Buffer.from(m.body, 'utf8') }));
}

export const EXPECTED_SAMPLE_CDRS: Cdr[] = [
  {
    cdr_id: cdrIdFor('7f3a9c1e-answered@10.1.2.3'), call_id: '7f3a9c1e-answered@10.1.2.3',
    caller: '+5511987654321', callee: '551133334444', disposition: 'answered', final_code: 200,
    invite_at: '2026-11-30T00:53:19.912345Z', ringing_at: '2026-11-30T00:53:20.048211Z',
    answer_at: '2026-11-30T00:53:24.007003Z', end_at: '2026-11-30T00:54:25.500000Z',
    pdd_us: 135_866, setup_us: 4_094_658, talk_us: 61_492_997, total_us: 65_587_655,
    bye_code: 200, hangup_by: 'caller', closed_by: 'bye', complete: true, events: 6, source: 'qbl',
  },
  {
    cdr_id: cdrIdFor('0c44e2d0-busy@10.1.2.3'), call_id: '0c44e2d0-busy@10.1.2.3',
    caller: '0055119876543', callee: '011551133335555', disposition: 'busy', final_code: 486,
    invite_at: '2026-11-30T00:53:30.000120Z', ringing_at: null, answer_at: null, end_at: '2026-11-30T00:53:30.098001Z',
    pdd_us: null, setup_us: 97_881, talk_us: 0, total_us: 97_881,
    bye_code: null, hangup_by: null, closed_by: 'final_reply', complete: true, events: 2, source: 'qbl',
  },
  {
    cdr_id: cdrIdFor('5be0-noanswer@10.1.2.3'), call_id: '5be0-noanswer@10.1.2.3',
    caller: 'alice', callee: 'bob', disposition: 'no_answer', final_code: 408,
    invite_at: '2026-11-30T00:53:40.000001Z', ringing_at: '2026-11-30T00:53:40.002201Z', answer_at: null,
    end_at: '2026-11-30T00:54:10.329880Z',
    pdd_us: 2_200, setup_us: 30_329_879, talk_us: 0, total_us: 30_329_879,
    bye_code: null, hangup_by: null, closed_by: 'final_reply', complete: true, events: 5, source: 'qbl',
  },
];

export const EXPECTED_SAMPLE_EXTRAS: Record<string, Partial<CdrExtras>> = {
  '7f3a9c1e-answered@10.1.2.3': { acc_duration_ms: 61_493, acc_setup_ms: 5_000, acc_code: 200, acc_mismatch: false },
  '0c44e2d0-busy@10.1.2.3': { acc_duration_ms: null, acc_code: null, acc_mismatch: null },
  '5be0-noanswer@10.1.2.3': { acc_duration_ms: 0, acc_setup_ms: 30_000, acc_code: 408, acc_mismatch: false },
};

