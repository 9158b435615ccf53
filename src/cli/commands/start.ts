/** `qbl start`: the service, until SIGTERM or SIGINT. */
import type { CliCommand } from '../command';
import { parseFlags } from '../args';
import { loadConfig } from '../../config/config';
import { createLogger } from '../../observability/logger';
import { Service } from '../../pipeline/service';

export const command: CliCommand = {
  name: 'start',
  summary: 'Consume OpenSIPS events from RabbitMQ and write CDRs (configuration from the environment; see README).',
  usage: 'usage: qbl start',
  async run(argv) {
    parseFlags(argv, {});
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const service = await Service.start({ config, logger });
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        logger.info({ signal }, 'shutting down');
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        service.close().then(resolve, resolve);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    return 0;
  },
};
