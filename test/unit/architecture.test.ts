/**
 * docs/architecture.md's folder table is the law: every source file belongs to a row, imports
 * only what its row's "may import" column names (or its own row), and no imports form a cycle,
 * between files or between rows. Imports are read with TypeScript's own pre-processor (static,
 * type-only, `export … from`, `require` and dynamic `import()` alike).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['src', 'consumers', 'correlators', 'bench'];
const BUILTINS = new Set(builtinModules);

interface Row {
  /** Folders (ending `/`) and files the row covers. */
  readonly covers: readonly string[];
  /** `everything`, `everything-but` (with `names` excluded), or only `names`. */
  readonly kind: 'everything' | 'everything-but' | 'only';
  /** Folders, files and npm packages named in the "may import" column. */
  readonly names: readonly string[];
}

/** The rows of the table whose header ends with "may import". */
function readRules(): Row[] {
  const lines = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8').split('\n');
  const header = lines.findIndex((line) => /^\|\s*folder\s*\|.*\|\s*may import\s*\|$/.test(line));
  if (header < 0) throw new Error('docs/architecture.md: no table with a "may import" column');
  const rows: Row[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const may = cells[cells.length - 1]!;
    const kind = /^everything but\b/.test(may) ? 'everything-but' : /^everything\b/.test(may) ? 'everything' : 'only';
    rows.push({ covers: ticked(cells[0]!), kind, names: ticked(may) });
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'node_modules' || name === 'data' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

type Target = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'package'; readonly name: string } | { readonly kind: 'builtin' };

function importsOf(file: string): Target[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles.map(({ fileName }): Target => {
    if (fileName.startsWith('.')) {
      const base = relative(ROOT, resolve(ROOT, dirname(file), fileName));
      // A JSON file (package.json's version) is data compiled in, not a module with imports of its own.
      if (base.endsWith('.json') && existsSync(join(ROOT, base))) return { kind: 'builtin' };
      const found = [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => existsSync(join(ROOT, candidate)) && candidate.endsWith('.ts'));
      if (!found) throw new Error(`${file}: cannot resolve ${fileName}`);
      return { kind: 'file', path: found.split('\\').join('/') };
    }
    if (fileName.startsWith('node:') || BUILTINS.has(fileName)) return { kind: 'builtin' };
    const parts = fileName.split('/');
    return { kind: 'package', name: fileName.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]! };
  });
}

const matches = (path: string, name: string): boolean => (name.endsWith('/') ? path.startsWith(name) : path === name);

/** The most specific row covering the file. */
function rowOf(rows: readonly Row[], file: string): Row | undefined {
  let best: { row: Row; length: number } | undefined;
  for (const row of rows) {
    for (const cover of row.covers) {
      if (matches(file, cover) && (!best || cover.length > best.length)) best = { row, length: cover.length };
    }
  }
  return best?.row;
}

function allowed(row: Row, own: Row | undefined, target: Target): boolean {
  if (target.kind === 'builtin') return true;
  if (target.kind === 'file' && own === row) return true;
  const named = target.kind === 'file' ? row.names.some((name) => matches(target.path, name)) : row.names.includes(target.name);
  if (row.kind === 'everything') return true;
  if (row.kind === 'everything-but') return !named;
  return named;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      for (let member = stack.pop()!; ; member = stack.pop()!) {
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

const rules = readRules();
const files = SOURCE_DIRS.flatMap(sourceFiles).sort();
const imports = new Map(files.map((file) => [file, importsOf(file)]));
const rowName = (row: Row) => row.covers.join(' ');

describe('docs/architecture.md\'s rules', () => {
  test('the table was found, and every path it names exists', () => {
    expect(rules.length).toBeGreaterThan(10);
    const named = rules.flatMap((row) => [...row.covers, ...row.names]).filter((name) => name.includes('/') && !name.startsWith('@'));
    expect(named.filter((name) => !existsSync(join(ROOT, name)))).toEqual([]);
  });

  test('every source file belongs to a row', () => {
    expect(files.filter((file) => rowOf(rules, file) === undefined)).toEqual([]);
  });

  test('every import is one its row may make', () => {
    const violations: string[] = [];
    for (const file of files) {
      const row = rowOf(rules, file)!;
      for (const target of imports.get(file)!) {
        const own = target.kind === 'file' ? rowOf(rules, target.path) : undefined;
        if (!allowed(row, own, target)) {
          violations.push(`${file} (${rowName(row)}) imports ${target.kind === 'file' ? target.path : target.kind === 'package' ? target.name : 'a builtin'}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  test('no import cycle between files (tests included)', () => {
    const all = [...files, ...sourceFiles('test')];
    const graph = new Map(all.map((file) => [file, (imports.get(file) ?? importsOf(file))
      .flatMap((target) => (target.kind === 'file' ? [target.path] : []))]));
    expect(cycles(graph)).toEqual([]);
  });

  test('no cycle between rows: the layers are a stack', () => {
    const graph = new Map<string, string[]>(rules.map((row) => [rowName(row), []]));
    for (const file of files) {
      const from = rowName(rowOf(rules, file)!);
      for (const target of imports.get(file)!) {
        if (target.kind !== 'file') continue;
        const to = rowOf(rules, target.path);
        if (to && rowName(to) !== from && !graph.get(from)!.includes(rowName(to))) graph.get(from)!.push(rowName(to));
      }
    }
    expect(cycles(graph)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  test('find a cycle, and a forbidden import', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    const correlators = rules.find((row) => row.covers.includes('correlators/'))!;
    expect(allowed(correlators, undefined, { kind: 'file', path: 'src/stores/store.ts' })).toBe(false);
    expect(allowed(correlators, correlators, { kind: 'file', path: 'correlators/cdr.ts' })).toBe(true);
    expect(allowed(correlators, undefined, { kind: 'package', name: 'amqplib' })).toBe(false);
    const bench = rules.find((row) => row.covers.includes('bench/'))!;
    expect(allowed(bench, undefined, { kind: 'file', path: 'src/cli/main.ts' })).toBe(false);
    expect(allowed(bench, undefined, { kind: 'file', path: 'src/pipeline/service.ts' })).toBe(true);
  });
});
