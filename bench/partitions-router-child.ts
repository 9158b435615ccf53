/**
 * Child process of measureRouterCpu (bench/partitions.ts): the QBL_PARTITIONS router alone, on
 * the configuration in its environment, with no partition consumer. It prints `ready` once its
 * modules are loaded and its configuration read, starts routing on the first line read from
 * stdin, and closes on SIGTERM.
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/observability/logger';
import { callIdOf } from '../src/pipeline/partitioned';
import { Router } from '../consumers/amqp/router';

const config = loadConfig(process.env);
const router = new Router({
  amqp: config.amqp, topology: config.topology, intake: config.intake, partitions: config.partitions,
  logger: createLogger(process.env.LOG_LEVEL ?? 'warn'), connectionName: 'qbl-bench-router',
  // As the service's router reads the call id.
  callIdOf: (body) => callIdOf(body, config),
});
const input = createInterface({ input: process.stdin });
input.once('line', () => {
  router.start().catch((error: unknown) => {
    process.stderr.write(`router: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(1);
  });
});
process.once('SIGTERM', () => {
  input.close();
  void router.close().finally(() => process.exit(0));
});
process.stdout.write('ready\n');
