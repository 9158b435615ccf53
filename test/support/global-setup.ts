/**
 * Tests that run the real `qbl` binary as a child process (kill -9, secrets) need dist/:
 * build it once per jest run when any source is newer than the last build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const STAMP = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export default function globalSetup(): void {
  const sources = ['src', 'consumers', 'correlators', 'bench'].map((d) => join(ROOT, d)).filter(existsSync);
  const newest = Math.max(...sources.map(newestSourceMs));
  if (existsSync(STAMP) && statSync(STAMP).mtimeMs >= newest) return;
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}
