/** `qbl migrate-queue`: gives an existing queue the arguments the configuration declares, losing no message (docs/scaling.md). */
import { connectAmqp } from '../../../consumers/amqp/connection';
import { migrateQueue } from '../../../consumers/amqp/migrate';
import { migratePartitions } from '../../../consumers/amqp/migrate-partitions';
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
      const progress = {
        moving: (from: string, to: string, messages: number) => {
          bar?.stop();
          bar = startProgress(`moving ${from} → ${to}`, messages);
        },
        moved: (count: number) => bar?.increment(count),
      };
      const result = await migrateQueue(model, config.topology, progress);
      // Partitions of another QBL_PARTITIONS: their messages back to the queue, where the new P routes them (docs/scaling.md).
      const partitions = await migratePartitions(model, config.topology, config.partitions, progress);
      bar?.stop();
      if (partitions.removed > 0) {
        process.stdout.write(`${partitions.removed} partition queues of another QBL_PARTITIONS moved back to "${config.topology.queue}" and deleted; ${partitions.moved} messages moved\n`);
      }
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
