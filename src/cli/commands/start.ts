/** `qbl start`: the service, until SIGTERM or SIGINT. */
import type { CliCommand } from '../command';
import { parseFlags } from '../../flags';
import { releaseStopSignals, trapStopSignals } from '../stop-signals';
import { loadConfig } from '../../config/config';
import { retiredVariablesSet, unknownVariablesSet } from '../../config/variables';
import { createLogger } from '../../observability/logger';
import { Service } from '../../pipeline/service';
import { ConfigError, EXIT_QUEUE_TAKEN, QueueTakenError } from '../../errors';

export const command: CliCommand = {
  name: 'start',
  summary: 'Consume OpenSIPS events from RabbitMQ and write CDRs (configuration from the environment; see README).',
  usage: 'usage: qbl start',
  async run(argv) {
    const stopSignal = trapStopSignals();
    try {
      parseFlags(argv, {});
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      for (const retired of retiredVariablesSet(process.env)) logger.warn(retired, 'this variable no longer has an effect');
      for (const unknown of unknownVariablesSet(process.env)) logger.warn(unknown, 'unknown QBL_ variable: it has no effect (misspelt?)');
      let service: Service;
      try {
        service = await Service.start({ config, logger });
      } catch (error) {
        if (!(error instanceof QueueTakenError)) throw error;
        process.stderr.write(`qbl start: ${error.message}\n`);
        return EXIT_QUEUE_TAKEN;
      }
      const outcome = await Promise.race([stopSignal, service.fatal]);
      if (outcome instanceof ConfigError) {
        // QBL_PARTITIONS differs from an older instance's: stop (after the in-flight batches) rather than split calls.
        await service.close();
        throw outcome;
      }
      if (outcome instanceof QueueTakenError) {
        await service.close();
        process.stderr.write(`qbl start: ${outcome.message}\n`);
        return EXIT_QUEUE_TAKEN;
      }
      logger.info({ signal: outcome }, 'shutting down');
      await service.close();
      return 0;
    } finally {
      releaseStopSignals();
    }
  },
};
