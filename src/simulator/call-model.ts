/**
 * One SIP call as OpenSIPS sees it: the events its script would raise, with realistic timings
 * (integer microseconds). Timings are drawn first, independently of the rate flags, so turning
 * a flag on or off keeps every other draw of the call unchanged.
 */
import type { Direction, EventKind } from '../../correlators/events';
import type { WireParams } from './opensips-wire';
import type { Random } from './random';

export type Outcome = 'answered' | 'busy' | 'no_answer' | 'cancelled' | 'failed';
export const OUTCOMES: readonly Outcome[] = ['answered', 'busy', 'no_answer', 'cancelled', 'failed'];

/** An event as raised by OpenSIPS for one call, before it is encoded. */
export interface SimEvent {
  readonly kind: EventKind;
  /** When OpenSIPS handled it (acc events: when they are raised, the times they carry are seconds). */
  readonly timeUs: number;
  readonly replyCode: number | null;
  readonly direction: Direction | null;
  readonly caller: string | null;
  readonly callee: string | null;
  /** acc events only: the parameters in the acc module's order (spec, "acc module events"). */
  readonly accParams: WireParams | null;
}

/** `core`: always raised; `provisional` and `retransmission` steps are kept per the rate flags. */
type StepRole = 'core' | 'provisional' | 'retransmission';

export interface Step {
  readonly kind: 'invite_request' | 'invite_reply' | 'bye_request' | 'bye_reply';
  readonly offsetUs: number;
  readonly code: number | null;
  readonly direction: Direction;
  readonly role: StepRole;
}

export interface CallModelOptions {
  readonly answerRate: number;
  /** Probability that a call's provisional replies (100/180/183) are raised. */
  readonly provisionalRate: number;
  /** Probability of a 2xx retransmission for an answered call, and of a BYE retransmission. */
  readonly retransmitRate: number;
  readonly talkMeanS: number;
  readonly maxTalkS: number;
  /** The proxy's own 408 comes this long after ringing started (fr_inv_timeout). */
  readonly ringTimeoutS: number;
}

/** A call whose outcome a test fixes (the lookup's scenarios); the rest of the call is drawn as usual. */
export interface ForcedOutcome {
  readonly outcome: Outcome;
  /** The final code of a `failed` call (404, 484, …) or of a `busy` one (486, 600). */
  readonly code?: number;
  /** Talk time of an `answered` call, seconds. */
  readonly talkS?: number;
}

export interface CallModel {
  readonly index: number;
  readonly callId: string;
  readonly outcome: Outcome;
  readonly caller: string;
  readonly callee: string;
  readonly fromTag: string;
  readonly toTag: string;
  /** Steps in time order, offsets from the INVITE. */
  readonly steps: readonly Step[];
  /** Offset of the last step: the call's length in the simulated timeline. */
  readonly durationUs: number;
}

const MS = 1000;
const S = 1_000_000;
/** A final after ringing comes after any 180 that follows a 183 (at most 1 s later). */
const MIN_AFTER_RING_S = 1.2;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function us(seconds: number): number {
  return Math.round(seconds * S);
}

/**
 * Draws one call. `rng` is the call's own stream. With `forced`, its outcome (and code or talk
 * time) are the given ones; every draw is still made, so the other calls of a seed are unchanged.
 */
export function modelCall(rng: Random, index: number, caller: string, callee: string, options: CallModelOptions, forced?: ForcedOutcome): CallModel {
  const timing = rng.derive('timing');
  const flags = rng.derive('flags');
  const ids = rng.derive('ids');
  const callId = `${ids.hex(12)}${index.toString(36)}@${ids.pick(['pc33', 'sbc-1.example.net', '10.20.0.7', 'ua-edge'])}`;
  const fromTag = ids.hex(8);
  const toTag = ids.hex(8);

  const failureShare = 1 - options.answerRate;
  const drawn = timing.weighted<Outcome>([
    ['answered', options.answerRate],
    ['busy', failureShare * 0.3],
    ['no_answer', failureShare * 0.25],
    ['cancelled', failureShare * 0.25],
    ['failed', failureShare * 0.2],
  ]);
  const outcome = forced?.outcome ?? drawn;
  const raiseProvisional = flags.chance(options.provisionalRate);
  const retransmit2xx = flags.chance(options.retransmitRate);
  const retransmitBye = flags.chance(options.retransmitRate);

  const steps: Step[] = [{ kind: 'invite_request', offsetUs: 0, code: null, direction: 'downstream', role: 'core' }];
  const reply = (offsetUs: number, code: number, role: StepRole = 'core') =>
    steps.push({ kind: 'invite_reply', offsetUs, code, direction: 'upstream', role });

  reply(timing.int(500, 20 * MS), 100, 'provisional');
  const ringAtUs = us(clamp(timing.lognormal(2.5, 0.6), 0.2, 15));
  const ringCode = timing.chance(0.25) ? 183 : 180;
  const ringTimeoutUs = options.ringTimeoutS * S;
  const ring = () => {
    reply(ringAtUs, ringCode, 'provisional');
    if (ringCode === 183 && timing.chance(0.5)) reply(ringAtUs + timing.int(300 * MS, 1000 * MS), 180, 'provisional');
  };

  switch (outcome) {
    case 'answered': {
      ring();
      const answerUs = ringAtUs + us(clamp(timing.lognormal(7, 0.7), 1.5, Math.max(1.5, options.ringTimeoutS - 1)));
      reply(answerUs, 200);
      // A late ACK makes the callee retransmit its 200 about T1 (0.5 s) later.
      reply(answerUs + 500 * MS + timing.int(0, 40 * MS), 200, 'retransmission');
      const drawnTalkUs = us(clamp(timing.lognormal(options.talkMeanS, 1), 1, options.maxTalkS));
      const talkUs = forced?.talkS === undefined ? drawnTalkUs : us(forced.talkS);
      const byeUs = answerUs + talkUs;
      const direction: Direction = timing.chance(0.55) ? 'downstream' : 'upstream';
      steps.push({ kind: 'bye_request', offsetUs: byeUs, code: null, direction, role: 'core' });
      const byeRetransmitUs = byeUs + 500 * MS;
      steps.push({ kind: 'bye_request', offsetUs: byeRetransmitUs, code: null, direction, role: 'retransmission' });
      const byeCode = timing.chance(0.03) ? 481 : 200;
      const replyDelayUs = timing.int(2 * MS, 80 * MS);
      // When the BYE was retransmitted, the reply answers the retransmission.
      const byeReplyUs = (retransmitBye ? byeRetransmitUs : byeUs) + replyDelayUs;
      steps.push({ kind: 'bye_reply', offsetUs: byeReplyUs, code: byeCode, direction: direction === 'downstream' ? 'upstream' : 'downstream', role: 'core' });
      break;
    }
    case 'busy': {
      const drawnCode = timing.chance(0.05) ? 600 : 486;
      const code = forced?.code ?? drawnCode;
      if (timing.chance(0.4)) {
        ring();
        reply(ringAtUs + us(clamp(timing.lognormal(3, 0.6), MIN_AFTER_RING_S, Math.max(MIN_AFTER_RING_S, options.ringTimeoutS - 1))), code);
      } else {
        reply(us(clamp(timing.lognormal(0.8, 0.5), 0.05, 10)), code);
      }
      break;
    }
    case 'no_answer': {
      ring();
      const timeoutUs = ringAtUs + ringTimeoutUs;
      reply(timeoutUs, 408); // the proxy's own reply, from its failure_route
      reply(timeoutUs + timing.int(100, 900), 487); // the callee answering the proxy's CANCEL
      break;
    }
    case 'cancelled': {
      if (timing.chance(0.15)) {
        reply(us(clamp(timing.lognormal(1.5, 0.5), 0.1, 10)), 487); // cancelled before it rang
      } else {
        ring();
        const cancelUs = ringAtUs + us(clamp(timing.lognormal(6, 0.6), MIN_AFTER_RING_S, Math.max(MIN_AFTER_RING_S, options.ringTimeoutS - 1)));
        reply(cancelUs + timing.int(2 * MS, 60 * MS), 487);
      }
      break;
    }
    case 'failed': {
      const drawnCode = timing.weighted<number>([[404, 0.3], [480, 0.2], [503, 0.25], [603, 0.15], [500, 0.05], [403, 0.05]]);
      const code = forced?.code ?? drawnCode;
      if ((code === 480 || code === 603) && timing.chance(0.5)) {
        ring();
        reply(ringAtUs + us(clamp(timing.lognormal(4, 0.6), MIN_AFTER_RING_S, Math.max(MIN_AFTER_RING_S, options.ringTimeoutS - 1))), code);
      } else {
        reply(us(clamp(timing.lognormal(0.3, 0.6), 0.03, 5)), code);
      }
      break;
    }
  }

  const kept = steps.filter((step) =>
    step.role === 'core'
    || (step.role === 'provisional' && raiseProvisional)
    || (step.role === 'retransmission' && (step.kind === 'invite_reply' ? retransmit2xx : retransmitBye)));
  kept.sort((a, b) => a.offsetUs - b.offsetUs);
  return { index, callId, outcome, caller, callee, fromTag, toTag, steps: kept, durationUs: kept[kept.length - 1]!.offsetUs };
}
