/**
 * One redactor for every text that may hold a credential. A password may contain `@` (URL parsers
 * accept it unencoded: the last `@` ends the user-info) or `/`; `redact` must hide all of it, in `urlForLogs` (logged on every connection) and in
 * the one-line configuration error. No password fragment may ever reach a log line or an error.
 */
import { loadConfig } from '../../src/config/config';
import { redact } from '../../src/redact';
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
    expect(redact('amqp://qbl:pw@rabbit:5672/vh')).toBe('amqp://qbl:***@rabbit:5672/vh');
    expect(redact('amqp://rabbit:5672/vh')).toBe('amqp://rabbit:5672/vh');
  });

  it('removes a given URL\'s password (raw and percent-decoded) anywhere, and the user-info of any other URL', () => {
    const secrets = { urls: ['amqps://qbl:p%40ss%2Fword@mq:5671/prod'] };
    expect(redact('bad amqps://qbl:p%40ss%2Fword@mq:5671/prod and p@ss/word and p%40ss%2Fword', secrets))
      .toBe('bad amqps://qbl:***@mq:5671/prod and *** and ***');
    expect(redact('see http://admin:hunter2@other:15672/api', secrets)).toBe('see http://admin:***@other:15672/api');
  });

  it('removes other secrets (a search password, an API key), the longest first, and ignores ones too short to search for', () => {
    const secrets = { urls: ['https://elastic@es:9200'], values: ['hunter2', 'hunter2-and-more', 'ab', undefined] };
    expect(redact('auth hunter2-and-more failed; hunter2; about', secrets)).toBe('auth *** failed; ***; about');
  });
});
