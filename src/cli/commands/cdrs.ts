/**
 * `qbl cdrs`: find CDRs by call id, number, time range and disposition. The table shows the newest
 * `--limit` (and says on stderr when more match); csv and ndjson without `--limit` export every
 * match, streamed page by page in call-start order, so memory stays bounded whatever the store holds.
 */
import { once } from 'node:events';
import { DISPOSITIONS, type Disposition } from '../../../correlators/cdr';
import { loadConfig } from '../../config/config';
import { readDialPlan } from '../../config/dialplan';
import type { DialPlan } from '../../numbers/dial-plan';
import { cleanDialled, normaliseNumber } from '../../numbers/normalise';
import { openCdrReader } from '../../stores/open';
import type { CdrQuery, CdrReader, StoredCdr } from '../../stores/store';
import type { CliCommand } from '../command';
import { UsageError, intFlag, parseFlags } from '../../flags';
import { CDR_FORMATS, cdrExportHeader, cdrExportRows, renderCdrs, type CdrFormat } from '../format';
import { parseTimeFlag } from '../time-flags';
import { zoneFlag, type ShowTime } from '../local-time';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100_000;
/** A search engine answers at most this many hits to one query (max_result_window). */
const SEARCH_WINDOW = 10_000;

const USAGE = `usage: qbl cdrs [--call-id ID] [--number N] [--since T] [--until T] [--disposition D]
                [--limit N] [--format table|csv|ndjson] [--extras] [--tz ZONE]
  --call-id ID      the SIP Call-ID
  --number N        caller or callee, as typed
  --since T         calls started at or after T; --until T: started before T
                    T: 2026-11-27T13:05:09Z, 2026-11-27 (UTC midnight), or 15m / 2h / 7d ago
  --disposition D   ${DISPOSITIONS.join(', ')}
  --limit N         newest N CDRs (at most ${MAX_LIMIT}); the table's default is ${DEFAULT_LIMIT};
                    csv and ndjson without --limit export every match, oldest call first
  --format F        table (default), csv (safe to open in a spreadsheet) or ndjson (exactly the
                    cdr.md fields)
  --tz ZONE         times in this zone (America/Sao_Paulo, UTC+3); stored times stay UTC
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
  tz: { type: 'string' },
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

export interface CdrsArgs {
  query: CdrQuery;
  format: CdrFormat;
  extras: boolean;
  /** False when --limit was not given: csv and ndjson then export every match. */
  limitGiven: boolean;
  showTime: ShowTime;
}

export function parseCdrsArgs(argv: readonly string[], nowMs: number): CdrsArgs {
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
  return {
    query,
    format: oneOf('format', values.format, CDR_FORMATS, 'table'),
    extras: values.extras === true,
    limitGiven: values.limit !== undefined,
    showTime: zoneFlag(values.tz),
  };
}

/** The query's filters beyond the time range, for rows that come from a stream (pure). */
export function matchesQuery(row: StoredCdr, query: CdrQuery): boolean {
  if (query.callId !== undefined && row.cdr.call_id !== query.callId) return false;
  if (query.disposition !== undefined && row.cdr.disposition !== query.disposition) return false;
  if (query.numbers !== undefined) {
    const forms = [row.cdr.caller, row.cdr.callee, row.extras.caller_e164, row.extras.callee_e164];
    if (!forms.some((form) => form !== null && query.numbers!.includes(form))) return false;
  }
  return true;
}

async function write(text: string): Promise<void> {
  // Wait for a slow reader of the pipe: memory stays bounded by one page, not by the export.
  if (text !== '' && !process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** Every matching CDR, one page at a time; returns how many were written. */
export async function exportCdrs(reader: CdrReader, args: CdrsArgs): Promise<number> {
  const format = args.format === 'table' ? 'csv' : args.format;
  const options = { extras: args.extras, showTime: args.showTime };
  let written = 0;
  const range = { ...(args.query.sinceUs !== undefined && { sinceUs: args.query.sinceUs }), ...(args.query.untilUs !== undefined && { untilUs: args.query.untilUs }) };
  for await (const page of reader.streamCdrs(range)) {
    const rows = page.filter((row) => matchesQuery(row, args.query));
    if (rows.length === 0) continue;
    await write((written === 0 ? cdrExportHeader(format, options) : '') + cdrExportRows(rows, format, options));
    written += rows.length;
  }
  return written;
}

export const command: CliCommand = {
  name: 'cdrs',
  summary: 'Search the stored CDRs (table: the newest), or export every match (csv, ndjson).',
  usage: USAGE,
  async run(argv) {
    const args = parseCdrsArgs(argv, Date.now());
    const { query, format, extras, showTime } = args;
    const config = loadConfig();
    const reader = await openCdrReader(config);
    try {
      // A call id names one CDR at most: the plain search finds it by key.
      if (format !== 'table' && !args.limitGiven && query.callId === undefined) {
        if ((await exportCdrs(reader, args)) === 0) process.stderr.write('no CDRs match\n');
        return 0;
      }
      // One more than shown: whether the table was cut.
      const cutCheck = format === 'table' ? 1 : 0;
      const rows = await reader.searchCdrs({ ...query, limit: query.limit + cutCheck });
      if (rows.length === 0) {
        process.stderr.write('no CDRs match\n');
        return 0;
      }
      const shown = rows.slice(0, query.limit);
      process.stdout.write(renderCdrs(shown, format, { extras, showTime }));
      if (rows.length > query.limit) {
        process.stderr.write(`showing the newest ${query.limit} CDRs; more match (--limit N shows more, --format csv|ndjson exports them all)\n`);
      } else if (config.search && query.limit > SEARCH_WINDOW && shown.length === SEARCH_WINDOW) {
        process.stderr.write(`the search engine answers at most ${SEARCH_WINDOW} CDRs to one query; without --limit, csv and ndjson export every match\n`);
      }
      return 0;
    } finally {
      await reader.close();
    }
  },
};
