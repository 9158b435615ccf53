/** Which SQLite failures may clear up by themselves: those become StoreUnavailableError (pause, retry). */
import { StoreUnavailableError } from '../../errors';

/**
 * Failures of the store, not of one message: retry later. Some clear up by themselves (another
 * writer, a full or failing disk); a read-only or unopenable file (permissions, a remount), memory
 * pressure, a damaged file or schema need an operator. Either way no message is to blame, so the
 * messages wait in the queue: treated as a message's failure, every message would be dead-lettered
 * one by one. What is left (constraints, values too big) is a message's own failure.
 */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL|CORRUPT|NOTADB|ERROR|SCHEMA|PERM|AUTH)/;

export function toStoreError(error: unknown, action: string): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && TRANSIENT.test(code)) {
    return new StoreUnavailableError(`sqlite ${action} failed: ${code}`, { cause: error });
  }
  return error;
}

