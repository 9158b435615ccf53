/** docs/alerts/qbl-alerts.yml parses, and every rule is built on metrics the service exports. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { LOOKUP_METRIC_NAMES, METRIC_NAMES } from '../../src/observability/metrics';
import { analysePromql } from '../support/promql';

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const doc = parse(readFileSync(join(__dirname, '..', '..', 'docs', 'alerts', 'qbl-alerts.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
const rules = doc.groups.flatMap((g) => g.rules);
const exported = new Set<string>([...METRIC_NAMES, ...LOOKUP_METRIC_NAMES]);
/** Series names a histogram adds to its own name. */
const HISTOGRAM_SUFFIX = /_(bucket|count|sum)$/;

function referencedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\b(qbl_[a-z0-9_]+)/g)].map((m) => m[1]!);
}

describe('suggested alert rules', () => {
  test('the file is one group of named rules with an expression, a severity and a summary', () => {
    expect(doc.groups.length).toBeGreaterThanOrEqual(1);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    const names = new Set<string>();
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Qbl[A-Za-z]+$/);
      expect(names.has(rule.alert!)).toBe(false);
      names.add(rule.alert!);
      expect(typeof rule.expr).toBe('string');
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.length).toBeGreaterThan(0);
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
    }
  });

  test.each(rules.map((r) => [r.alert!, r.expr!]))('%s references only metrics qbl exports', (_name, expr) => {
    const metrics = referencedMetrics(expr);
    if (metrics.length === 0) {
      // The one rule on Prometheus' own `up` series.
      expect(expr).toMatch(/\bup\{job="qbl"\}/);
      return;
    }
    for (const metric of metrics) {
      const known = exported.has(metric) || (HISTOGRAM_SUFFIX.test(metric) && exported.has(metric.replace(HISTOGRAM_SUFFIX, '')));
      if (!known) throw new Error(`${metric} is not exported`);
    }
  });

  test.each(rules.map((r) => [r.alert!, r.expr!]))('%s is valid PromQL', (_name, expr) => {
    expect(analysePromql(expr).error).toBeNull();
  });

  test('the alerts cover the runbook\'s situations', () => {
    const all = rules.map((r) => r.expr!).join('\n');
    for (const metric of ['qbl_broker_connected', 'qbl_broker_blocked', 'qbl_dead_letters_total', 'qbl_oldest_open_call_age_seconds',
      'qbl_store_up', 'qbl_store_commit_duration_seconds_bucket', 'qbl_amqp_reconnects_total', 'qbl_unacked_deliveries']) {
      expect(all).toContain(metric);
    }
  });
});
