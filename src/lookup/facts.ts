/**
 * A CDR reduced to what the lookup's figures need. The pipeline's commit hook and the store readers
 * (a rebuild at start, the poll of a shared store) all produce these, so the figures are the same
 * fold whatever the CDRs came through.
 */
import type { CdrRecord } from '../../correlators/cdr';
import type { StoredCall } from '../stores/lookup-store';
import { callerKey, destinationKey } from './number-key';

export interface CallFact {
  /** The first 32 bits of `cdr_id`: a rewritten CDR of a call already counted replaces it instead of adding. */
  readonly callHash: number;
  /** Destination key (E.164, else dialled digits); null: the callee is not a number. */
  readonly callee: string | null;
  readonly caller: string | null;
  /**
   * The callee and caller as dialled, when the dial plan read them as the E.164 keys above: a
   * lookup of the same string then needs no libphonenumber parse (15–20 µs) to find its key.
   */
  readonly calleeDialled?: string;
  readonly callerDialled?: string;
  /** The call's start, whole seconds since the epoch. */
  readonly startS: number;
  readonly finalCode: number | null;
  readonly answered: boolean;
  /** Talk time in whole milliseconds (0 when not answered; null when unknown: no BYE). */
  readonly talkMs: number | null;
}

/** `cdr_id` is a SHA-1 in hex: its first 8 digits are as good a 32-bit hash as any. */
export function callHashOf(cdrId: string): number {
  const hash = Number.parseInt(cdrId.slice(0, 8), 16);
  return Number.isNaN(hash) ? 0 : hash >>> 0;
}

/** The stored fields a fact is made of, as the SQLite and search readers get them. */
export type FactFields = Omit<StoredCall, 'writtenAtUs'>;

export function factOf(fields: FactFields): CallFact {
  return {
    callHash: callHashOf(fields.cdrId),
    callee: destinationKey(fields.callee, fields.calleeE164),
    caller: callerKey(fields.caller, fields.callerE164),
    ...(fields.calleeE164 !== null && fields.callee !== null && fields.callee !== fields.calleeE164 ? { calleeDialled: fields.callee } : {}),
    ...(fields.callerE164 !== null && fields.caller !== null && fields.caller !== fields.callerE164 ? { callerDialled: fields.caller } : {}),
    startS: Math.floor(fields.startUs / 1_000_000),
    finalCode: fields.finalCode,
    answered: fields.disposition === 'answered',
    talkMs: fields.talkUs === null ? null : Math.floor(fields.talkUs / 1000),
  };
}

export function factOfCdr({ cdr, extras, startUs }: CdrRecord): CallFact {
  return factOf({
    cdrId: cdr.cdr_id, caller: cdr.caller, callee: cdr.callee, callerE164: extras.caller_e164, calleeE164: extras.callee_e164,
    startUs, finalCode: cdr.final_code, disposition: cdr.disposition, talkUs: cdr.talk_us,
  });
}
