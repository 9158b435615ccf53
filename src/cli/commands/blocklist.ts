/** `qbl blocklist add|remove|list|import`: the numbers and prefixes the lookup blocks (docs/lookup.md). */
import { readFileSync } from 'node:fs';
import { formatUs } from '../../../correlators/cdr';
import { loadConfig, type Config } from '../../config/config';
import { BlockEntryError, checkReason, entryOf, isActive, type BlockEntry } from '../../lookup/blocklist';
import { parseImport } from '../../lookup/blocklist-file';
import { openLookupStore } from '../../stores/open';
import type { BlocklistStore } from '../../stores/lookup-store';
import { UsageError, parseFlags } from '../../flags';
import type { CliCommand } from '../command';
import { startProgress } from '../progress';
import { durationMs, parseTimeFlag, TIME_FORMS } from '../time-flags';
import { oneOf } from './cdrs';

/** Durations count forward here: `--expires 30d` is thirty days from now. */
const EXPIRY_FORMS = `a duration from now (30d, 12h, 1w) or ${TIME_FORMS.replace(/ or a duration before now.*$/, '')}`;

const USAGE = `usage: qbl blocklist <add|remove|list|import> …
  qbl blocklist add NUMBER|PREFIX --reason TEXT [--expires WHEN]
      NUMBER in any form the dial plan reads (+5511987654321, 0055 11 98765-4321);
      PREFIX ends with * (+88213*: every number starting +88213)
  qbl blocklist remove NUMBER|PREFIX
  qbl blocklist list [--all] [--format table|csv|ndjson]
      --all also shows expired and removed entries
  qbl blocklist import FILE [--reason TEXT] [--expires WHEN]
      CSV lines entry,reason,expires (header, blank lines and # comments skipped);
      --reason / --expires fill the lines that leave them empty; one bad line writes nothing
WHEN: ${EXPIRY_FORMS}
Written to the configured store (SQLITE_PATH, or Elasticsearch/OpenSearch); every running
\`qbl start\` with the lookup on applies a change within QBL_LOOKUP_POLL_S.`;

const IMPORT_CHUNK = 5000;
type Format = 'table' | 'csv' | 'ndjson';

export type BlocklistArgs =
  | { readonly action: 'add'; readonly entry: string; readonly reason: string; readonly expires?: string }
  | { readonly action: 'remove'; readonly entry: string }
  | { readonly action: 'list'; readonly all: boolean; readonly format: Format }
  | { readonly action: 'import'; readonly file: string; readonly reason?: string; readonly expires?: string };

function one(action: string, positionals: readonly string[], what: string): string {
  if (positionals.length !== 1 || positionals[0]!.trim() === '') throw new UsageError(`${action}: expected one ${what}`);
  return positionals[0]!;
}

export function parseBlocklistArgs(argv: readonly string[]): BlocklistArgs {
  const [action, ...rest] = argv;
  switch (action) {
    case 'add': {
      const { values, positionals } = parseFlags(rest, { reason: { type: 'string' }, expires: { type: 'string' } }, true);
      if (values.reason === undefined) throw new UsageError('add: --reason is required (what an operator reading the list later needs to know)');
      return { action, entry: one(action, positionals, 'NUMBER or PREFIX'), reason: values.reason, expires: values.expires };
    }
    case 'remove': {
      const { positionals } = parseFlags(rest, {}, true);
      return { action, entry: one(action, positionals, 'NUMBER or PREFIX') };
    }
    case 'list': {
      const { values } = parseFlags(rest, { all: { type: 'boolean' }, format: { type: 'string' } }, true);
      return { action, all: values.all === true, format: oneOf<Format>('format', values.format, ['table', 'csv', 'ndjson'], 'table') };
    }
    case 'import': {
      const { values, positionals } = parseFlags(rest, { reason: { type: 'string' }, expires: { type: 'string' } }, true);
      return { action, file: one(action, positionals, 'FILE'), reason: values.reason, expires: values.expires };
    }
    default:
      throw new UsageError(`expected add, remove, list or import, got ${JSON.stringify(action ?? '')}`);
  }
}

/** `--expires` / the CSV's expires: a duration from now, or a time; it must lie in the future. */
export function expiryUs(text: string, nowMs: number): number {
  const trimmed = text.trim();
  const ms = durationMs(trimmed);
  let us: number;
  try {
    us = ms !== null ? (nowMs + ms) * 1000 : parseTimeFlag('expires', trimmed, nowMs);
  } catch {
    throw new UsageError(`--expires: expected ${EXPIRY_FORMS}, got ${JSON.stringify(text)}`);
  }
  if (us <= nowMs * 1000) throw new UsageError(`--expires: ${JSON.stringify(text)} is not in the future`);
  return us;
}

function usage<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof BlockEntryError) throw new UsageError(`${JSON.stringify(error.input)}: ${error.message}`);
    throw error;
  }
}

function status(entry: BlockEntry, nowUs: number): string {
  if (entry.removed) return 'removed';
  return isActive(entry, nowUs) ? 'active' : 'expired';
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function renderBlocklist(entries: readonly BlockEntry[], format: Format, nowUs: number): string {
  const rows = entries.map((e) => ({
    entry: e.entry, reason: e.reason, added_at: formatUs(e.createdAtUs), expires_at: e.expiresAtUs === null ? null : formatUs(e.expiresAtUs),
    status: status(e, nowUs),
  }));
  if (format === 'ndjson') return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  const header = ['entry', 'reason', 'added_at', 'expires_at', 'status'] as const;
  if (format === 'csv') {
    return `${[header.join(','), ...rows.map((row) => header.map((h) => csvCell(row[h] ?? '')).join(','))].join('\r\n')}\r\n`;
  }
  const cells = [header.map(String), ...rows.map((row) => header.map((h) => (row[h] ?? '-').replace(/[\u0000-\u001f\u007f]/g, '?')))];
  const widths = header.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => `${line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}

async function run(args: BlocklistArgs, config: Config, store: BlocklistStore, nowMs: number): Promise<number> {
  const nowUs = nowMs * 1000;
  const pollS = config.lookup.pollIntervalMs / 1000;
  switch (args.action) {
    case 'add': {
      const entry = usage(() => entryOf(args.entry, config.dialPlan));
      const reason = usage(() => checkReason(args.reason));
      const expiresAtUs = args.expires === undefined ? null : expiryUs(args.expires, nowMs);
      const held = await store.blockEntry(entry);
      const createdAtUs = held !== null && isActive(held, nowUs) ? held.createdAtUs : nowUs;
      await store.putBlockEntries([{ entry, reason, createdAtUs, expiresAtUs, updatedAtUs: nowUs, removed: false }]);
      process.stdout.write(`blocked ${entry} (${reason})${expiresAtUs === null ? '' : ` until ${formatUs(expiresAtUs)}`}; `
        + `running lookups apply it within ${pollS} s\n`);
      return 0;
    }
    case 'remove': {
      const entry = usage(() => entryOf(args.entry, config.dialPlan));
      const held = await store.blockEntry(entry);
      if (held === null || held.removed) {
        process.stderr.write(`${entry} is not on the block list\n`);
        return 1;
      }
      await store.putBlockEntries([{ ...held, updatedAtUs: Math.max(nowUs, held.updatedAtUs + 1), removed: true }]);
      process.stdout.write(`removed ${entry}; running lookups apply it within ${pollS} s\n`);
      return 0;
    }
    case 'list': {
      const entries = (await store.blockEntriesSince(0))
        .filter((e) => args.all || isActive(e, nowUs))
        .sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
      if (entries.length === 0) process.stderr.write('the block list is empty\n');
      else process.stdout.write(renderBlocklist(entries, args.format, nowUs));
      return 0;
    }
    case 'import': {
      let text: string;
      try {
        text = readFileSync(args.file, 'utf8');
      } catch (error) {
        throw new UsageError(`import: cannot read ${args.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      const defaults = {
        reason: args.reason,
        expiresAtUs: args.expires === undefined ? null : expiryUs(args.expires, nowMs),
      };
      const { rows, problems } = parseImport(text, config.dialPlan, (value) => expiryUs(value, nowMs), defaults);
      if (problems.length > 0) {
        for (const problem of problems.slice(0, 20)) process.stderr.write(`${args.file}:${problem.line}: ${problem.message}\n`);
        if (problems.length > 20) process.stderr.write(`… and ${problems.length - 20} more\n`);
        process.stderr.write(`nothing imported: ${problems.length} bad line${problems.length === 1 ? '' : 's'} of ${rows.length + problems.length}\n`);
        return 1;
      }
      const progress = startProgress('importing', rows.length);
      try {
        for (let i = 0; i < rows.length; i += IMPORT_CHUNK) {
          const chunk = rows.slice(i, i + IMPORT_CHUNK);
          await store.putBlockEntries(chunk.map((row) => ({
            entry: row.entry, reason: row.reason, createdAtUs: nowUs, expiresAtUs: row.expiresAtUs, updatedAtUs: nowUs, removed: false,
          })));
          progress.increment(chunk.length);
        }
      } finally {
        progress.stop();
      }
      process.stdout.write(`imported ${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}; running lookups apply them within ${pollS} s\n`);
      return 0;
    }
  }
}

export const command: CliCommand = {
  name: 'blocklist',
  summary: 'Add, remove, list and import the numbers and prefixes the number lookup blocks.',
  usage: USAGE,
  async run(argv) {
    const args = parseBlocklistArgs(argv);
    const config = loadConfig();
    const store = await openLookupStore(config);
    try {
      return await run(args, config, store, Date.now());
    } finally {
      await store.close();
    }
  },
};
