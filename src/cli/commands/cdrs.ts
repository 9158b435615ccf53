/** `qbl cdrs`: find CDRs by call id, number, time range and disposition. */
import { DISPOSITIONS, type Disposition } from '../../../correlators/cdr';
import { loadConfig } from '../../config/config';
import { readDialPlan } from '../../config/dialplan';
import type { DialPlan } from '../../numbers/dial-plan';
import { cleanDialled, normaliseNumber } from '../../numbers/normalise';
import { openCdrReader } from '../../stores/open';
import type { CdrQuery } from '../../stores/store';
import type { CliCommand } from '../command';
import { UsageError, intFlag, parseFlags } from '../../flags';
import { CDR_FORMATS, renderCdrs, type CdrFormat } from '../format';
import { parseTimeFlag } from '../time-flags';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100_000;

const USAGE = `usage: qbl cdrs [--call-id ID] [--number N] [--since T] [--until T] [--disposition D]
                [--limit N] [--format table|csv|ndjson] [--extras]
  --call-id ID      the SIP Call-ID
  --number N        caller or callee, as typed
  --since T         calls started at or after T; --until T: started before T
                    T: 2026-11-27T13:05:09Z, 2026-11-27 (UTC midnight), or 15m / 2h / 7d ago
  --disposition D   ${DISPOSITIONS.join(', ')}
  --limit N         newest N CDRs (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})
  --format F        table (default), csv or ndjson (exactly the cdr.md fields)
  --extras          also the fields beyond cdr.md: caller_e164, callee_e164 and the acc module's
                    figures (acc_duration_ms, acc_setup_ms, acc_code, acc_mismatch)
Reads SQLITE_PATH (or the search engine when one is configured).`;

const FLAGS = {
  'call-id': { type: 'string' },
  number: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  disposition: { type: 'string' },
  limit: { type: 'string' },
  format: { type: 'string' },
  extras: { type: 'boolean' },
} as const;

/** The stored forms a typed number may match; the one place where normalisation plugs in. */
export function numbersToMatch(input: string, dialPlan: DialPlan = readDialPlan(process.env)): string[] {
  // As typed, without separators (how a raw caller/callee is usually stored), and as E.164.
  const forms = [input.trim(), cleanDialled(input), normaliseNumber(input, dialPlan)];
  return [...new Set(forms.filter((form): form is string => form !== null && form !== ''))];
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`--${flag}: expected a non-empty value`);
  return value;
}

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function parseCdrsArgs(argv: readonly string[], nowMs: number): { query: CdrQuery; format: CdrFormat; extras: boolean } {
  const { values } = parseFlags(argv, FLAGS);
  const query: CdrQuery = { limit: intFlag('limit', values.limit, DEFAULT_LIMIT, 1, MAX_LIMIT) };
  const callId = nonEmpty('call-id', values['call-id']);
  if (callId !== undefined) query.callId = callId;
  const number = nonEmpty('number', values.number);
  if (number !== undefined) query.numbers = numbersToMatch(number);
  if (values.since !== undefined) query.sinceUs = parseTimeFlag('since', values.since, nowMs);
  if (values.until !== undefined) query.untilUs = parseTimeFlag('until', values.until, nowMs);
  if (query.sinceUs !== undefined && query.untilUs !== undefined && query.sinceUs >= query.untilUs) {
    throw new UsageError('--since: must be earlier than --until');
  }
  if (values.disposition !== undefined) {
    query.disposition = oneOf<Disposition>('disposition', values.disposition, DISPOSITIONS, 'unknown');
  }
  return { query, format: oneOf('format', values.format, CDR_FORMATS, 'table'), extras: values.extras === true };
}

export const command: CliCommand = {
  name: 'cdrs',
  summary: 'Search the stored CDRs (newest first).',
  usage: USAGE,
  async run(argv) {
    const { query, format, extras } = parseCdrsArgs(argv, Date.now());
    const reader = await openCdrReader(loadConfig());
    try {
      const rows = await reader.searchCdrs(query);
      if (rows.length === 0) {
        process.stderr.write('no CDRs match\n');
        return 0;
      }
      process.stdout.write(renderCdrs(rows, format, { extras }));
      return 0;
    } finally {
      await reader.close();
    }
  },
};
