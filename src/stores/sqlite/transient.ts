/** Which SQLite failures may clear up by themselves: those become StoreUnavailableError (pause, retry). */
import { StoreUnavailableError } from '../../errors';

/** Errors that may clear up by themselves (another writer, a full or failing disk): retry later. */
// A read-only or unopenable file (permissions, a remount) and memory pressure can be fixed while we wait.
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;

export function toStoreError(error: unknown, action: string): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && TRANSIENT.test(code)) {
    return new StoreUnavailableError(`sqlite ${action} failed: ${code}`, { cause: error });
  }
  return error;
}

