/** Structured pino logs. Credentials never reach a log line: known secret paths are censored and URLs are redacted before logging. */
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password', '*.password', 'apiKey', '*.apiKey', 'url', '*.url', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization',
];

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'opensips-qbl' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
