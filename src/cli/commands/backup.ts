/** `qbl backup FILE`: a consistent copy of the live embedded store (docs/operations.md, "Backup and restore"). */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../../config/config';
import { UsageError, parseFlags } from '../../flags';
import { DEFAULT_BUSY_TIMEOUT_MS, openReadonly } from '../../stores/sqlite/open-database';
import { backupDatabase, usedBytes } from '../../stores/sqlite/maintenance';
import type { CliCommand } from '../command';
import { startProgress } from '../progress';

const USAGE = `usage: qbl backup FILE [--force]
  FILE      where the copy goes (a new file; its directory must exist)
  --force   replace FILE if it exists (the old one stays until the new copy is complete and checked)
Copies SQLITE_PATH while the service runs: one read transaction (VACUUM INTO), so the copy is
consistent as of its start; written under a temporary name, checked, then renamed to FILE.`;

const FLAGS = { force: { type: 'boolean' } } as const;

export function parseBackupArgs(argv: readonly string[]): { file: string; force: boolean } {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (positionals.length !== 1 || positionals[0]!.trim() === '') throw new UsageError('expected one FILE to write the copy to');
  return { file: positionals[0]!, force: values.force === true };
}

/** `1.5 MB`, `812 kB`, `12 B`: decimal units, as disks are sold. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export const command: CliCommand = {
  name: 'backup',
  summary: 'Copy the live embedded store to a file (consistent, checked; --force replaces).',
  usage: USAGE,
  async run(argv) {
    const { file, force } = parseBackupArgs(argv);
    const source = loadConfig().sqlitePath;
    const target = resolve(file);
    if (target === resolve(source)) throw new UsageError('FILE is SQLITE_PATH itself');
    if (existsSync(target) && !force) throw new UsageError(`${file} exists; --force replaces it`);
    if (!existsSync(dirname(target))) throw new UsageError(`${dirname(file)}: no such directory`);
    const db = openReadonly(source, DEFAULT_BUSY_TIMEOUT_MS); // a qbl database, or a one-line error
    const total = usedBytes(db);
    db.close();
    const progress = startProgress('backup (bytes)', total);
    let shown = 0;
    const result = await backupDatabase(source, target, {
      replace: force,
      progress: (bytes) => {
        const next = Math.min(bytes, total);
        if (next > shown) progress.increment(next - shown);
        shown = Math.max(shown, next);
      },
    }).finally(() => progress.stop());
    process.stdout.write(`${file}: ${formatBytes(result.bytes)}, ${result.cdrs.toLocaleString('en-US')} CDRs, `
      + `${result.events.toLocaleString('en-US')} events (checked)\n`);
    return 0;
  },
};
