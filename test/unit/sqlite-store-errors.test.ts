/**
 * Which SQLite failures pause intake (the store's failure: the messages wait in the queue) and
 * which are one message's failure (that message alone is dead-lettered).
 */
import { StoreUnavailableError } from '../../src/errors';
import { toStoreError } from '../../src/stores/sqlite/transient';

function sqliteError(code: string): Error {
  return Object.assign(new Error(`${code}: something`), { code });
}

describe('toStoreError', () => {
  test.each(['SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_ERROR', 'SQLITE_SCHEMA'])(
    '%s is the store\'s failure: StoreUnavailableError', (code) => {
      const mapped = toStoreError(sqliteError(code), 'commit');
      expect(mapped).toBeInstanceOf(StoreUnavailableError);
      expect(String(mapped)).toContain(code);
    });

  test.each(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_TOOBIG', 'SQLITE_MISMATCH'])('%s is one message\'s failure: passed on unchanged', (code) => {
    const error = sqliteError(code);
    expect(toStoreError(error, 'commit')).toBe(error);
  });

  test('an error that is not SQLite\'s is passed on unchanged', () => {
    const error = new RangeError('Too many parameter values');
    expect(toStoreError(error, 'commit')).toBe(error);
  });
});
