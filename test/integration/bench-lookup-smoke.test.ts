/**
 * The lookup bench's harness at a small N: not a timing test, a check that it measures what it
 * says. The load reaches each server in its turns and counts every answer; latencies come from
 * when a request was due; the rebuild reads back every CDR it wrote.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertLoadKeptPace, BARE_BODY, bracketedSlowdown, LOAD_NICE, serviceCpuUsPerLookup, WITH_DRAIN_NICES, histogramPercentileMs, latencyWithin, lookupPaths, measureRebuild } from '../../bench/lookup';
import { runLoad } from '../../bench/lookup-load';
import { benchTraffic } from '../../bench/traffic';

async function server(answer: (path: string) => number): Promise<{ server: Server; port: number; paths: string[] }> {
  const paths: string[] = [];
  const s = createServer((req, res) => {
    paths.push(req.url!);
    res.writeHead(answer(req.url!), { 'Content-Length': Buffer.byteLength(BARE_BODY) });
    res.end(BARE_BODY);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  return { server: s, port: (s.address() as AddressInfo).port, paths };
}

test('paced load alternates between the servers, counts every answer, and measures from when each request was due', async () => {
  const a = await server(() => 200);
  const b = await server((path) => (path.endsWith('bad') ? 500 : 200));
  try {
    const paths = ['/v1/numbers/1', '/v1/numbers/2', '/v1/numbers/bad'];
    const result = await runLoad({ ports: [a.port, b.port], paths, mode: 'paced', ratePerS: 400, sliceMs: 100, connections: 2, maxDurationMs: 1000, warmUp: false }, () => false);
    const answered = result.samples.length / 3;
    // Every request due while the load ran (at least the second's 400, however late its timer
    // fired) is answered, failed or counted unsent (a loaded machine sends fewer: those are
    // counted, never lost), and the servers take turns: each gets a fair share of what was sent.
    const ranMs = result.stoppedAtMs - result.startedAtMs;
    expect(answered + result.errors + result.unsent).toBeGreaterThanOrEqual(400);
    expect(answered + result.errors + result.unsent).toBeLessThanOrEqual(Math.ceil(0.4 * ranMs) + 1);
    const sent = a.paths.length + b.paths.length;
    expect(sent).toBeGreaterThanOrEqual(answered + result.errors);
    expect(sent).toBeGreaterThan(40);
    expect(Math.min(a.paths.length, b.paths.length)).toBeGreaterThanOrEqual(0.35 * sent);
    expect(result.errors).toBe(b.paths.filter((p) => p.endsWith('bad')).length);
    for (let k = 0; k < result.samples.length; k += 3) {
      expect(result.samples[k + 1]).toBeGreaterThanOrEqual(0);
      expect([0, 1]).toContain(result.samples[k + 2]);
    }
    const figures = latencyWithin(result, result.startedAtMs, result.stoppedAtMs, 0);
    expect(figures.p99Ms).toBeGreaterThanOrEqual(figures.p50Ms);
    // Answers per second over the run's own span.
    const spanS = (result.stoppedAtMs - result.startedAtMs) / 1000;
    expect(figures.perS).toBeGreaterThan(0);
    expect(figures.perS).toBeLessThanOrEqual((answered / spanS) * 1.01 + 1);

    const max = await runLoad({ ports: [a.port], paths, mode: 'max', ratePerS: 0, connections: 4, maxDurationMs: 5000, maxRequests: 300 }, () => false);
    expect(max.samples.length / 3 + max.errors).toBeGreaterThanOrEqual(300);
  } finally {
    a.server.close();
    b.server.close();
  }
});

test('the service\'s CPU per lookup: the with-drain\'s CPU over its neighbours\', times the events, per lookup', () => {
  // 20 µs/event with lookups against 18 and 16 without: 3 µs × 10,000 events over 1,000 lookups.
  expect(serviceCpuUsPerLookup(20, [18, 16], 10_000, 1_000)).toBeCloseTo(30);
});

test('a with-drain whose load fell behind the paced rate is no result', () => {
  const figures = { p50Ms: 1, p99Ms: 2, perS: 4_990, errors: 0, unsent: 0 };
  expect(() => assertLoadKeptPace(figures, 5_000)).not.toThrow();
  expect(() => assertLoadKeptPace({ ...figures, perS: 4_000 }, 5_000)).toThrow(/4000 of 5000 lookups\/s answered/);
});

test('lookup paths are the stream\'s callees with their callers, URL-encoded', () => {
  const traffic = benchTraffic(300, 7, Date.now() * 1000);
  const paths = lookupPaths(traffic.expected);
  expect(paths.length).toBe(traffic.expected.filter((cdr) => cdr.callee !== null).length);
  for (const path of paths) expect(path).toMatch(/^\/v1\/numbers\/[^/?\s]+(\?caller=[^&\s]+)?$/);
});

test('the rebuild reads back and folds in every CDR it wrote', async () => {
  expect(await measureRebuild(3000)).toMatchObject({ cdrs: 3000 });
});

test('the p99 of the lookup thread\'s histogram is the bound of the bucket that holds it', () => {
  const latency = { boundsS: [0.0001, 0.001, 0.01], counts: [90, 9, 1, 0], sumS: 0, count: 100 };
  expect(histogramPercentileMs(latency, 50)).toBeCloseTo(0.1);
  expect(histogramPercentileMs(latency, 99)).toBeCloseTo(1);
  expect(histogramPercentileMs({ ...latency, counts: [0, 0, 0, 0], count: 0 }, 99)).toBeNull();
});

test('the slowdown compares each drain with lookups to the drains without just before and after it', () => {
  // A machine that drifts from 100 to 80/s: with-drains at 90% of their neighbours' mean.
  expect(bracketedSlowdown([100, 90, 80], [0.9 * 95, 0.9 * 85])).toBeCloseTo(0.1);
  // No lookups' cost: no slowdown, whatever the drift.
  expect(bracketedSlowdown([100, 60], [80])).toBeCloseTo(0);
  expect(() => bracketedSlowdown([100, 90], [90, 80])).toThrow(/2 drains without lookups around 2/);
  // Two kinds of with-drain in turns: each kind against its own neighbours only.
  const niced = (i: number) => WITH_DRAIN_NICES[i] === LOAD_NICE;
  const alone = [100, 100, 100, 100, 100, 100];
  const withLookups = [95, 80, 95, 80, 95];
  expect(WITH_DRAIN_NICES.filter((nice) => nice === LOAD_NICE).length).toBe(3);
  expect(bracketedSlowdown(alone, withLookups, niced)).toBeCloseTo(0.05);
  expect(bracketedSlowdown(alone, withLookups, (i) => !niced(i))).toBeCloseTo(0.2);
  expect(() => bracketedSlowdown(alone, withLookups, () => false)).toThrow(/no drain with lookups counted/);
});
