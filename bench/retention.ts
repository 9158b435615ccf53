/**
 * `npm run bench:retention`: what the embedded store's retention costs intake. A SQLite file holds
 * `--old-calls` calls past the retention (with their events, as the service wrote them); the
 * store-alone commits of a fresh stream (bench/store-alone.ts) then run twice on copies of it:
 * alone, and with the service's retention steps (retention.ts) interleaved at the service's pace
 * (a step whenever 250 ms have passed, as the schedule's timer would, between commits). Prints
 * commit rates, commit latency p50/p99/max with and without, and the step times, as a table and as
 * one JSON line. Method and figures: docs/performance.md, "Retention while intake runs".
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cdrIdFor } from '../correlators/cdr';
import type { CommitBatch } from '../src/stores/store';
import { SqliteStore } from '../src/stores/sqlite/sqlite-store';
import { openWritable } from '../src/stores/sqlite/open-database';
import { Retention, RetentionSchedule } from '../src/stores/sqlite/retention';
import { intFlag, parseFlags } from '../src/flags';
import { benchTraffic } from './traffic';
import { commitBatches } from './store-alone';

const DAY_US = 86_400_000_000;
const STEP_EVERY_MS = 250;
const RETENTION_DAYS = 400;

/** The same batch as calls of long ago, under other call ids (`tag` before each). */
function aged(batch: CommitBatch, shiftUs: number, tag: string): CommitBatch {
  const id = (callId: string) => `${tag}${callId}`;
  return {
    events: batch.events.map((s) => ({ ...s, event: { ...s.event, id: `${tag}${s.event.id}`, callId: id(s.event.callId), timeUs: s.event.timeUs - shiftUs } })),
    cdrs: batch.cdrs.map((r) => ({ ...r, cdr: { ...r.cdr, call_id: id(r.cdr.call_id), cdr_id: cdrIdFor(id(r.cdr.call_id)) }, startUs: r.startUs - shiftUs })),
    openCalls: [],
    closedCallIds: [],
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

interface RunFigures {
  perS: number;
  commitP50Ms: number;
  commitP99Ms: number;
  commitMaxMs: number;
}

async function timedCommits(path: string, batches: readonly CommitBatch[], step?: () => void): Promise<RunFigures> {
  const store = SqliteStore.open(path);
  try {
    const latencies: number[] = [];
    let events = 0;
    let lastStep = performance.now() - STEP_EVERY_MS; // a step before the first commit: a short run has one too
    const started = performance.now();
    for (const batch of batches) {
      if (step !== undefined && performance.now() - lastStep >= STEP_EVERY_MS) {
        step();
        lastStep = performance.now();
      }
      const t = performance.now();
      await store.commit(batch);
      latencies.push(performance.now() - t);
      events += batch.events.length;
    }
    const elapsedMs = performance.now() - started;
    latencies.sort((a, b) => a - b);
    return { perS: (events * 1000) / elapsedMs, commitP50Ms: percentile(latencies, 0.5), commitP99Ms: percentile(latencies, 0.99), commitMaxMs: latencies[latencies.length - 1] ?? 0 };
  } finally {
    await store.close();
  }
}

export async function measureRetention(options: { events: number; oldCalls: number; batchSize: number; seed: number }) {
  const nowUs = Date.now() * 1000;
  const fresh = commitBatches(benchTraffic(options.events, options.seed, nowUs).messages, options.batchSize);
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-retention-'));
  try {
    // The old calls: the bench's stream repeated under new ids, 500 days back.
    const base = join(dir, 'base.db');
    const prefill = SqliteStore.open(base);
    let old = 0;
    for (let round = 0; old < options.oldCalls; round += 1) {
      const oldBatches = commitBatches(benchTraffic(Math.max(options.events, 20_000), options.seed + 1 + round, nowUs).messages, 2000);
      for (const batch of oldBatches) {
        const shifted = aged(batch, (500 + round) * DAY_US, `old${round}-`);
        await prefill.commit(shifted);
        old += shifted.cdrs.length;
        if (old >= options.oldCalls) break;
      }
    }
    await prefill.close();

    copyFileSync(base, join(dir, 'alone.db'));
    copyFileSync(base, join(dir, 'pruning.db'));
    const alone = await timedCommits(join(dir, 'alone.db'), fresh);

    // The retention on its own connection, as the service's store has it (the same thread, between commits).
    const db = openWritable(join(dir, 'pruning.db'), 5000);
    const retention = new Retention(db);
    const schedule = new RetentionSchedule(retention, { days: RETENTION_DAYS });
    const steps: number[] = [];
    let deleted = { cdrs: 0, events: 0 };
    const step = () => {
      const t = performance.now();
      const result = schedule.tick();
      steps.push(performance.now() - t);
      deleted = { cdrs: deleted.cdrs + result.cdrs, events: deleted.events + result.events };
    };
    const pruning = await timedCommits(join(dir, 'pruning.db'), fresh, step);
    db.close();
    steps.sort((a, b) => a - b);
    return {
      bench: 'retention', old_calls: old, fresh_events: fresh.reduce((n, b) => n + b.events.length, 0), commits: fresh.length,
      alone, pruning, steps: steps.length, step_p50_ms: percentile(steps, 0.5), step_max_ms: steps[steps.length - 1] ?? 0,
      deleted_cdrs: deleted.cdrs, deleted_events: deleted.events,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), { events: { type: 'string' }, 'old-calls': { type: 'string' }, 'batch-size': { type: 'string' }, seed: { type: 'string' } });
  const report = await measureRetention({
    events: intFlag('events', values.events, 200_000, 1000, 10_000_000),
    oldCalls: intFlag('old-calls', values['old-calls'], 200_000, 100, 10_000_000),
    batchSize: intFlag('batch-size', values['batch-size'], 500, 1, 100_000),
    seed: intFlag('seed', values.seed, 1, 0, 1_000_000),
  });
  const ms = (n: number) => n.toFixed(2);
  const row = (name: string, r: RunFigures) => `${name.padEnd(22)} ${String(Math.round(r.perS)).padStart(8)}/s  commit p50 ${ms(r.commitP50Ms)} ms  p99 ${ms(r.commitP99Ms)} ms  max ${ms(r.commitMaxMs)} ms`;
  process.stdout.write([
    `old calls ${report.old_calls}, fresh events ${report.fresh_events} in ${report.commits} commits`,
    row('store alone', report.alone),
    row('with retention steps', report.pruning),
    `retention: ${report.steps} steps, p50 ${ms(report.step_p50_ms)} ms, max ${ms(report.step_max_ms)} ms; deleted ${report.deleted_cdrs} CDRs, ${report.deleted_events} events`,
    JSON.stringify(report),
    '',
  ].join('\n'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
