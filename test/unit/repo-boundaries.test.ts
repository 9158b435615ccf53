/**
 * No tracked file refers to anything outside this repository: a user has the repository and
 * nothing else. Checked: the team's reference folders by name, workplace paths, relative links
 * in Markdown, and relative paths in code (imports, `join(__dirname, …)`, shell `$0`-relative
 * paths) that would climb above the repository's root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const TRACKED = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean)
  // Deleted in the work tree but not yet staged: not part of what a clone gets.
  .filter((file) => existsSync(join(ROOT, file)));
const TEXT = TRACKED.filter((file) => !/\.(png|jpe?g|gif|ico|gz|zip|jar)$/.test(file) && file !== 'package-lock.json');

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

function isInside(path: string): boolean {
  const rel = relative(ROOT, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/** Built from parts so that this file does not match itself. */
const OUTSIDE_NAMES = [['shared', 'spec'], ['shared', 'samples'], ['shared', 'style'], ['', 'work', '']].map((parts) => parts.join('/'));

describe('no tracked file refers outside the repository', () => {
  test('git lists the files this test reads', () => {
    expect(TRACKED).toContain('package.json');
    expect(TRACKED).toContain('docs/cdr.md');
  });

  test('nothing names the team\'s reference folders or workplace paths', () => {
    const offenders: string[] = [];
    for (const file of TEXT) {
      const text = read(file);
      for (const name of OUTSIDE_NAMES) if (text.includes(name)) offenders.push(`${file}: ${name}`);
    }
    expect(offenders).toEqual([]);
  });

  test('every relative Markdown link leads to a tracked file or folder of the repository', () => {
    const tracked = new Set(TRACKED);
    const folders = new Set(TRACKED.flatMap((file) => file.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
    const broken: string[] = [];
    for (const file of TEXT.filter((f) => f.endsWith('.md'))) {
      for (const match of read(file).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // a URL or an anchor
        const path = resolve(ROOT, dirname(file), decodeURI(target.split('#')[0]!));
        const rel = relative(ROOT, path).split(sep).join('/');
        if (!isInside(path) || !(tracked.has(rel) || folders.has(rel))) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('relative paths in code stay inside the repository', () => {
    const escaping: string[] = [];
    for (const file of TEXT.filter((f) => /\.(ts|js|cjs|mjs)$/.test(f))) {
      const text = read(file);
      const dir = join(ROOT, dirname(file));
      // Every string literal that is a relative path: imports, requires, fixtures.
      for (const match of text.matchAll(/(['"`])(\.\.?\/[^'"`\s]*)\1/g)) {
        if (!isInside(resolve(dir, match[2]!))) escaping.push(`${file}: ${match[2]}`);
      }
      // join(__dirname, '..', 'x') and resolve(__dirname, …): only literal arguments count.
      for (const match of text.matchAll(/(?:join|resolve)\(\s*__dirname((?:\s*,\s*'[^']*')*)/g)) {
        const parts = [...match[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
        if (!isInside(resolve(dir, ...parts))) escaping.push(`${file}: join(__dirname, ${parts.join(', ')})`);
      }
    }
    for (const file of TEXT.filter((f) => f.endsWith('.sh') || f.startsWith('.ci/'))) {
      const dir = join(ROOT, dirname(file));
      for (const match of read(file).matchAll(/\$\(dirname "\$0"\)((?:\/[^\s"')]+)*)/g)) {
        if (!isInside(resolve(dir, `.${match[1] ?? ''}`))) escaping.push(`${file}: $(dirname "$0")${match[1]}`);
      }
    }
    expect(escaping).toEqual([]);
  });

  test('the checks above catch what they look for', () => {
    expect(isInside(resolve(ROOT, 'docs', '..', '..', 'shared'))).toBe(false);
    expect(isInside(resolve(ROOT, 'src', '..', 'docs'))).toBe(true);
    expect(statSync(join(ROOT, 'docs')).isDirectory()).toBe(true);
  });
});
