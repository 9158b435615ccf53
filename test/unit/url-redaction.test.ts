/**
 * A password may contain `@` (URL parsers accept it unencoded: the last `@` ends the user-info)
 * or `/`; `redactUrl` must hide all of it, in `urlForLogs` (logged on every connection) and in
 * the one-line configuration error. No password fragment may ever reach a log line or an error.
 */
import { loadConfig } from '../../src/config/config';
import { redactUrl } from '../../src/config/env';
import { ConfigError } from '../../src/errors';

const FRAGMENT = 'Zq9secret';

/** The text the service would print for this configuration: the URL for logs, or the error line. */
function printed(env: Record<string, string>, read: (c: ReturnType<typeof loadConfig>) => string): string {
  try {
    return read(loadConfig(env));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe('review: credentials never printed, whatever characters the password has', () => {
  it.each([
    ['@ in the password (accepted by the URL parser)', `amqp://qbl:p@${FRAGMENT}@rabbit:5672/`],
    ['/ in the password (rejected, quoted in the error)', `amqp://qbl:p/${FRAGMENT}@rabbit:5672/`],
  ])('AMQP_URL with %s', (_what, url) => {
    const text = printed({ AMQP_URL: url }, (c) => c.amqp.urlForLogs);
    expect(text).not.toContain(FRAGMENT);
    expect(text).toContain('rabbit');
  });

  it.each([
    ['@ in the password', `https://elastic:p@${FRAGMENT}@es:9200`],
    ['/ in the password', `https://elastic:p/${FRAGMENT}@es:9200`],
  ])('ELASTICSEARCH_URL with %s', (_what, url) => {
    const text = printed({ ELASTICSEARCH_URL: url }, (c) => c.search!.urlForLogs);
    expect(text).not.toContain(FRAGMENT);
  });

  it('still keeps what is safe to show', () => {
    expect(redactUrl('amqp://qbl:pw@rabbit:5672/vh')).toBe('amqp://qbl:***@rabbit:5672/vh');
    expect(redactUrl('amqp://rabbit:5672/vh')).toBe('amqp://rabbit:5672/vh');
  });
});
