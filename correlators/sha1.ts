/** Deterministic ids (CDRs, raw events) are hex SHA-1 of a canonical text. */
import * as crypto from 'node:crypto';

/** Hex sha1 of UTF-8 text: Node >= 20.12's one-shot `crypto.hash` (no Hash object per call), else createHash. */
export const sha1Hex: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha1', text, 'hex')
  : (text) => crypto.createHash('sha1').update(text, 'utf8').digest('hex');
