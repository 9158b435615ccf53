/**
 * The service's parts alone, for before/after comparisons of a change: CPU time (this process,
 * every thread), not wall time, which other processes' load moves less, though still by ±20 % on
 * a busy 2-core machine: alternate the old and new builds and compare medians, or count
 * instructions under callgrind (the `build` run is the baseline to subtract). No broker needed.
 *
 *   npm run bench:parts -- store|decode|build …, or node dist/bench/parts.js:
 *   node dist/bench/parts.js store  [--events N] [--batch-size B] [--runs R] [--seed S]
 *   node dist/bench/parts.js decode [--events N] [--runs R] [--seed S]
 *   node dist/bench/parts.js build  [--events N] [--batch-size B]   (the store run without its commits: callgrind's baseline)
 *
 * Prints one line per run: the part's CPU µs per event; then the median.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/stores/sqlite/sqlite-store';
import { benchTraffic } from './traffic';
import { commitBatches } from './store-alone';
import { decodeBenchMessage } from './correlator';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const part = process.argv[2];
  const events = flag('events', 60_000);
  const runs = flag('runs', 3);
  const batchSize = flag('batch-size', 2_700);
  const { messages } = benchTraffic(events, flag('seed', 1), Date.now() * 1000);
  const figures: number[] = [];
  if (part === 'store' || part === 'build') {
    const batches = commitBatches(messages, batchSize);
    if (part === 'build') return;
    for (let run = 0; run < runs; run += 1) {
      const dir = mkdtempSync(join(tmpdir(), 'qbl-parts-'));
      const store = SqliteStore.open(join(dir, 'qbl.db'));
      try {
        const before = cpuUs();
        for (const batch of batches) await store.commit(batch);
        figures.push((cpuUs() - before) / messages.length);
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
      console.log(`store run ${run + 1}: ${figures[run]!.toFixed(2)} µs CPU per event (${messages.length} events, ${batches.length} commits)`);
    }
  } else if (part === 'decode') {
    for (const message of messages) decodeBenchMessage(message);
    for (let run = 0; run < runs; run += 1) {
      const before = cpuUs();
      for (const message of messages) decodeBenchMessage(message);
      figures.push((cpuUs() - before) / messages.length);
      console.log(`decode run ${run + 1}: ${figures[run]!.toFixed(3)} µs CPU per event`);
    }
  } else {
    throw new Error('usage: parts.js store|decode|build [--events N] [--batch-size B] [--runs R] [--seed S]');
  }
  console.log(`${part} median: ${median(figures).toFixed(3)} µs CPU per event`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
