import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, DEFAULT_AMQP_URL } from '../../src/config/config';
import { ConfigError } from '../../src/errors';
import { main } from '../../src/cli/main';

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  test('defaults are the documented ones', () => {
    const config = loadConfig({});
    expect(config.amqp.url).toBe(DEFAULT_AMQP_URL);
    expect(config.amqp.urlForLogs).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(config.topology).toEqual({
      exchange: 'opensips', queue: 'qbl.events', queueType: 'quorum', bindingKey: '#', deliveryLimit: 10,
      deadLetterExchange: 'qbl.events.dlx', deadLetterQueue: 'qbl.events.dead', consumers: 'exclusive',
    });
    expect(config.sqlitePath).toBe('./data/qbl.db');
    expect(config.correlator).toMatchObject({ setupTimeoutUs: 300e6, maxCallDurationUs: 14_400e6, byeGraceUs: 5e6 });
    expect(config.decoder.eventNames.get('E_QBL_INVITE_REPLY')).toBe('invite_reply');
    expect(config.search).toBeUndefined();
    expect(config.http).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test.each([
    [{ AMQP_URL: 'http://x' }, 'AMQP_URL: expected an amqp:// or amqps:// URL'],
    [{ QBL_QUEUE_TYPE: 'stream' }, 'QBL_QUEUE_TYPE: expected one of quorum, classic, got "stream"'],
    [{ QBL_PREFETCH: '0' }, 'QBL_PREFETCH: expected an integer from 1 to 65535, got "0"'],
    [{ QBL_PREFETCH: '10', QBL_BATCH_SIZE: '20' }, 'QBL_BATCH_SIZE: expected at most QBL_PREFETCH (10), got "20"'],
    [{ QBL_SETUP_TIMEOUT_S: '5m' }, 'QBL_SETUP_TIMEOUT_S: expected an integer from 1 to 86400, got "5m"'],
    [{ QBL_QUEUE: 'has space' }, 'QBL_QUEUE: expected a name of letters'],
    [{ QBL_EVENT_MAP: 'E_X=call' }, 'QBL_EVENT_MAP: expected EVENT=KIND pairs'],
    [{ QBL_EVENT_MAP: 'E_X' }, 'QBL_EVENT_MAP: expected comma-separated NAME=VALUE pairs'],
    [{ QBL_ATTRIBUTE_MAP: 'callid=call_id' }, 'QBL_ATTRIBUTE_MAP: expected OURS=THEIRS pairs'],
    [{ ELASTICSEARCH_URL: 'http://a:9200', OPENSEARCH_URL: 'http://b:9200' }, 'ELASTICSEARCH_URL: expected either'],
    [{ OPENSEARCH_URL: 'ftp://b' }, 'OPENSEARCH_URL: expected an http:// or https:// URL'],
    [{ QBL_INDEX_PREFIX: 'Upper', ELASTICSEARCH_URL: 'http://a:9200' }, 'QBL_INDEX_PREFIX: expected lower-case'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: expected one of'],
    [{ AMQP_CA_FILE: '/nonexistent/ca.pem' }, 'AMQP_CA_FILE: expected a readable file'],
  ])('%j fails naming the option', (env, message) => {
    expect(failure(env).message.startsWith(message)).toBe(true);
  });

  test('the AMQP heartbeat: 30 s, 10 s with partitions (a cut-off owner\'s locks go within 30 s), an explicit value always wins', () => {
    const search = { OPENSEARCH_URL: 'http://127.0.0.1:9200' };
    expect(loadConfig({}).amqp.heartbeatS).toBe(30);
    expect(loadConfig({ ...search }).amqp.heartbeatS).toBe(30);
    expect(loadConfig({ ...search, QBL_PARTITIONS: '1' }).amqp.heartbeatS).toBe(30);
    expect(loadConfig({ ...search, QBL_PARTITIONS: '8' }).amqp.heartbeatS).toBe(10);
    expect(loadConfig({ ...search, QBL_PARTITIONS: '8', AMQP_HEARTBEAT_S: '30' }).amqp.heartbeatS).toBe(30);
    expect(loadConfig({ ...search, QBL_PARTITIONS: '8', AMQP_HEARTBEAT_S: '0' }).amqp.heartbeatS).toBe(0);
    expect(loadConfig({ AMQP_HEARTBEAT_S: '5' }).amqp.heartbeatS).toBe(5);
    expect(failure({ AMQP_HEARTBEAT_S: '-1' }).message.startsWith('AMQP_HEARTBEAT_S: expected an integer from 0 to 3600')).toBe(true);
  });

  test('a ConfigError carries its parts as fields, so nobody parses its message', () => {
    const error = failure({ AMQP_CA_FILE: '/nonexistent/ca.pem' });
    expect(error).toMatchObject({ option: 'AMQP_CA_FILE', expected: 'a readable file', got: '/nonexistent/ca.pem', reason: 'ENOENT' });
    expect(error.message).toBe('AMQP_CA_FILE: expected a readable file, got "/nonexistent/ca.pem (ENOENT)"');
    expect(failure({ QBL_PREFETCH: '0' })).toMatchObject({ option: 'QBL_PREFETCH', got: '0', reason: undefined });
  });

  test('a password never appears in a configuration error', () => {
    const error = failure({ AMQP_URL: 'http://user:s3cret-pw@host' });
    expect(error.message).not.toContain('s3cret-pw');
    expect(error.message).toContain('user:***@host');
  });

  test('event and attribute maps add to the spec defaults', () => {
    const config = loadConfig({ QBL_EVENT_MAP: 'E_MY_CALL=auto, E_MY_BYE=bye_request', QBL_ATTRIBUTE_MAP: 'call_id=callid' });
    expect(config.decoder.eventNames.get('E_MY_CALL')).toBe('auto');
    expect(config.decoder.eventNames.get('E_MY_BYE')).toBe('bye_request');
    expect(config.decoder.eventNames.get('E_QBL_BYE_REQUEST')).toBe('bye_request');
    expect(config.decoder.attributeNames.call_id).toBe('callid');
    expect(config.decoder.attributeNames.caller_id).toBe('caller_id');
  });

  test('secrets can come from *_FILE variables, but not from both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qbl-config-'));
    try {
      const file = join(dir, 'amqp-url');
      writeFileSync(file, 'amqps://qbl:from-a-file@broker:5671\n');
      const config = loadConfig({ AMQP_URL_FILE: file });
      expect(config.amqp.url).toBe('amqps://qbl:from-a-file@broker:5671');
      expect(config.amqp.urlForLogs).toBe('amqps://qbl:***@broker:5671');
      expect(failure({ AMQP_URL_FILE: file, AMQP_URL: 'amqp://x' }).message).toContain('either AMQP_URL or AMQP_URL_FILE');
      expect(failure({ AMQP_URL_FILE: join(dir, 'missing') }).message).toContain('AMQP_URL_FILE: expected a readable file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('qbl start with a bad option prints one line naming it and exits 78', async () => {
    const saved = process.env.QBL_QUEUE_TYPE;
    process.env.QBL_QUEUE_TYPE = 'lazy';
    const lines: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((text) => {
      lines.push(String(text));
      return true;
    });
    try {
      expect(await main(['start'])).toBe(78);
    } finally {
      spy.mockRestore();
      if (saved === undefined) delete process.env.QBL_QUEUE_TYPE;
      else process.env.QBL_QUEUE_TYPE = saved;
    }
    expect(lines.join('')).toBe('qbl start: configuration error: QBL_QUEUE_TYPE: expected one of quorum, classic, got "lazy"\n');
  });
});
