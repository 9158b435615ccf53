/**
 * PromQL as Prometheus parses it (the official grammar, @prometheus-io/lezer-promql): syntax
 * errors, the metric names an expression selects and the label names it uses. Grafana's own
 * variables ($__rate_interval, $job in a matcher…) are replaced by plain values first.
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface PromqlParts {
  /** The first syntax error with its position, or null. */
  readonly error: string | null;
  /** Metric names of every selector. */
  readonly metrics: string[];
  /** Label names in matchers, `by`/`without` and `on`/`ignoring` clauses. */
  readonly labels: string[];
}

/** Grafana's interval variables become a duration; other `$name`s only appear inside strings. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
}

export function analysePromql(expr: string): PromqlParts {
  const text = withoutGrafanaVariables(expr);
  let error: string | null = null;
  const metrics = new Set<string>();
  const labels = new Set<string>();
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError && error === null) error = `syntax error at ${node.from}: ${JSON.stringify(text.slice(Math.max(0, node.from - 20), node.from + 20))}`;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.add(text.slice(node.from, node.to));
      if (node.name === 'LabelName') labels.add(text.slice(node.from, node.to));
    },
  });
  return { error, metrics: [...metrics], labels: [...labels] };
}
