/**
 * The Node.js versions the service runs on. better-sqlite3 12.x (the project's pinned major)
 * builds its objects on Node's raw `node::ObjectWrap`; from Node.js 24 on, that class's destructor
 * looks up the current Node environment, finds none when the garbage collector frees a
 * statement or a database outside a JavaScript context, and aborts the process (SIGABRT,
 * "Assertion failed: (env) != nullptr"): under load within seconds. better-sqlite3 13 (Node-API)
 * does not; until the project moves to it, Node.js 22 LTS is the supported runtime.
 */

/** The supported Node.js release line (package.json's engines say the same). */
export const SUPPORTED_NODE_MAJOR = 22;

/** Why this process must not run here, or null. */
export function runtimeProblem(nodeVersion: string, sqliteDriverVersion: string): string | null {
  const nodeMajor = Number(nodeVersion.replace(/^v/, '').split('.')[0]);
  const driverMajor = Number(sqliteDriverVersion.split('.')[0]);
  if (nodeMajor >= 24 && driverMajor <= 12) {
    return `Node.js ${nodeVersion} aborts with better-sqlite3 ${sqliteDriverVersion} when it frees a database object `
      + `(a known incompatibility): run it on Node.js ${SUPPORTED_NODE_MAJOR} LTS`;
  }
  return null;
}

/** runtimeProblem for this process. */
export function currentRuntimeProblem(): string | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require('better-sqlite3/package.json') as { version: string };
  return runtimeProblem(process.version, version);
}
