/** `qbl migrate-queue`: gives an existing queue the arguments the configuration declares, losing no message (docs/scaling.md). */
import { connectAmqp } from '../../../consumers/amqp/connection';
import { migrateQueue } from '../../../consumers/amqp/migrate';
import { loadConfig } from '../../config/config';
import { createLogger } from '../../observability/logger';
import { closeQuietly } from '../../dlq/connect';
import type { CliCommand } from '../command';
import { parseFlags } from '../../flags';
import { startProgress, type Progress } from '../progress';

const USAGE = `usage: qbl migrate-queue
  Redeclares QBL_QUEUE with the arguments this configuration needs (with ELASTICSEARCH_URL or
  OPENSEARCH_URL: x-single-active-consumer), moving its messages through <QBL_QUEUE>.migrating
  with publisher confirms. Stop every qbl start on the queue first. Safe to run again: killed
  midway, it loses nothing and resumes. See docs/scaling.md.`;

export const command: CliCommand = {
  name: 'migrate-queue',
  summary: 'Give an existing queue the arguments the configuration declares (e.g. single-active-consumer), losing no message.',
  usage: USAGE,
  async run(argv) {
    parseFlags(argv, {});
    const config = loadConfig();
    const logger = createLogger('warn');
    const model = await connectAmqp(config.amqp, logger, { connectionName: 'opensips-qbl-migrate-queue' });
    let bar: Progress | undefined;
    try {
      const result = await migrateQueue(model, config.topology, {
        moving: (from, to, messages) => {
          bar?.stop();
          bar = startProgress(`moving ${from} → ${to}`, messages);
        },
        moved: (count) => bar?.increment(count),
      });
      bar?.stop();
      process.stdout.write(result.alreadyMigrated && result.moved === 0
        ? `queue "${config.topology.queue}" already has the arguments this configuration declares; nothing to do\n`
        : `queue "${config.topology.queue}" redeclared with the arguments this configuration declares; ${result.moved} messages moved\n`);
      return 0;
    } catch (error) {
      bar?.stop();
      process.stderr.write(`qbl migrate-queue: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    } finally {
      await closeQuietly(model);
    }
  },
};
