/** The retention bench still runs end to end (small, not a timing test: the figures belong to `npm run bench:retention`). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('bench/retention.ts', () => {
  it('commits a stream alone and beside the retention schedule, which deletes old calls', async () => {
    const { stdout } = await run(process.execPath, [join(__dirname, '..', '..', 'dist', 'bench', 'retention.js'), '--events', '3000', '--old-calls', '500', '--batch-size', '50'], { maxBuffer: 1 << 22 });
    const report = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(report).toMatchObject({ bench: 'retention' });
    expect(report.old_calls).toBeGreaterThanOrEqual(500);
    expect(report.fresh_events).toBeGreaterThanOrEqual(3000);
    expect(report.alone.perS).toBeGreaterThan(0);
    expect(report.pruning.perS).toBeGreaterThan(0);
    expect(report.steps).toBeGreaterThan(0);
    expect(report.deleted_cdrs).toBeGreaterThan(0);
  }, 120_000);
});
