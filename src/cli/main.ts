#!/usr/bin/env node
/** `qbl`: the service and its tools. Sub-commands load lazily so `qbl cdrs` never opens an AMQP client. */
import type { CliCommand } from './command';
import { UsageError } from '../flags';
import { ConfigError } from '../errors';
import { trapStopSignals } from './stop-signals';
import { BUILD } from '../version';
import { currentRuntimeProblem } from '../runtime';

const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  start: () => import('./commands/start'),
  cdrs: () => import('./commands/cdrs'),
  events: () => import('./commands/events'),
  reconcile: () => import('./commands/reconcile'),
  evidence: () => import('./commands/evidence'),
  dlq: () => import('./commands/dlq'),
  bench: () => import('./commands/bench'),
  status: () => import('./commands/status'),
  simulate: () => import('./commands/simulate'),
  blocklist: () => import('./commands/blocklist'),
  prune: () => import('./commands/prune'),
  backup: () => import('./commands/backup'),
  healthcheck: () => import('./commands/healthcheck'),
  'migrate-queue': () => import('./commands/migrate-queue'),
};

/** Every command with its one-line summary (each module is loaded for it: no I/O happens on load). */
async function help(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map(async (load) => (await load()).command));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `usage: qbl <command> [flags]        (${BUILD.name} ${BUILD.version})`,
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `qbl <command> --help` for a command\'s flags, `qbl --version` for the version.',
    'Configuration comes from environment variables (see README.md).',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(`${await help()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`${BUILD.name} ${BUILD.version}\n`);
    return 0;
  }
  const runtimeProblem = currentRuntimeProblem();
  if (runtimeProblem !== null) {
    process.stderr.write(`qbl: ${runtimeProblem}\n`);
    return 78; // EX_CONFIG: the deployment's runtime is wrong, as with a bad option
  }
  // The service must not die on a SIGTERM that arrives while its modules are still loading.
  if (name === 'start') void trapStopSignals();
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`qbl: unknown command ${JSON.stringify(name)}\n${await help()}\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\n\n${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`qbl ${name}: ${error.message}\n${command.usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`qbl ${name}: configuration error: ${error.message}\n`);
      return 78; // EX_CONFIG
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error: unknown) => {
      process.stderr.write(`qbl: ${(error as Error)?.message ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
