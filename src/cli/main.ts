#!/usr/bin/env node
/** `qbl`: the service and its tools. Sub-commands load lazily so `qbl cdrs` never opens an AMQP client. */
import type { CliCommand } from './command';
import { UsageError } from './command';
import { ConfigError } from '../errors';
import { trapStopSignals } from './stop-signals';

const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  start: () => import('./commands/start'),
  cdrs: () => import('./commands/cdrs'),
  events: () => import('./commands/events'),
  dlq: () => import('./commands/dlq'),
  bench: () => import('./commands/bench'),
  status: () => import('./commands/status'),
  simulate: () => import('./commands/simulate'),
  reconcile: () => import('./commands/reconcile'),
  evidence: () => import('./commands/evidence'),
};

function help(): string {
  return [
    'usage: qbl <command> [flags]',
    '',
    'commands:',
    ...Object.keys(COMMANDS).map((name) => `  ${name}`),
    '',
    'Run `qbl <command> --help` for a command\'s flags.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  // The service must not die on a SIGTERM that arrives while its modules are still loading.
  if (name === 'start') void trapStopSignals();
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`qbl: unknown command ${JSON.stringify(name)}\n${help()}\n`);
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
