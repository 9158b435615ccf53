/**
 * The operator's loop: events the service cannot map are dead-lettered with the reason; the
 * operator adds the event-name mapping, replays the dead-letter queue, and gets the CDR —
 * once, even when a message is replayed twice.
 */
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { main } from '../../src/cli/main';
import { DEAD_LETTER_HEADERS } from '../../consumers/amqp/headers';
import { encodeJsonRpc } from '../../src/simulator/opensips-wire';
import { silentLogger, waitUntil } from '../support/rabbit';
import { serviceEnv } from '../support/service-env';
import { integrationFixture } from '../support/fixture';

const T = 1_795_000_000;
const CALL = 'renamed-events@10.9.8.7';

/** A deployment that raises one event name for everything (the kind follows from method and reply_code). */
function renamedCall(): Buffer[] {
  const common: Array<[string, string | number]> = [['call_id', CALL], ['caller_id', '+4930123456'], ['callee_id', '+4940654321']];
  return [
    encodeJsonRpc('E_MY_CALL', [...common, ['method', 'INVITE'], ['request_time', T], ['microseconds', 10]]),
    encodeJsonRpc('E_MY_CALL', [...common, ['method', 'INVITE'], ['reply_code', 200], ['reply_time', T + 3], ['microseconds', 20]]),
    encodeJsonRpc('E_MY_CALL', [...common, ['method', 'BYE'], ['direction', 'upstream'], ['request_time', T + 30], ['microseconds', 30]]),
    encodeJsonRpc('E_MY_CALL', [...common, ['method', 'BYE'], ['reply_code', 200], ['reply_time', T + 30], ['microseconds', 40]]),
  ];
}

describe('dead letters: fix the configuration, replay, get the CDR', () => {
  const f = integrationFixture('dlq-fix');
  const savedEnv = { ...process.env };
  afterAll(() => { process.env = savedEnv; });

  test('unknown events are dead-lettered, then a mapping plus a replay (twice) yields exactly one CDR', async () => {
    const env = serviceEnv(f.dir, 'dlqfix');
    const before = loadConfig(env);
    f.admin.track(before.topology);

    let service = await Service.start({ config: before, logger: silentLogger() });
    await f.admin.publish(before.topology.exchange, 'opensips.calls', renamedCall());
    await waitUntil(async () => (await f.admin.depth(before.topology.deadLetterQueue)) === 4, 'four dead letters');
    await service.close();

    // Duplicate one dead letter, as an interrupted replay or a crash between confirm and ack would.
    const [first] = await f.admin.withChannel(async (ch) => {
      const message = await ch.get(before.topology.deadLetterQueue, { noAck: false });
      if (message === false) throw new Error('empty DLQ');
      ch.nack(message, false, true);
      return [message];
    });
    expect(first!.properties.headers![DEAD_LETTER_HEADERS.reason]).toBe('decode.unknown_event');
    expect(String(first!.properties.headers![DEAD_LETTER_HEADERS.detail])).toContain('E_MY_CALL');
    await f.admin.publish(before.topology.deadLetterExchange, 'opensips.calls', [first!.content], { headers: first!.properties.headers, persistent: true });

    const fixed = loadConfig({ ...env, QBL_EVENT_MAP: 'E_MY_CALL=auto' });
    service = await Service.start({ config: fixed, logger: silentLogger() });
    try {
      process.env = { ...savedEnv, ...env };
      const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      let code: number;
      try {
        code = await main(['dlq', 'replay']);
      } finally {
        stderr.mockRestore();
        stdout.mockRestore();
      }
      expect(code).toBe(0);
      expect(await f.admin.depth(fixed.topology.deadLetterQueue)).toBe(0);
      await waitUntil(() => service.pipeline.stats.messages === 5 && service.pipeline.correlator.openCallCount === 0, 'the replayed events');
    } finally {
      await service.close();
    }

    const reader = SqliteReader.open(fixed.sqlitePath);
    try {
      const cdrs = await reader.searchCdrs({ limit: 10 });
      expect(cdrs).toHaveLength(1);
      expect(cdrs[0]!.cdr).toMatchObject({
        call_id: CALL, caller: '+4930123456', callee: '+4940654321', disposition: 'answered', final_code: 200,
        talk_us: 27_000_010, hangup_by: 'callee', bye_code: 200, complete: true, events: 4,
      });
      expect(await reader.eventsForCall(CALL)).toHaveLength(4);
    } finally {
      await reader.close();
    }
  });
});
