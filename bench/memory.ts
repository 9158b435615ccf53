/**
 * Bytes per open call, in memory and on disk. The heap figure needs global.gc, so it runs in a
 * child node process started with --expose-gc (memory-child.ts); this side starts it and reads
 * its one JSON line.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface MemoryResult {
  readonly openCalls: number;
  readonly events: number;
  /** V8 heap growth (after full GCs) divided by the open calls the correlator holds. */
  readonly heapBytesPerOpenCall: number;
  /** SQLite pages of the open calls' events and open_calls rows, with their indexes (dbstat), per call. */
  readonly storedBytesPerOpenCall: number;
  /** How the stored size was measured: `dbstat` or `file` (size delta, when dbstat is missing). */
  readonly storedMethod: 'dbstat' | 'file';
}

const run = promisify(execFile);

export async function measureMemory(openCalls: number, seed: number): Promise<MemoryResult> {
  const child = join(__dirname, 'memory-child.js');
  const { stdout } = await run(process.execPath, ['--expose-gc', child, String(openCalls), String(seed)], { maxBuffer: 1 << 20 });
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as MemoryResult;
}
