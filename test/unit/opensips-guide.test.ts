/**
 * docs/opensips.md and the decoder share one source of truth: every event the guide's script
 * raises or subscribes, every attribute it sets, and every exchange and routing key in its
 * subscription URIs must be what the service expects by default.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventMapping } from '../../consumers/decode/options';
import { DEFAULT_ATTRIBUTE_NAMES, DEFAULT_EVENT_NAMES } from '../../consumers/decode/options';
import { loadConfig } from '../../src/config/config';

const GUIDE = readFileSync(join(__dirname, '..', '..', 'docs', 'opensips.md'), 'utf8');
const BLOCKS = [...GUIDE.matchAll(/```opensips\n([\s\S]*?)```/g)].map((match) => match[1]!);
const SCRIPT = BLOCKS.join('\n');
const DEFAULTS = loadConfig({}).topology;

/** AMQP topic matching: `*` is one word, `#` zero or more. */
function topicMatches(bindingKey: string, routingKey: string): boolean {
  const match = (b: string[], r: string[]): boolean => {
    if (b.length === 0) return r.length === 0;
    const [head, ...rest] = b;
    if (head === '#') return match(rest, r) || (r.length > 0 && match(b, r.slice(1)));
    return r.length > 0 && (head === '*' || head === r[0]) && match(rest, r.slice(1));
  };
  return match(bindingKey.split('.'), routingKey.split('.'));
}

interface Raise { name: string; keys: string[]; values: number; clockReads: number; args: string }

/** Each raise_event with what its route set since the AVPs were last emptied. */
function raises(): Raise[] {
  const found: Raise[] = [];
  const pattern = /raise_event\(\s*"([^"]+)"(.*?)\);/g;
  let from = 0;
  for (const match of SCRIPT.matchAll(pattern)) {
    const chunk = SCRIPT.slice(from, match.index);
    const route = chunk.slice(chunk.lastIndexOf('$avp(qbl_keys) := NULL'));
    const clockFrom = chunk.slice(0, chunk.lastIndexOf('$avp(qbl_keys) := NULL'));
    const routeStart = clockFrom.slice(Math.max(clockFrom.lastIndexOf('route['), 0));
    found.push({
      name: match[1]!,
      keys: [...route.matchAll(/\$avp\(qbl_keys\)\s*=\s*"([^"]+)"/g)].map((key) => key[1]!),
      values: [...route.matchAll(/\$avp\(qbl_vals\)\s*=\s*[^;]+;/g)].length,
      clockReads: [...routeStart.matchAll(/get_accurate_time\(/g)].length,
      args: match[2]!,
    });
    from = match.index + match[0].length;
  }
  return found;
}

const REQUIRED: Partial<Record<EventMapping, string[]>> = {
  invite_request: ['call_id', 'method', 'request_time', 'microseconds', 'caller_id', 'callee_id'],
  invite_reply: ['call_id', 'method', 'reply_code', 'reply_time', 'microseconds'],
  bye_request: ['call_id', 'method', 'request_time', 'microseconds', 'direction'],
  bye_reply: ['call_id', 'method', 'reply_code', 'reply_time', 'microseconds'],
};

describe('docs/opensips.md', () => {
  it('has the script excerpt and both subscription syntaxes', () => {
    expect(BLOCKS.length).toBeGreaterThanOrEqual(4);
    expect(raises().length).toBeGreaterThanOrEqual(5);
  });

  it('raises exactly the four quick-billing-log events, under the decoder default names', () => {
    const names = new Set(raises().map((r) => r.name));
    const qblNames = [...DEFAULT_EVENT_NAMES].filter(([, kind]) => kind in REQUIRED).map(([name]) => name);
    expect([...names].sort()).toEqual(qblNames.sort());
  });

  it('sets only attribute names the decoder reads, and every one each event needs', () => {
    const known = new Set(Object.values(DEFAULT_ATTRIBUTE_NAMES));
    for (const raise of raises()) {
      const kind = DEFAULT_EVENT_NAMES.get(raise.name)!;
      for (const key of raise.keys) expect({ event: raise.name, key, known: known.has(key) }).toEqual({ event: raise.name, key, known: true });
      const needed = REQUIRED[kind]!.map((ours) => DEFAULT_ATTRIBUTE_NAMES[ours as keyof typeof DEFAULT_ATTRIBUTE_NAMES]);
      expect({ event: raise.name, missing: needed.filter((key) => !raise.keys.includes(key)) }).toEqual({ event: raise.name, missing: [] });
    }
  });

  it('pairs every name with a value, passes both AVPs, and reads the clock once per event', () => {
    for (const raise of raises()) {
      expect({ event: raise.name, values: raise.values }).toEqual({ event: raise.name, values: raise.keys.length });
      expect(raise.args.replace(/\s/g, '')).toBe(',$avp(qbl_keys),$avp(qbl_vals)');
      expect({ event: raise.name, clockReads: raise.clockReads }).toEqual({ event: raise.name, clockReads: 1 });
    }
  });

  it('raises the proxy\'s own 408 from a failure_route and INVITE replies from an onreply_route', () => {
    expect(SCRIPT).toMatch(/failure_route\[qbl_invite_failure\][\s\S]*t_local_replied\("last"\)[\s\S]*route\(qbl_local_timeout\)/);
    expect(SCRIPT).toMatch(/onreply_route\[qbl_invite_reply\][^}]*?get_accurate_time/);
    expect(SCRIPT).toContain('t_on_reply("qbl_invite_reply")');
    expect(SCRIPT).toContain('t_on_failure("qbl_invite_failure")');
    expect(SCRIPT).toContain('t_on_reply("qbl_bye_reply")');
  });

  it('names the acc extras as the decoder reads them and enables the evi backend', () => {
    const extras = /modparam\("acc",\s*"extra_fields",\s*"evi:([^"]+)"\)/.exec(SCRIPT);
    expect(extras).not.toBeNull();
    const names = extras![1]!.split(';').map((field) => field.split('->').pop()!.trim());
    expect(names.sort()).toEqual([DEFAULT_ATTRIBUTE_NAMES.callee_id, DEFAULT_ATTRIBUTE_NAMES.caller_id].sort());
    expect(SCRIPT).toMatch(/do_accounting\("evi",\s*"cdr\|missed"\)/);
  });

  describe('subscriptions', () => {
    const subscriptions = [...SCRIPT.matchAll(/subscribe_event\(\s*"([^"]+)",\s*"([^"]+)"\s*\)/g)]
      .map((match) => ({ event: match[1]!, uri: match[2]! }));
    // 2.1–3.1: /exchange?key ; 3.2+: /exchange=NAME[;flag…]?key
    const OLD = /^rabbitmq:(?:[^@/]+@)?[^/@]+\/([^=?;/]+)\?([^?]+)$/;
    const NEW = /^rabbitmq:(?:[^@/]+@)?[^/@]+\/((?:[a-z_]+(?:=[^;?]*)?;?)+)\?([^?]+)$/;

    it('subscribes every raised event and every acc event, in both syntaxes', () => {
      const raised = new Set(raises().map((r) => r.name));
      const acc = [...DEFAULT_EVENT_NAMES].filter(([, kind]) => kind.startsWith('acc_')).map(([name]) => name);
      for (const event of [...raised, ...acc]) {
        const uris = subscriptions.filter((s) => s.event === event).map((s) => s.uri);
        expect({ event, old: uris.some((u) => OLD.test(u)), new: uris.some((u) => NEW.test(u) && u.includes('exchange=')) })
          .toEqual({ event, old: true, new: true });
      }
      for (const { event } of subscriptions) expect(DEFAULT_EVENT_NAMES.has(event)).toBe(true);
    });

    it('points at the default exchange with routing keys the default binding key delivers', () => {
      expect(subscriptions.length).toBeGreaterThanOrEqual(14);
      for (const { uri } of subscriptions) {
        const old = OLD.exec(uri);
        const params = old ? null : NEW.exec(uri);
        expect({ uri, parsed: old !== null || params !== null }).toEqual({ uri, parsed: true });
        const exchange = old ? old[1] : /(?:^|;)exchange=([^;]+)/.exec(params![1]!)?.[1];
        const routingKey = (old ?? params)![2]!;
        expect({ uri, exchange }).toEqual({ uri, exchange: DEFAULTS.exchange });
        expect({ uri, delivered: topicMatches(DEFAULTS.bindingKey, routingKey) }).toEqual({ uri, delivered: true });
      }
    });

    it('topicMatches follows AMQP topic rules (the check above depends on it)', () => {
      expect(topicMatches('#', 'qbl.invite.reply')).toBe(true);
      expect(topicMatches('qbl.*', 'qbl.invite.reply')).toBe(false);
      expect(topicMatches('qbl.#', 'qbl.invite.reply')).toBe(true);
      expect(topicMatches('acc.*', 'acc.cdr')).toBe(true);
    });
  });
});
