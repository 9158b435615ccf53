/**
 * The table of variables (src/config/variables.ts) is the one list: the loader reads exactly its
 * variables, every default passes its own parser, and README's configuration table is generated
 * from it. `npm run readme-config` (UPDATE_README=1) rewrites README's table from the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import type { Env, Variable } from '../../src/config/env';
import { RETIRED_VARIABLES, VARIABLES, retiredVariablesSet, unknownVariablesSet, variablesMarkdown } from '../../src/config/variables';

const README_PATH = join(__dirname, '..', '..', 'README.md');
const START = '<!-- variables:start -->';
const END = '<!-- variables:end -->';
const ROWS: ReadonlyArray<Variable<unknown>> = Object.values(VARIABLES);

/** The names loadConfig asks the environment for, given these values. */
function namesRead(values: Record<string, string>): Set<string> {
  const asked = new Set<string>();
  const env = new Proxy(values, {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      asked.add(name);
      return target[name];
    },
  }) as Env;
  loadConfig(env);
  return asked;
}

describe('the table of variables', () => {
  test('loadConfig reads every variable of the table, and no other (a secret also as NAME_FILE)', () => {
    const asked = new Set([
      ...namesRead({}),
      ...namesRead({ ELASTICSEARCH_URL: 'http://es:9200' }),
      ...namesRead({ OPENSEARCH_URL: 'http://os:9200' }),
    ]);
    const expected = ROWS.flatMap((row) => (row.secret ? [row.name, `${row.name}_FILE`] : [row.name]));
    expect([...asked].sort()).toEqual([...expected].sort());
  });

  test.each(ROWS.filter((row) => row.default !== undefined).map((row) => [row.name, row] as const))(
    '%s: the default passes its own parser', (_name, row) => {
      const value = row.default;
      const text = Array.isArray(value) ? (value.length === 0 ? 'none' : value.join(',')) : String(value);
      expect(row.parse(text, row.name)).toEqual(value);
    },
  );

  test('a retired variable is named when set (qbl start warns), and is in the table no more', () => {
    expect(retiredVariablesSet({ QBL_BULK_FLUSH_MS: '200', QBL_PREFETCH: '10' })).toEqual([
      { variable: 'QBL_BULK_FLUSH_MS', why: RETIRED_VARIABLES.QBL_BULK_FLUSH_MS },
    ]);
    expect(retiredVariablesSet({ QBL_BULK_FLUSH_MS: ' ' })).toEqual([]);
    for (const name of Object.keys(RETIRED_VARIABLES)) expect(ROWS.map((row) => row.name)).not.toContain(name);
  });

  test('an unknown QBL_ variable is named when set (qbl start warns), with the closest known name', () => {
    expect(unknownVariablesSet({
      QBL_PREFTCH: '10', QBL_PREFETCH: '10', QBL_WHATEVER_ELSE_ENTIRELY: '1', QBL_BULK_FLUSH_MS: '200',
      AMQP_URL_FILE: '/run/secrets/amqp', PATH: '/bin',
    })).toEqual([{ variable: 'QBL_PREFTCH', closest: 'QBL_PREFETCH' }, { variable: 'QBL_WHATEVER_ELSE_ENTIRELY' }]);
  });

  test('every row says what it means, in one line', () => {
    for (const row of ROWS) expect(row.meaning).toMatch(/^[^\n|]{3,}$/);
  });
});

describe('README configuration table', () => {
  test('is the one generated from the table of variables', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const generated = `${START}\n${variablesMarkdown()}\n${END}`;
    const current = readme.slice(start, end + END.length);
    if (current !== generated && process.env.UPDATE_README === '1') {
      writeFileSync(README_PATH, readme.replace(current, generated));
      return;
    }
    // On a difference: `npm run readme-config` rewrites README's table from src/config/variables.ts.
    expect(current).toBe(generated);
  });
});
