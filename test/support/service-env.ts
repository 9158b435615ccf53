/** The environment of a service under test: its own exchange, queue and SQLite file; no ops port; quiet. */
import { join } from 'node:path';
import { uniqueName } from './rabbit';

export function serviceEnv(dir: string, prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  const base = uniqueName(prefix);
  return {
    QBL_EXCHANGE: `${base}.x`,
    QBL_QUEUE: `${base}.q`,
    SQLITE_PATH: join(dir, `${base}.db`),
    QBL_HTTP_PORT: '0',
    QBL_STATS_INTERVAL_S: '0',
    QBL_BATCH_WAIT_MS: '5',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

/** Deadlines short enough that every call of a test stream closes within seconds. */
export const SHORT_TIMEOUTS: Readonly<Record<string, string>> = Object.freeze({
  QBL_SWEEP_INTERVAL_MS: '50', QBL_SETUP_TIMEOUT_S: '2', QBL_MAX_CALL_DURATION_S: '2', QBL_BYE_GRACE_S: '1',
});
