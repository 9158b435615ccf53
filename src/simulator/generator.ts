/**
 * `generateTraffic`: N simulated calls as OpenSIPS would publish them (bodies and routing keys),
 * the disorder real traffic has, and the CDR the service must produce for each call. Pure apart
 * from the default start time: the CLI, the benchmark and end-to-end tests all use it.
 */
import type { Cdr } from '../../correlators/cdr';
import type { EventKind } from '../../correlators/events';
import { callEvents } from './call-events';
import { modelCall, OUTCOMES, type CallModel, type CallModelOptions, type ForcedOutcome, type Outcome, type SimEvent } from './call-model';
import { applyDisorder, compareSends, inProgressCutUs, type CallDisorder, type DisorderOptions, type Send } from './disorder';
import { encodeJsonRpc, encodeText, type WireParams } from './opensips-wire';
import { expectedCdr } from './oracle';
import { Random } from './random';

export type WireFormat = 'json' | 'text' | 'mixed';
export const WIRE_FORMATS: readonly WireFormat[] = ['json', 'text', 'mixed'];

export interface TrafficOptions extends CallModelOptions, DisorderOptions {
  readonly calls: number;
  /** Mean call arrivals per second of simulated time (Poisson). */
  readonly cps: number;
  /** At most this many calls in flight in the simulated timeline; later arrivals wait. */
  readonly concurrency: number;
  /** `json`: 3.1.1+ JSON-RPC; `text`: 2.1–3.0 text; `mixed`: either, per event. acc events are always JSON-RPC. */
  readonly format: WireFormat;
  /** Also raise the acc module's E_ACC_CDR / E_ACC_EVENT / E_ACC_MISSED_EVENT. */
  readonly acc: boolean;
  readonly seed: number;
  /** The service's start: the first call arrives after it; in-progress calls straddle it. */
  readonly startTimeUs: number;
  /** Routing key per event: `<prefix>.qbl.invite.request`, `<prefix>.acc.cdr`, … */
  readonly routingKeyPrefix: string;
  /** Probability that a call is already in progress at the start (its first events are never published). */
  readonly inProgressRate: number;
  /**
   * Calls whose parties, start and outcome are fixed instead of drawn (the lookup's scenarios):
   * `calls` is then the plan's length, and the arrivals are the plan's.
   */
  readonly plan?: readonly PlannedCall[];
}

export interface PlannedCall extends ForcedOutcome {
  readonly caller: string;
  readonly callee: string;
  /** The INVITE, seconds after the start. */
  readonly atS: number;
}

export const DEFAULT_TRAFFIC_OPTIONS: Readonly<Omit<TrafficOptions, 'startTimeUs'>> = Object.freeze({
  calls: 1000,
  cps: 10,
  concurrency: 1000,
  format: 'json',
  acc: false,
  seed: 1,
  routingKeyPrefix: 'opensips',
  answerRate: 0.6,
  provisionalRate: 1,
  retransmitRate: 0.05,
  talkMeanS: 120,
  maxTalkS: 3600,
  ringTimeoutS: 30,
  duplicateRate: 0.01,
  reorderRate: 0.06,
  lossRate: 0,
  inProgressRate: 0,
});

const RATE_OPTIONS = ['answerRate', 'provisionalRate', 'retransmitRate', 'duplicateRate', 'reorderRate', 'lossRate', 'inProgressRate'] as const;

/** Fills defaults and range-checks every option (RangeError naming the option). */
export function resolveTrafficOptions(partial: Partial<TrafficOptions> = {}): TrafficOptions {
  const options: TrafficOptions = { ...DEFAULT_TRAFFIC_OPTIONS, startTimeUs: Date.now() * 1000, ...partial };
  const check = (name: keyof TrafficOptions, ok: boolean, expected: string) => {
    if (!ok) throw new RangeError(`${name}: expected ${expected}, got ${JSON.stringify(options[name])}`);
  };
  for (const name of RATE_OPTIONS) check(name, options[name] >= 0 && options[name] <= 1, 'a rate from 0 to 1');
  check('calls', Number.isSafeInteger(options.calls) && options.calls >= 0, 'an integer ≥ 0');
  check('cps', Number.isFinite(options.cps) && options.cps > 0, 'a number > 0');
  check('concurrency', Number.isSafeInteger(options.concurrency) && options.concurrency >= 1, 'an integer ≥ 1');
  check('format', WIRE_FORMATS.includes(options.format), WIRE_FORMATS.join(', '));
  check('seed', Number.isSafeInteger(options.seed), 'an integer');
  check('startTimeUs', Number.isSafeInteger(options.startTimeUs) && options.startTimeUs > 0, 'integer microseconds since the epoch');
  check('talkMeanS', options.talkMeanS >= 1 && options.talkMeanS <= options.maxTalkS, 'from 1 to maxTalkS');
  check('maxTalkS', Number.isFinite(options.maxTalkS) && options.maxTalkS >= 1, 'a number ≥ 1');
  check('ringTimeoutS', options.ringTimeoutS >= 3 && options.ringTimeoutS <= 600, 'from 3 to 600 seconds');
  check('routingKeyPrefix', /^[A-Za-z0-9_.:-]{1,200}$/.test(options.routingKeyPrefix), 'letters, digits, `_.:-`');
  return Object.freeze(options);
}

export interface TrafficMessage {
  readonly routingKey: string;
  readonly body: Buffer;
  readonly callId: string;
  readonly eventName: string;
  /** The event's own time (the order OpenSIPS raised it in, not the publish order). */
  readonly timeUs: number;
  /** A second publish of a body already sent. */
  readonly duplicate: boolean;
}

export interface SimulatedCall {
  readonly model: CallModel;
  readonly startUs: number;
  readonly inProgress: boolean;
  /** Everything the call raised, including what happened before the start. */
  readonly events: readonly SimEvent[];
  readonly disorder: CallDisorder;
  /** Null when nothing of the call but acc events (or nothing at all) was published. */
  readonly expected: Cdr | null;
}

export interface TrafficSummary {
  readonly seed: number;
  readonly calls: number;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** Distinct events published (after loss and the in-progress cut; duplicates not counted). */
  readonly publishedEvents: number;
  readonly accEvents: number;
  readonly messages: number;
  readonly duplicates: number;
  readonly lost: number;
  /** Events of in-progress calls that happened before the start. */
  readonly beforeStart: number;
  readonly reorderedCalls: number;
  readonly inProgressCalls: number;
  readonly expectedCdrs: number;
  readonly firstEventUs: number | null;
  readonly lastEventUs: number | null;
}

export interface Traffic {
  readonly options: TrafficOptions;
  /** In publish order. */
  readonly messages: TrafficMessage[];
  /** One per call that has a quick-billing-log event published, in call order. */
  readonly expected: Cdr[];
  readonly calls: SimulatedCall[];
  readonly summary: TrafficSummary;
}

export const EVENT_NAMES: Readonly<Record<EventKind, string>> = Object.freeze({
  invite_request: 'E_QBL_INVITE_REQUEST',
  invite_reply: 'E_QBL_INVITE_REPLY',
  bye_request: 'E_QBL_BYE_REQUEST',
  bye_reply: 'E_QBL_BYE_REPLY',
  acc_cdr: 'E_ACC_CDR',
  acc_event: 'E_ACC_EVENT',
  acc_missed: 'E_ACC_MISSED_EVENT',
});

/** One subscription per event name, as an operator would set them: `E_QBL_BYE_REPLY` → `<prefix>.qbl.bye.reply`. */
export function routingKeyFor(prefix: string, eventName: string): string {
  return `${prefix}.${eventName.replace(/^E_/, '').toLowerCase().replace(/_/g, '.')}`;
}

export function generateTraffic(partial: Partial<TrafficOptions> = {}): Traffic {
  const options = resolveTrafficOptions(partial);
  const root = new Random(options.seed);
  const arrivals = root.derive('arrivals');
  const pool = new NumberPool(root.derive('numbers'));
  const inFlightEndsUs = new MinHeap();
  let arrivalUs = options.startTimeUs;

  const calls: SimulatedCall[] = [];
  const allSends: Array<{ send: Send; call: number }> = [];
  const callCount = options.plan?.length ?? options.calls;
  for (let index = 0; index < callCount; index++) {
    const rng = root.derive('call', index);
    const parties = rng.derive('parties');
    const planned = options.plan?.[index];
    const caller = pool.render(parties);
    const callee = pool.render(parties);
    const model = planned === undefined
      ? modelCall(rng, index, caller, callee, options)
      : modelCall(rng, index, planned.caller, planned.callee, options, planned);
    let startUs: number | null = planned === undefined ? null : options.startTimeUs + Math.round(planned.atS * 1_000_000);
    if (planned === undefined && rng.derive('in-progress').chance(options.inProgressRate)) {
      const offsets = callEvents(model, 0, options.acc).map((e) => e.timeUs);
      const cutUs = inProgressCutUs(rng.derive('cut'), offsets);
      if (cutUs !== null) startUs = options.startTimeUs - cutUs;
    }
    const inProgress = planned === undefined && startUs !== null;
    if (startUs === null) {
      arrivalUs += Math.max(1, Math.round(arrivals.exponential(1_000_000 / options.cps)));
      while (inFlightEndsUs.size >= options.concurrency) arrivalUs = Math.max(arrivalUs, inFlightEndsUs.pop()! + 1);
      startUs = arrivalUs;
      inFlightEndsUs.push(startUs + model.durationUs);
    }
    const events = callEvents(model, startUs, options.acc);
    const raised = inProgress ? events.filter((e) => e.timeUs >= options.startTimeUs) : events;
    const disorder = applyDisorder(rng.derive('disorder'), raised, options);
    const expected = expectedCdr(model.callId, disorder.sends.map((s) => s.event));
    calls.push({ model, startUs, inProgress, events, disorder, expected });
    for (const send of disorder.sends) allSends.push({ send, call: index });
  }

  // Stable sort: same key → call order, then the call's own order.
  allSends.sort((a, b) => compareSends(a.send, b.send) || a.call - b.call);
  const messages = encodeAll(allSends, calls, options);
  return { options, messages, expected: calls.flatMap((c) => (c.expected ? [c.expected] : [])), calls, summary: summarize(options, calls, messages) };
}

function encodeAll(sends: ReadonlyArray<{ send: Send; call: number }>, calls: readonly SimulatedCall[], options: TrafficOptions): TrafficMessage[] {
  // One body per distinct event, so a duplicate is byte-for-byte the same message.
  const bodies = new Map<SimEvent, Buffer>();
  const wireRngs = new Map<number, Random>();
  const routingKeys = new Map(Object.values(EVENT_NAMES).map((name) => [name, routingKeyFor(options.routingKeyPrefix, name)]));
  return sends.map(({ send, call }) => {
    const { model } = calls[call]!;
    const eventName = EVENT_NAMES[send.event.kind];
    let body = bodies.get(send.event);
    if (!body) {
      let wire = wireRngs.get(call);
      if (!wire) wireRngs.set(call, (wire = new Random(options.seed).derive('call', call, 'wire')));
      body = encodeEvent(wire, eventName, model.callId, send.event, options.format);
      bodies.set(send.event, body);
    }
    return {
      routingKey: routingKeys.get(eventName)!,
      body, callId: model.callId, eventName, timeUs: send.event.timeUs, duplicate: send.duplicate,
    };
  });
}

/** The parameters in the script's assignment order (JSON-RPC lists them reversed, as OpenSIPS does). */
export function qblParams(callId: string, event: SimEvent, replyCodeAsString = false): WireParams {
  const method = event.kind.startsWith('invite') ? 'INVITE' : 'BYE';
  const seconds = Math.floor(event.timeUs / 1_000_000);
  const microseconds = event.timeUs - seconds * 1_000_000;
  if (event.kind === 'invite_request' || event.kind === 'bye_request') {
    return [
      ['method', method], ['call_id', callId], ['caller_id', event.caller], ['callee_id', event.callee],
      ['direction', event.direction], ['request_time', seconds], ['microseconds', microseconds],
    ];
  }
  const code = event.replyCode!;
  return [
    ['method', method], ['direction', event.direction], ['call_id', callId], ['caller_id', event.caller],
    ['callee_id', event.callee], ['reply_time', seconds], ['microseconds', microseconds],
    // `$rs` is a string pseudo-variable: some scripts publish it as such.
    ['reply_code', replyCodeAsString ? String(code) : code],
  ];
}

function encodeEvent(rng: Random, eventName: string, callId: string, event: SimEvent, format: WireFormat): Buffer {
  if (event.accParams) return encodeJsonRpc(eventName, [...event.accParams].reverse());
  const json = format === 'json' || (format === 'mixed' && rng.chance(0.5));
  if (!json) return encodeText(eventName, qblParams(callId, event));
  return encodeJsonRpc(eventName, qblParams(callId, event, rng.chance(0.3)));
}

function summarize(options: TrafficOptions, calls: readonly SimulatedCall[], messages: readonly TrafficMessage[]): TrafficSummary {
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  let publishedEvents = 0; let accEvents = 0; let duplicates = 0; let lost = 0; let beforeStart = 0;
  let reorderedCalls = 0; let inProgressCalls = 0; let expectedCdrs = 0;
  let firstEventUs: number | null = null; let lastEventUs: number | null = null;
  for (const call of calls) {
    outcomes[call.model.outcome] += 1;
    publishedEvents += call.disorder.published.length;
    accEvents += call.disorder.published.filter((e) => e.accParams !== null).length;
    duplicates += call.disorder.duplicates;
    lost += call.disorder.lost;
    if (call.inProgress) {
      inProgressCalls += 1;
      beforeStart += call.events.filter((e) => e.timeUs < options.startTimeUs).length;
    }
    if (call.disorder.reordered) reorderedCalls += 1;
    if (call.expected) expectedCdrs += 1;
    for (const event of call.disorder.published) {
      if (firstEventUs === null || event.timeUs < firstEventUs) firstEventUs = event.timeUs;
      if (lastEventUs === null || event.timeUs > lastEventUs) lastEventUs = event.timeUs;
    }
  }
  return {
    seed: options.seed, calls: calls.length, outcomes, publishedEvents, accEvents, messages: messages.length,
    duplicates, lost, beforeStart, reorderedCalls, inProgressCalls, expectedCdrs, firstEventUs, lastEventUs,
  };
}

interface Subscriber {
  readonly countryCode: string;
  /** National significant number. */
  readonly nsn: string;
}

/**
 * A fixed set of subscribers per seed, each rendered per call in a format operators see:
 * `+5511…`, `005511…`, `011 55…` (from North America), `9011…` (PBX outside line), national,
 * and Brazil's carrier-selection `0 15 11…`.
 */
export class NumberPool {
  private readonly subscribers: Subscriber[] = [];

  constructor(rng: Random, size = 500) {
    const digits = (n: number) => Array.from({ length: n }, () => rng.int(0, 9)).join('');
    for (let i = 0; i < size; i++) {
      const country = rng.weighted<string>([['55', 0.6], ['1', 0.2], ['44', 0.1], ['49', 0.1]]);
      let nsn: string;
      if (country === '55') nsn = `${rng.pick(['11', '21', '31', '41', '51', '61', '71', '81'])}9${rng.int(6, 9)}${digits(7)}`;
      else if (country === '1') nsn = `${rng.pick(['212', '305', '415', '646', '713', '917'])}${rng.int(2, 9)}${digits(2)}${digits(4)}`;
      else if (country === '44') nsn = `7${rng.pick(['400', '700', '800', '900'])}${digits(6)}`;
      else nsn = `15${rng.pick(['1', '2', '7'])}${digits(8)}`;
      this.subscribers.push({ countryCode: country, nsn });
    }
  }

  render(rng: Random): string {
    const { countryCode, nsn } = rng.pick(this.subscribers);
    const format = rng.weighted<string>([['e164', 0.4], ['00', 0.2], ['011', 0.1], ['9011', 0.05], ['national', 0.2], ['carrier', 0.05]]);
    switch (format) {
      case 'e164': return `+${countryCode}${nsn}`;
      case '00': return `00${countryCode}${nsn}`;
      case '011': return `011${countryCode}${nsn}`;
      case '9011': return `9011${countryCode}${nsn}`;
      case 'carrier': return countryCode === '55' ? `0${rng.pick(['15', '21', '41'])}${nsn}` : `+${countryCode}${nsn}`;
      default: return countryCode === '1' ? nsn : `0${nsn}`;
    }
  }
}

/** Binary min-heap of numbers (call end times). */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= items[i]!) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  pop(): number | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && items[left]! < items[smallest]!) smallest = left;
        if (right < items.length && items[right]! < items[smallest]!) smallest = right;
        if (smallest === i) break;
        [items[smallest], items[i]] = [items[i]!, items[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}
