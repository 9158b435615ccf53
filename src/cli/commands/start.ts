/** `qbl start`: the service, until SIGTERM or SIGINT. */
import type { CliCommand } from '../command';
import { parseFlags } from '../../flags';
import { releaseStopSignals, trapStopSignals } from '../stop-signals';
import { loadConfig } from '../../config/config';
import { retiredVariablesSet, unknownVariablesSet } from '../../config/variables';
import { createLogger } from '../../observability/logger';
import { Service } from '../../pipeline/service';

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
      const service = await Service.start({ config, logger });
      const signal = await stopSignal;
      logger.info({ signal }, 'shutting down');
      await service.close();
      return 0;
    } finally {
      releaseStopSignals();
    }
  },
};
