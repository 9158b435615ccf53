/**
 * .github/dependabot.yml keeps the numbering plans fresh (libphonenumber-js in a weekly pull
 * request of its own) without breaking the stack's pins: better-sqlite3 12.x, TypeScript 5.9,
 * @types/node and the image's Node.js on the LTS line package.json's engines name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');

interface Update {
  'package-ecosystem': string;
  directory: string;
  schedule: { interval: string };
  groups?: Record<string, { patterns?: string[]; 'exclude-patterns'?: string[]; 'dependency-type'?: string }>;
  ignore?: Array<{ 'dependency-name': string; 'update-types'?: string[] }>;
}

const config = parse(readFileSync(join(ROOT, '.github', 'dependabot.yml'), 'utf8')) as { version: number; updates: Update[] };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const npm = config.updates.find((u) => u['package-ecosystem'] === 'npm')!;
const ignored = (update: Update, name: string) => update.ignore?.find((i) => i['dependency-name'] === name)?.['update-types'] ?? [];

describe('dependency updates', () => {
  test('version 2, npm, Dockerfile and compose images, each at least weekly, at the repository root', () => {
    expect(config.version).toBe(2);
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['docker', 'docker-compose', 'npm']);
    for (const update of config.updates) {
      expect(update.directory).toBe('/');
      expect(['daily', 'weekly']).toContain(update.schedule.interval);
    }
  });

  test('libphonenumber-js, a dependency of the service, gets a group of its own', () => {
    expect(pkg.dependencies['libphonenumber-js']).toBeDefined();
    const groups = Object.values(npm.groups ?? {});
    const own = groups.filter((g) => g.patterns?.includes('libphonenumber-js'));
    expect(own).toEqual([{ patterns: ['libphonenumber-js'] }]);
    for (const other of groups.filter((g) => !own.includes(g))) expect(other.patterns ?? []).not.toContain('*');
    expect(ignored(npm, 'libphonenumber-js')).toEqual([]);
  });

  test('the pins hold: better-sqlite3 12.x, TypeScript 5.9, @types/node on the supported LTS', () => {
    expect(pkg.dependencies['better-sqlite3']).toMatch(/^\^12\./);
    expect(ignored(npm, 'better-sqlite3')).toEqual(['version-update:semver-major']);
    expect(pkg.devDependencies.typescript).toBe('5.9');
    expect(ignored(npm, 'typescript')).toEqual(expect.arrayContaining(['version-update:semver-major', 'version-update:semver-minor']));
    expect(ignored(npm, '@types/node')).toEqual(['version-update:semver-major']);
    const docker = config.updates.find((u) => u['package-ecosystem'] === 'docker')!;
    expect(ignored(docker, 'node')).toEqual(['version-update:semver-major']);
  });
});
