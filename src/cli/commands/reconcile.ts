/** `qbl reconcile FILE`: a carrier's CDR file against our CDRs, and what to dispute. */
import { basename } from 'node:path';
import { loadConfig } from '../../config/config';
import { parseColumnsFlag, type OurField } from '../../disputes/columns';
import { parseIncrement } from '../../disputes/increment';
import { reconcile, ReconcileInputError, type ReconcileOptions, type ReconcileProgress } from '../../disputes/reconcile';
import { CLASSES } from '../../disputes/classify';
import type { Summary } from '../../disputes/summary';
import { isNamedTimeFormat, isUsableLuxonFormat, NAMED_TIME_FORMATS } from '../../disputes/time-format';
import { parseTimeZone } from '../../disputes/time-zone';
import { openCdrReader } from '../../stores/open';
import type { CliCommand } from '../command';
import { UsageError, intFlag, numberFlag, parseFlags } from '../../flags';
import { startProgress, type Progress } from '../progress';
import { parseTimeFlag, TIME_FORMS } from '../time-flags';
import { oneOf } from './cdrs';

/** Exit codes (docs/disputes.md). */
export const EXIT_OK = 0;
export const EXIT_BAD_ROWS = 3;
export const EXIT_USAGE = 2;
export const EXIT_NO_INPUT = 66;

const USAGE = `usage: qbl reconcile FILE [--out DIR] [--columns ours=theirs,...] [--time-format F] [--tz ZONE|auto]
                      [--start-is answer|invite] [--increment A/B] [--tolerance-s S] [--match-window-s S]
                      [--since T] [--until T] [--top N]
  FILE                the carrier's CDR file (CSV: , ; tab or | separated, any size)
  --out DIR           where records.ndjson, summary.json, disputes.csv, report.html go (default ./<FILE>.reconcile)
  --columns M         their header for each of ours: start, caller, callee, duration (raw seconds), and
                      optionally billed, rate (per minute), cost; e.g. 'start=Call Start,caller=A Number'.
                      A start in two columns: 'start=Date+Time'. Common names are recognised without it
  --time-format F     ${NAMED_TIME_FORMATS.join(', ')}, or a luxon format such as 'dd.MM.yyyy HH:mm:ss'
                      (default: found from the data)
  --tz Z              their time zone: an IANA zone (America/Sao_Paulo), a fixed offset (+05:30, UTC-3),
                      or auto (default): found from the data, and said
  --start-is W        their start is the answer (default) or the invite
  --increment A/B     their billing increment: first A seconds, then B (default: found from their billed
                      and duration columns, else 1/1)
  --tolerance-s S     raw durations this close are within tolerance (default 1)
  --match-window-s S  starts at most this far apart can be the same call (default 60)
  --since T, --until T  our side's range (default: the file's own range plus the window); T: ${TIME_FORMS}
  --top N             disputed calls shown with their evidence in report.html (default 20)
Reads SQLITE_PATH (or the search engine when one is configured); dial plan from QBL_DEFAULT_COUNTRY etc.
Exit codes: 0 done; 3 done, but some rows could not be read (see bad-rows.csv); 2 bad flags, or a file
whose columns, times or zone need a flag; 66 FILE not found; 78 bad configuration.`;

const FLAGS = {
  out: { type: 'string' },
  columns: { type: 'string' },
  'time-format': { type: 'string' },
  tz: { type: 'string' },
  'start-is': { type: 'string' },
  increment: { type: 'string' },
  'tolerance-s': { type: 'string' },
  'match-window-s': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  top: { type: 'string' },
} as const;

export function parseReconcileArgs(argv: readonly string[], nowMs: number): ReconcileOptions {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'FILE: required' : `expected one FILE, got ${positionals.length}`);
  const file = positionals[0]!;
  let columns = new Map<OurField, string>();
  if (values.columns !== undefined) {
    const parsed = parseColumnsFlag(values.columns);
    if (!parsed.ok) throw new UsageError(`--columns: ${parsed.reason}`);
    columns = parsed.pairs;
  }
  const timeFormat = values['time-format'] ?? null;
  if (timeFormat !== null && !isNamedTimeFormat(timeFormat) && !isUsableLuxonFormat(timeFormat)) {
    throw new UsageError(`--time-format: expected one of ${NAMED_TIME_FORMATS.join(', ')} or a luxon format, got ${JSON.stringify(timeFormat)}`);
  }
  const tz = parseTimeZone(values.tz ?? 'auto');
  if (tz === null) throw new UsageError(`--tz: expected an IANA zone (America/Sao_Paulo), a fixed offset (+05:30) or auto, got ${JSON.stringify(values.tz)}`);
  let increment = null;
  if (values.increment !== undefined) {
    increment = parseIncrement(values.increment);
    if (increment === null) throw new UsageError(`--increment: expected A/B in seconds such as 1/1, 6/6, 60/6 or 0.001/0.001, got ${JSON.stringify(values.increment)}`);
  }
  const sinceUs = values.since === undefined ? undefined : parseTimeFlag('since', values.since, nowMs);
  const untilUs = values.until === undefined ? undefined : parseTimeFlag('until', values.until, nowMs);
  if (sinceUs !== undefined && untilUs !== undefined && sinceUs >= untilUs) throw new UsageError('--since: must be earlier than --until');
  return Object.freeze({
    file,
    outDir: values.out ?? `${basename(file)}.reconcile`,
    columns,
    timeFormat,
    tz,
    startIs: oneOf('start-is', values['start-is'], ['answer', 'invite'] as const, 'answer'),
    increment,
    toleranceUs: Math.round(numberFlag('tolerance-s', values['tolerance-s'], 1, 0, 86_400) * 1_000_000),
    windowUs: Math.round(numberFlag('match-window-s', values['match-window-s'], 60, 0, 86_400) * 1_000_000),
    ...(sinceUs === undefined ? {} : { sinceUs }),
    ...(untilUs === undefined ? {} : { untilUs }),
    top: intFlag('top', values.top, 20, 0, 1000),
  });
}

/** The progress bar (on a terminal) or a line every few seconds, per phase. */
function cliProgress(): ReconcileProgress {
  let bar: Progress | null = null;
  return {
    phase(label, total) {
      bar?.stop();
      bar = startProgress(label, total);
    },
    advance(by) {
      bar?.increment(by);
    },
    done() {
      bar?.stop();
      bar = null;
    },
  };
}

const number = (value: number, digits = 1) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The few lines the console shows. */
export function consoleSummary(summary: Summary, notes: readonly string[], files: readonly string[], disputedRows: number): string {
  const m = summary.billed_minutes;
  const sign = (value: number) => (value > 0 ? '+' : '');
  const lines = [
    `${summary.rows.carrier.toLocaleString('en-US')} carrier rows${summary.rows.bad > 0 ? ` (+ ${summary.rows.bad.toLocaleString('en-US')} bad rows, see bad-rows.csv)` : ''}; ${notes.join('; ')}`,
    `billed minutes: theirs ${number(m.carrier)}, ours ${number(m.ours)}, difference ${sign(m.difference)}${number(m.difference)}`
      + `${m.difference_pct === null ? '' : ` (${sign(m.difference_pct)}${number(m.difference_pct, 2)} % of their invoice)`}`
      + `${summary.dispute.recommended ? ` — above ${summary.dispute.threshold_pct} %: dispute` : ''}`,
    CLASSES.map((c) => `${c} ${summary.counts[c].toLocaleString('en-US')}`).join(' · '),
  ];
  if (summary.money !== null) {
    lines.push(`money: theirs ${number(summary.money.carrier, 2)}, ours ${number(summary.money.ours, 2)}, difference ${sign(summary.money.difference)}${number(summary.money.difference, 2)}`);
  }
  lines.push(`${disputedRows.toLocaleString('en-US')} rows to dispute; wrote ${files.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export const command: CliCommand = {
  name: 'reconcile',
  summary: 'Reconcile a carrier\'s CDR file against our CDRs and prepare the dispute.',
  usage: USAGE,
  async run(argv) {
    const options = parseReconcileArgs(argv, Date.now());
    const config = loadConfig();
    const reader = await openCdrReader(config);
    try {
      const result = await reconcile(options, reader, config.dialPlan, cliProgress(), config.search?.engine ?? 'sqlite');
      process.stdout.write(consoleSummary(result.summary, result.notes, result.files, result.disputedRows));
      return result.summary.rows.bad > 0 ? EXIT_BAD_ROWS : EXIT_OK;
    } catch (error) {
      if (error instanceof ReconcileInputError) {
        process.stderr.write(`qbl reconcile: ${error.message}\n`);
        return error.code === 'no_input' ? EXIT_NO_INPUT : EXIT_USAGE;
      }
      throw error;
    } finally {
      await reader.close();
    }
  },
};
