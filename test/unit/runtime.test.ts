/**
 * The runtime guard: better-sqlite3 12.x aborts the process on Node.js 24+ (src/runtime.ts), so
 * `qbl` refuses to run there with one line instead of dying later with SIGABRT; package.json's
 * engines, the Docker image and the guard name the same supported release line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUPPORTED_NODE_MAJOR, currentRuntimeProblem, runtimeProblem } from '../../src/runtime';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; dependencies: Record<string, string> };

describe('the supported runtime', () => {
  test('Node.js 24 and later with better-sqlite3 12 or older: refused, with the way out', () => {
    expect(runtimeProblem('v24.21.0', '12.11.1')).toBe('Node.js v24.21.0 aborts with better-sqlite3 12.11.1 when it frees a database object '
      + '(a known incompatibility): run it on Node.js 22 LTS');
    expect(runtimeProblem('v26.10.0', '11.10.0')).not.toBeNull();
  });

  test('Node.js 20 and 22 with better-sqlite3 12, or any Node.js with better-sqlite3 13: fine', () => {
    expect(runtimeProblem('v22.23.3', '12.11.1')).toBeNull();
    expect(runtimeProblem('v20.20.2', '12.11.1')).toBeNull();
    expect(runtimeProblem('v24.21.0', '13.0.3')).toBeNull();
  });

  test('this machine\'s Node.js runs the suite', () => {
    expect(currentRuntimeProblem()).toBeNull();
  });

  test('engines, the Docker image and the guard name the same release line; better-sqlite3 stays 12.x', () => {
    expect(pkg.engines.node).toBe(`^${SUPPORTED_NODE_MAJOR}`);
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(new RegExp(`^FROM node:${SUPPORTED_NODE_MAJOR}-bookworm-slim `, 'gm'))).toHaveLength(2);
    expect(pkg.dependencies['better-sqlite3']).toMatch(/^\^12\./);
  });
});
