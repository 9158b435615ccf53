/**
 * deploy/grafana/qbl-dashboard.json: a well-formed Grafana dashboard (panels on the 24-column
 * grid without overlaps, unique ids and refIds, every query on the dashboard's Prometheus
 * variable), every query valid PromQL, and every metric and label it uses exported by a real
 * service: one started here against the real RabbitMQ with the number lookup on, fed sample calls
 * and a bad message, asked a few lookups, and scraped on its /metrics. (Grafana itself does not
 * run here.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { integrationFixture } from '../support/fixture';
import { freePort, httpGet, seriesLabelNames } from '../support/http';
import { lookup, numberPath } from '../support/lookup';
import { analysePromql } from '../support/promql';
import { silentLogger, waitUntil } from '../support/rabbit';
import { readSamples } from '../support/samples';
import { serviceEnv } from '../support/service-env';

const ROOT = join(__dirname, '..', '..');

interface Target { refId: string; expr: string; legendFormat?: string; datasource?: { uid: string } }
interface Panel {
  id: number; type: string; title: string; description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string }; targets?: Target[];
}
interface Variable { name: string; type: string; query: string | { query: string }; datasource?: { uid: string } }
interface Dashboard {
  uid: string; title: string; schemaVersion: number; tags: string[]; time: { from: string; to: string };
  templating: { list: Variable[] }; panels: Panel[];
}

const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'qbl-dashboard.json'), 'utf8')) as Dashboard;
const panels = dashboard.panels;
const queryPanels = panels.filter((p) => p.type !== 'row');
const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const variableQueries = dashboard.templating.list.filter((v) => v.type === 'query')
  .map((v) => ({ name: v.name, query: typeof v.query === 'string' ? v.query : v.query.query }));
/** `label_values(METRIC{…}, label)` → the selector and the label. */
const LABEL_VALUES = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/;
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['job', 'instance']);

describe('the Grafana dashboard\'s shape', () => {
  test('identity, schema version, a Prometheus data-source variable, job and instance variables', () => {
    expect(dashboard).toMatchObject({ uid: 'opensips-qbl', title: expect.any(String), time: { from: expect.any(String), to: 'now' } });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const names = dashboard.templating.list.map((v) => v.name);
    expect(names).toEqual(['datasource', 'job', 'instance']);
    expect(dashboard.templating.list[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
  });

  test('panels: unique ids, known types, on the 24-column grid, none overlapping', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(['row', 'timeseries', 'stat', 'table']).toContain(p.type);
      const { x, y, w, h } = p.gridPos;
      for (const n of [x, y, w, h]) expect(Number.isInteger(n) && n >= 0).toBe(true);
      expect(w).toBeGreaterThan(0);
      expect(x + w).toBeLessThanOrEqual(24);
    }
    for (const a of panels) {
      for (const b of panels) {
        if (a.id >= b.id) continue;
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w
          && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
        if (overlap) throw new Error(`panels "${a.title}" and "${b.title}" overlap`);
      }
    }
  });

  test('every query panel has a title, a description, targets with unique refIds, on ${datasource}', () => {
    for (const p of queryPanels) {
      expect(p.title.length).toBeGreaterThan(0);
      expect(p.description?.length).toBeGreaterThan(0);
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of p.targets!) expect(t.datasource?.uid ?? '${datasource}').toBe('${datasource}');
    }
  });

  test('shows what an operator watches: intake, lag, open calls, commit latency, dead letters, CDRs by disposition', () => {
    const find = (metric: string, grouping?: string) => targets.some((t) => t.expr.includes(metric) && (grouping === undefined || t.expr.includes(`by (${grouping})`)));
    expect(find('rate(qbl_deliveries_received_total')).toBe(true);
    expect(find('qbl_unacked_deliveries') && find('qbl_oldest_open_call_age_seconds')).toBe(true);
    expect(find('qbl_open_calls')).toBe(true);
    expect(targets.some((t) => /histogram_quantile\(0\.99, .*qbl_store_commit_duration_seconds_bucket/.test(t.expr))).toBe(true);
    expect(find('qbl_dead_letters_total', 'reason')).toBe(true);
    expect(find('qbl_cdrs_written_total', 'disposition')).toBe(true);
    // The number lookup: whether it answers, what it answers, how fast.
    expect(find('qbl_lookup_up') && find('qbl_lookups_total', 'verdict')).toBe(true);
    expect(targets.some((t) => /histogram_quantile\(0\.99, .*qbl_lookup_duration_seconds_bucket/.test(t.expr))).toBe(true);
  });

  test.each(targets.map((t) => [t.panel, t.refId, t.expr]))('%s %s is valid PromQL', (_panel, _refId, expr) => {
    expect(analysePromql(expr).error).toBeNull();
  });

  test('variable queries are label_values of a valid selector', () => {
    for (const { query } of variableQueries) {
      const match = LABEL_VALUES.exec(query);
      expect(match).not.toBeNull();
      expect(analysePromql(match![1]!).error).toBeNull();
    }
  });
});

describe('the dashboard\'s queries against a running service\'s /metrics', () => {
  const f = integrationFixture('grafana');
  let exported: Map<string, Set<string>>;

  beforeAll(async () => {
    const port = await freePort();
    const lookupPort = await freePort();
    const config = loadConfig(serviceEnv(f.dir, 'grafana', { QBL_HTTP_PORT: String(port), QBL_LOOKUP_PORT: String(lookupPort) }));
    f.admin.track(config.topology);
    const service = await Service.start({ config, logger: silentLogger() });
    f.defer(() => service.close());
    const samples = readSamples();
    for (const message of samples) await f.admin.publish(config.topology.exchange, message.routingKey, [message.body]);
    await f.admin.publish(config.topology.exchange, 'opensips.bad', [Buffer.from('not an event')]);
    await waitUntil(() => service.consumer.stats.acked === samples.length + 1 && service.pipeline.correlator.openCallCount === 0
      && Object.keys(service.consumer.stats.deadLettered).length > 0, 'every message settled and every call closed');
    // A lookup answered and one refused: their counters have series only from their first count.
    expect((await lookup(lookupPort, numberPath('+5511912340001'))).status).toBe(200);
    expect((await lookup(lookupPort, '/nowhere')).status).toBe(404);
    const scrape = await httpGet(port, '/metrics');
    expect(scrape.status).toBe(200);
    exported = seriesLabelNames(scrape.body);
    await service.close();
  }, 60_000);

  /** The metric names and label names an expression uses that the scrape does not have. */
  function unknownIn(expr: string): string[] {
    const { metrics, labels } = analysePromql(expr);
    const missing = metrics.filter((m) => !exported.has(m));
    const available = new Set([...TARGET_LABELS, ...metrics.flatMap((m) => [...(exported.get(m) ?? [])])]);
    return [...missing, ...labels.filter((l) => !available.has(l)).map((l) => `label ${l}`)];
  }

  test('the scrape has series for every qbl metric the dashboard uses', () => {
    expect(exported.size).toBeGreaterThan(20);
    expect(exported.get('qbl_cdrs_written_total')).toEqual(new Set(['source', 'disposition']));
    expect(exported.get('qbl_lookups_total')).toEqual(new Set(['verdict', 'reasons']));
  });

  test.each(targets.map((t) => [t.panel, t.refId, t.expr]))('%s %s: every metric and label is exported', (_panel, _refId, expr) => {
    expect(unknownIn(expr)).toEqual([]);
  });

  test('legends name only labels the query keeps', () => {
    for (const t of targets) {
      const { labels } = analysePromql(t.expr);
      const grouped = /\bby \(([^)]*)\)/.exec(t.expr)?.[1]?.split(',').map((s) => s.trim());
      for (const [, label] of (t.legendFormat ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) {
        // An aggregation keeps only its `by` labels; a bare selector keeps all of its series' labels.
        if (grouped) expect({ legend: t.legendFormat, label, kept: grouped.includes(label!) }).toMatchObject({ kept: true });
        else expect(unknownIn(`${analysePromql(t.expr).metrics[0]}{${label}!=""}`)).toEqual([]);
      }
      expect(labels.length).toBeGreaterThan(0);
    }
  });

  test('the variables\' label_values queries ask for labels the series have', () => {
    for (const { query } of variableQueries) {
      const [, selector, label] = LABEL_VALUES.exec(query)!;
      expect(unknownIn(selector!)).toEqual([]);
      expect(TARGET_LABELS.has(label!) || [...analysePromql(selector!).metrics].some((m) => exported.get(m)?.has(label!))).toBe(true);
    }
  });
});
