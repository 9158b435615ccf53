/**
 * `npm run bench:reconcile`: `qbl reconcile` on a month-size carrier file against a month of
 * CDRs in SQLite (default 1,000,000 calls), run as the real CLI in a child process; prints the
 * wall time, the child's peak RSS, and the outcome counts, as a table and one JSON line.
 *
 * The CDRs are simulated calls of the simulator's number pool (answered 92 %, so that the file has about
 * as many rows as we have CDRs; log-normal talk
 * times) written straight into the store (no raw events: the matching never reads them); the
 * carrier file comes from them with every class injected (src/simulator/carrier-file.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cdrIdFor, EMPTY_EXTRAS, formatUs, type Cdr, type CdrRecord, type Disposition } from '../correlators/cdr';
import { parseIncrement } from '../src/disputes/increment';
import { buildCarrierFile } from '../src/simulator/carrier-file';
import { NumberPool } from '../src/simulator/generator';
import { Random } from '../src/simulator/random';
import { SqliteStore } from '../src/stores/sqlite/sqlite-store';
import { intFlag, parseFlags } from '../src/flags';
import { createNormaliser } from '../src/numbers/normaliser';
import { readDialPlan } from '../src/config/dialplan';

/** The target of issue 14: a month of 1,000,000 rows against 1,000,000 CDRs. */
export const TARGET_S = 60;

const MONTH_START_US = Date.UTC(2026, 9, 1) * 1000;
const MONTH_US = 31 * 86_400_000_000;
const DIAL_PLAN_ENV = { QBL_DEFAULT_COUNTRY: 'BR', QBL_EXIT_CODES: '00,011', QBL_CARRIER_PREFIXES: '15,21,41', QBL_STRIP_PREFIXES: '9' };

/** N calls spread over a month: one CDR each, as the service would store them. */
export function monthOfCdrs(calls: number, seed: number): CdrRecord[] {
  const rng = new Random(seed);
  const pool = new NumberPool(rng.derive('numbers'), 20_000);
  const normalise = createNormaliser(readDialPlan(DIAL_PLAN_ENV), 100_000);
  const gapUs = Math.floor(MONTH_US / calls);
  const records: CdrRecord[] = [];
  for (let i = 0; i < calls; i += 1) {
    const inviteUs = MONTH_START_US + i * gapUs + rng.int(0, Math.max(0, gapUs - 1));
    const caller = pool.render(rng);
    const callee = pool.render(rng);
    const disposition = rng.weighted<Disposition>([['answered', 0.92], ['busy', 0.03], ['no_answer', 0.02], ['cancelled', 0.02], ['failed', 0.01]]);
    const setupUs = rng.int(1_000_000, 20_000_000);
    const answered = disposition === 'answered';
    const talkUs = answered ? Math.round(Math.min(3600, Math.max(1, rng.lognormal(120, 1))) * 1_000_000) : 0;
    const answerUs = inviteUs + setupUs;
    const endUs = answered ? answerUs + talkUs : inviteUs + setupUs;
    const callId = `bench-${seed}-${i}@sbc`;
    const cdr: Cdr = {
      cdr_id: cdrIdFor(callId), call_id: callId, caller, callee, disposition,
      final_code: answered ? 200 : disposition === 'busy' ? 486 : disposition === 'no_answer' ? 408 : disposition === 'cancelled' ? 487 : 503,
      invite_at: formatUs(inviteUs), ringing_at: formatUs(inviteUs + 1_000_000), answer_at: answered ? formatUs(answerUs) : null, end_at: formatUs(endUs),
      pdd_us: 1_000_000, setup_us: setupUs, talk_us: talkUs, total_us: endUs - inviteUs, bye_code: answered ? 200 : null,
      hangup_by: answered ? 'caller' : null, closed_by: answered ? 'bye' : 'final_reply', complete: true, events: answered ? 5 : 3, source: 'qbl',
    };
    records.push({ cdr, extras: { ...EMPTY_EXTRAS, caller_e164: normalise(caller), callee_e164: normalise(callee) }, startUs: inviteUs });
  }
  return records;
}

export interface ReconcileBench {
  readonly bench: 'reconcile';
  readonly at: string;
  readonly cdrs: number;
  readonly carrier_rows: number;
  readonly file_mb: number;
  readonly seconds: number;
  readonly target_s: number;
  readonly peak_rss_mb: number;
  /** The child's CPU time (user + system): what the run costs whatever the machine's load. */
  readonly cpu_s: number;
  readonly exit_code: number;
  readonly counts: Record<string, number>;
  readonly load_average: number;
}

function run(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += String(chunk); });
    child.stderr.on('data', (chunk) => { stderr += String(chunk); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function benchReconcile(calls: number, seed: number, log: (line: string) => void, profileDir?: string): Promise<ReconcileBench> {
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-reconcile-'));
  try {
    const dbPath = join(dir, 'qbl.db');
    const records = monthOfCdrs(calls, seed);
    const store = SqliteStore.open(dbPath);
    for (let i = 0; i < records.length; i += 5000) await store.commit({ events: [], cdrs: records.slice(i, i + 5000), openCalls: [], closedCallIds: [] });
    await store.close();
    log(`store: ${records.length} CDRs`);
    const file = buildCarrierFile(records, {
      headers: { start: ['Call Date'], caller: 'ANI', callee: 'DNIS', duration: 'Duration (s)', billed: 'Billed Duration', rate: 'Rate/min', cost: 'Amount' },
      extraColumns: ['Trunk'], separator: ',', startFormats: ['yyyy-MM-dd HH:mm:ss'], zone: 'Asia/Kolkata', durationStyle: 'int',
      increment: parseIncrement('60/6')!, numberStyle: 'mixed', rateMicro: 12_000, skewUs: 300_000,
    });
    const csvPath = join(dir, 'carrier.csv');
    writeFileSync(csvPath, file.text);
    const rows = file.text.split('\n').length - 2;
    log(`carrier file: ${rows} rows, ${(statSync(csvPath).size / 1e6).toFixed(1)} MB`);
    const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    const started = process.hrtime.bigint();
    const result = await run(
      [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), '--require', join(__dirname, 'peak-rss.js'), join(__dirname, '..', 'src', 'cli', 'main.js'), 'reconcile', csvPath, '--out', join(dir, 'out')],
      { ...process.env, ...DIAL_PLAN_ENV, SQLITE_PATH: dbPath, ELASTICSEARCH_URL: '', OPENSEARCH_URL: '' },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.code !== 0 && result.code !== 3) throw new Error(`reconcile failed (${result.code}): ${result.stderr.slice(-2000)}`);
    const peak = /peak-rss-bytes (\d+)/.exec(result.stderr);
    const cpu = /cpu-us (\d+)/.exec(result.stderr);
    const summary = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as { counts: Record<string, number> };
    log(result.stdout.trim());
    return {
      bench: 'reconcile', at: new Date().toISOString(), cdrs: records.length, carrier_rows: rows,
      file_mb: Math.round(statSync(csvPath).size / 1e5) / 10, seconds: Math.round(seconds * 10) / 10, target_s: TARGET_S,
      peak_rss_mb: peak ? Math.round(Number(peak[1]) / 1e5) / 10 : -1, cpu_s: cpu ? Math.round(Number(cpu[1]) / 1e5) / 10 : -1, exit_code: result.code, counts: summary.counts, load_average: load,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--profile DIR`: the child writes a V8 CPU profile there. */
const FLAGS = { calls: { type: 'string' }, seed: { type: 'string' }, profile: { type: 'string' } } as const;

if (require.main === module) {
  const { values } = parseFlags(process.argv.slice(2), FLAGS);
  const calls = intFlag('calls', values.calls, 1_000_000, 1000, 10_000_000);
  const seed = intFlag('seed', values.seed, 1, 0, 2 ** 31);
  benchReconcile(calls, seed, (line) => process.stderr.write(`bench: ${line}\n`), values.profile).then(
    (report) => {
      process.stdout.write(`reconcile: ${report.carrier_rows} rows vs ${report.cdrs} CDRs in ${report.seconds} s (target < ${report.target_s} s; ${report.cpu_s} s CPU), peak RSS ${report.peak_rss_mb} MB, load ${report.load_average}\n`);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`bench: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
