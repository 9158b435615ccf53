/** The reconcile bench still runs end to end (small: the month-size run belongs to `npm run bench:reconcile`). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('bench/reconcile.ts', () => {
  it('reconciles a small month through the real CLI and reports time, CPU and memory', async () => {
    const { stdout } = await run(process.execPath, [join(__dirname, '..', '..', 'dist', 'bench', 'reconcile.js'), '--calls', '3000', '--seed', '2'], { maxBuffer: 1 << 22 });
    const report = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(report).toMatchObject({ bench: 'reconcile', cdrs: 3000, exit_code: 3, target_s: 60 });
    expect(report.carrier_rows).toBeGreaterThan(2500);
    expect(report.peak_rss_mb).toBeGreaterThan(0);
    expect(report.cpu_s).toBeGreaterThan(0);
    for (const cls of ['match', 'within_tolerance', 'overbilled', 'not_answered', 'unknown_call', 'duplicate', 'not_billed']) expect(report.counts[cls]).toBeGreaterThan(0);
  });
});
