/** `qbl prune` and `qbl backup`: their flags and the dry run's report (pure). */
import { describePlan, parsePruneArgs } from '../../src/cli/commands/prune';
import { formatBytes, parseBackupArgs } from '../../src/cli/commands/backup';
import { UsageError } from '../../src/flags';
import type { PrunePlan } from '../../src/stores/sqlite/retention';
import { StepSizer, cutoffUs } from '../../src/stores/sqlite/retention';
import { loadConfig } from '../../src/config/config';

const plan: PrunePlan = {
  cutoffUs: 1_761_197_055_000_000, cdrs: 1_204_311, events: 7_120_554, orphanEvents: 12,
  oldestStartUs: 1_748_736_003_120_000, newestStartUs: 1_761_197_054_900_000, keptOpenCallEvents: 3,
  bytesEstimate: 6_400_000_000, fileBytes: 41_200_000_000, autoVacuum: 'incremental',
};

describe('qbl prune', () => {
  it('flags: --dry-run, --days N (1 to 36500), --vacuum', () => {
    expect(parsePruneArgs([])).toEqual({ dryRun: false, days: null, vacuum: false });
    expect(parsePruneArgs(['--dry-run', '--days', '30', '--vacuum'])).toEqual({ dryRun: true, days: 30, vacuum: true });
    expect(() => parsePruneArgs(['--days', '0'])).toThrow(UsageError);
    expect(() => parsePruneArgs(['--days', 'x'])).toThrow(/--days: expected an integer from 1 to 36500/);
    expect(() => parsePruneArgs(['--force'])).toThrow(UsageError);
  });

  it('the dry run says what would go, when, how much space, and what kind of file it is', () => {
    expect(describePlan(plan, 400)).toBe([
      'retention: 400 days; cut-off 2025-10-23T05:24:15.000000Z (calls that started earlier go)',
      'would delete: 1,204,311 CDRs, calls started 2025-06-01T00:00:03.120000Z to 2025-10-23T05:24:14.900000Z',
      '              7,120,554 events of those calls, 12 old events of calls that never got a CDR',
      'kept: 3 old events of calls still open',
      'space: about 6.4 GB of 41.2 GB; freed pages go back to the file system as the prune goes',
      '',
    ].join('\n'));
    const none = describePlan({ ...plan, cdrs: 0, events: 0, orphanEvents: 0, oldestStartUs: null, newestStartUs: null, keptOpenCallEvents: 0, autoVacuum: 'none' }, 400);
    expect(none).toContain('would delete: nothing\n');
    expect(none).toContain('`qbl prune --vacuum` once to shrink it');
  });

  it('the cut-off is now minus the days, in µs', () => {
    expect(cutoffUs(1_795_757_055_000, 400)).toBe(1_795_757_055_000_000 - 400 * 86_400_000_000);
  });

  it('QBL_SQLITE_RETENTION_DAYS: 400 by default, 0 keeps everything, anything else is one line', () => {
    expect(loadConfig({}).sqliteRetentionDays).toBe(400);
    expect(loadConfig({ QBL_SQLITE_RETENTION_DAYS: '0' }).sqliteRetentionDays).toBe(0);
    expect(() => loadConfig({ QBL_SQLITE_RETENTION_DAYS: '-1' })).toThrow(/QBL_SQLITE_RETENTION_DAYS/);
  });
});

describe('qbl backup', () => {
  it('flags: one FILE, --force', () => {
    expect(parseBackupArgs(['/tmp/x.db'])).toEqual({ file: '/tmp/x.db', force: false });
    expect(parseBackupArgs(['--force', 'x.db'])).toEqual({ file: 'x.db', force: true });
    expect(() => parseBackupArgs([])).toThrow('expected one FILE to write the copy to');
    expect(() => parseBackupArgs(['a', 'b'])).toThrow(UsageError);
  });

  it('formatBytes: decimal units', () => {
    expect([formatBytes(12), formatBytes(812_000), formatBytes(1_500_000), formatBytes(41_200_000_000)]).toEqual(['12 B', '812.0 kB', '1.5 MB', '41.2 GB']);
  });
});

describe('StepSizer: a retention step sized to a time budget', () => {
  it('grows at most twofold, shrinks to the budget, stays within 10 to 2000 calls, and ignores short steps', () => {
    const sizer = new StepSizer(25, 50);
    sizer.took(50, 5); // fast: 250 would fit, but only doubles
    expect(sizer.calls).toBe(100);
    sizer.took(100, 100); // slow: a quarter
    expect(sizer.calls).toBe(25);
    sizer.took(3, 1000); // a short step (the end of the old rows) says nothing
    expect(sizer.calls).toBe(25);
    sizer.took(25, 10_000);
    expect(sizer.calls).toBe(10);
    for (let i = 0; i < 20; i += 1) sizer.took(sizer.calls, 0);
    expect(sizer.calls).toBe(2000);
  });
});
