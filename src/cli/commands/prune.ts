/**
 * `qbl prune`: the embedded store's retention now, or what it would delete (`--dry-run`). In
 * search mode: the calls index's retention (QBL_CALLS_RETENTION_DAYS), the only index of ours
 * without a lifecycle policy.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { formatUs } from '../../../correlators/cdr';
import { loadConfig } from '../../config/config';
import { ConfigError } from '../../errors';
import { UsageError, intFlag, parseFlags } from '../../flags';
import type { SearchConfig } from '../../stores/search/options';
import { createSearchEngine } from '../../stores/search/search-store';
import { callsCutoffUs, countPrunableCalls, pruneCalls } from '../../stores/search/calls-retention';
import { DEFAULT_BUSY_TIMEOUT_MS, openReadonly, openWritable } from '../../stores/sqlite/open-database';
import { Retention, StepSizer, cutoffUs, type PrunePlan } from '../../stores/sqlite/retention';
import { usedBytes, vacuumIncremental } from '../../stores/sqlite/maintenance';
import type { CliCommand } from '../command';
import { startProgress } from '../progress';
import { formatBytes } from './backup';

const USAGE = `usage: qbl prune [--dry-run] [--days N] [--vacuum]
  --dry-run   say what would be deleted (counts, oldest and newest call, space), delete nothing
  --days N    keep calls that started in the last N days (default: QBL_SQLITE_RETENTION_DAYS)
  --vacuum    then rewrite the file once with incremental auto-vacuum, giving the freed space back
              to the file system (needed once for files created before qbl had retention; holds
              the write lock while it runs: the service's commits wait and retry)
Works on SQLITE_PATH; the service may be running (short steps, one transaction each).
With ELASTICSEARCH_URL or OPENSEARCH_URL: deletes the documents of closed calls in <prefix>-calls
not written for N days (default QBL_CALLS_RETENTION_DAYS; open calls never), in bounded steps;
the CDR and event indices have their own lifecycle policy (QBL_RETENTION_DAYS).`;

const FLAGS = {
  'dry-run': { type: 'boolean' },
  days: { type: 'string' },
  vacuum: { type: 'boolean' },
} as const;

export interface PruneArgs {
  readonly dryRun: boolean;
  readonly days: number | null;
  readonly vacuum: boolean;
}

export function parsePruneArgs(argv: readonly string[]): PruneArgs {
  const { values } = parseFlags(argv, FLAGS);
  return {
    dryRun: values['dry-run'] === true,
    days: values.days === undefined ? null : intFlag('days', values.days, 0, 1, 36_500),
    vacuum: values.vacuum === true,
  };
}

const count = (n: number) => n.toLocaleString('en-US');

/** The dry run's report (pure, for tests). */
export function describePlan(plan: PrunePlan, days: number, verb = 'would delete'): string {
  const indent = ' '.repeat(verb.length + 2);
  const lines = [`retention: ${days} days; cut-off ${formatUs(plan.cutoffUs)} (calls that started earlier go)`];
  if (plan.cdrs === 0 && plan.orphanEvents === 0) {
    lines.push(`${verb}: nothing`);
  } else {
    const span = plan.oldestStartUs === null || plan.newestStartUs === null ? '' : `, calls started ${formatUs(plan.oldestStartUs)} to ${formatUs(plan.newestStartUs)}`;
    lines.push(`${verb}: ${count(plan.cdrs)} CDRs${span}`);
    lines.push(`${indent}${count(plan.events)} events of those calls, ${count(plan.orphanEvents)} old events of calls that never got a CDR`);
  }
  if (plan.keptOpenCallEvents > 0) lines.push(`kept: ${count(plan.keptOpenCallEvents)} old events of calls still open`);
  lines.push(`space: about ${formatBytes(plan.bytesEstimate)} of ${formatBytes(plan.fileBytes)}; ${spaceNote(plan)}`);
  return `${lines.join('\n')}\n`;
}

function spaceNote(plan: PrunePlan): string {
  return plan.autoVacuum === 'incremental'
    ? 'freed pages go back to the file system as the prune goes'
    : 'freed pages are reused by new rows (the file stops growing); `qbl prune --vacuum` once to shrink it';
}

export const command: CliCommand = {
  name: 'prune',
  summary: 'Delete calls older than the retention from the embedded store (--dry-run: what would go).',
  usage: USAGE,
  async run(argv) {
    const args = parsePruneArgs(argv);
    const config = loadConfig();
    if (config.search) return pruneSearch(args, config.search);
    const days = args.days ?? config.sqliteRetentionDays;
    const path = config.sqlitePath;
    if (days === 0 && !args.vacuum) {
      process.stderr.write('retention is off (QBL_SQLITE_RETENTION_DAYS=0): nothing to prune; --days N prunes once\n');
      return 0;
    }
    if (!existsSync(path)) throw new ConfigError('SQLITE_PATH', 'the SQLite database written by `qbl start`', path, 'no such file');
    const cutoff = cutoffUs(Date.now(), days);
    if (args.dryRun) {
      const db = openReadonly(path, DEFAULT_BUSY_TIMEOUT_MS);
      try {
        process.stdout.write(days === 0 ? 'retention is off: nothing would be deleted\n' : describePlan(new Retention(db).plan(cutoff), days));
      } finally {
        db.close();
      }
      return 0;
    }
    openReadonly(path, DEFAULT_BUSY_TIMEOUT_MS).close(); // a qbl database of the current schema, or a one-line error
    const db = openWritable(path, DEFAULT_BUSY_TIMEOUT_MS);
    try {
      if (days > 0) await prune(new Retention(db), cutoff, days);
      if (args.vacuum) {
        const progress = startProgress('vacuum (bytes)', usedBytes(db));
        let shown = 0;
        await vacuumIncremental(path, (bytes) => { progress.increment(Math.max(0, bytes - shown)); shown = Math.max(shown, bytes); });
        progress.stop();
      }
    } finally {
      // Leave the file as the service does at close: no -wal/-shm when nobody else has it open.
      try { db.pragma('journal_mode = DELETE'); } catch { /* the service has it open: WAL stays */ }
      db.close();
    }
    return 0;
  },
};

/** Between two steps: a running service's commit gets the write lock (SQLite's locks are not fair). */
const PAUSE_BETWEEN_STEPS_MS = 20;
/** A step holds the write lock about this long: faster than the service's own pace, still short for its commits. */
const STEP_BUDGET_MS = 100;

async function prune(retention: Retention, cutoff: number, days: number): Promise<void> {
  const plan = retention.plan(cutoff);
  process.stderr.write(describePlan(plan, days, 'deleting'));
  const progress = startProgress('prune (rows)', plan.cdrs + plan.events + plan.orphanEvents);
  let deleted = { cdrs: 0, events: 0 };
  const sizer = new StepSizer(STEP_BUDGET_MS);
  for (;;) {
    const started = performance.now();
    const step = retention.deleteStep(cutoff, sizer.calls);
    sizer.took(step.cdrs, performance.now() - started);
    deleted = { cdrs: deleted.cdrs + step.cdrs, events: deleted.events + step.events };
    progress.increment(step.cdrs + step.events);
    if (step.done) break;
    await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_STEPS_MS));
  }
  progress.stop();
  let released = 0;
  for (let free = retention.freePages(), left = retention.releaseStep(); left < free; free = left, left = retention.releaseStep()) {
    released += free - left;
  }
  process.stdout.write(`deleted ${count(deleted.cdrs)} CDRs and ${count(deleted.events)} events; ${released > 0 ? `${count(released)} free pages given back to the file system` : spaceNote(plan)}\n`);
}

/** Search mode: the calls index's closed calls older than the retention. */
async function pruneSearch(args: PruneArgs, search: SearchConfig): Promise<number> {
  if (args.vacuum) throw new UsageError('--vacuum rewrites the SQLite file; the search store has none');
  const days = args.days ?? search.callsRetentionDays ?? 0;
  if (days === 0) {
    process.stderr.write('calls index retention is off (QBL_CALLS_RETENTION_DAYS=0): nothing to prune; --days N prunes once\n');
    return 0;
  }
  const cutoff = callsCutoffUs(Date.now(), days);
  const engine = await createSearchEngine(search);
  try {
    const header = `calls index ${search.indexPrefix}-calls: retention ${days} days; cut-off ${formatUs(cutoff)} (documents of closed calls last written earlier go; open calls never)\n`;
    const prunable = await countPrunableCalls(engine, search.indexPrefix, cutoff);
    if (args.dryRun) {
      process.stdout.write(`${header}would delete: ${count(prunable)} call documents\n`);
      return 0;
    }
    process.stderr.write(`${header}deleting: about ${count(prunable)} call documents\n`);
    const progress = startProgress('prune (call documents)', prunable);
    const pruned = await pruneCalls(engine, search.indexPrefix, cutoff, (deleted) => progress.increment(deleted));
    progress.stop();
    const kept = pruned.conflicts > 0 ? `; ${count(pruned.conflicts)} written meanwhile were kept` : '';
    process.stdout.write(`deleted ${count(pruned.deleted)} call documents${kept}\n`);
    return 0;
  } finally {
    await engine.close();
  }
}
