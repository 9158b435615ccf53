/**
 * The set-up the integration tests share: one admin connection to the real broker (which deletes
 * what the tests declared and tracked; none with `broker: false`), one temporary directory, and
 * clean-up in a fixed order.
 * Call `integrationFixture()` at the top of a describe block: it registers the hooks.
 *
 * After each test: the clean-ups the test deferred (newest first: close the service before its
 * queue goes), then the topologies it tracked. After all: the same for the suite, then the admin
 * connection and the directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RabbitAdmin } from './rabbit';

export interface IntegrationFixture {
  /** Inspects the broker and deletes the topologies passed to `admin.track()`. */
  readonly admin: RabbitAdmin;
  /** Removed at the end of the suite (of each test, with `dirPerTest`). */
  readonly dir: string;
  /** Runs `cleanup` after the current test (or, called from beforeAll, after the suite), newest first. */
  defer(cleanup: () => unknown): void;
}

export interface FixtureOptions {
  /** A fresh directory for each test instead of one for the suite. */
  readonly dirPerTest?: boolean;
  /** false: tests of files only, no admin connection. */
  readonly broker?: boolean;
}

export function integrationFixture(label: string, options: FixtureOptions = {}): IntegrationFixture {
  let admin: RabbitAdmin | undefined;
  let dir: string | undefined;
  let inTest = false;
  const perTest: Array<() => unknown> = [];
  const perSuite: Array<() => unknown> = [];
  const newDir = () => mkdtempSync(join(tmpdir(), `qbl-${label}-`));
  const removeDir = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };

  beforeAll(async () => {
    if (options.broker !== false) admin = await RabbitAdmin.open();
    if (!options.dirPerTest) dir = newDir();
  });
  beforeEach(() => {
    inTest = true;
    if (options.dirPerTest) dir = newDir();
  });
  afterEach(async () => {
    inTest = false;
    await runAll(perTest);
    await admin?.cleanup();
    if (options.dirPerTest) removeDir();
  });
  afterAll(async () => {
    await runAll(perSuite);
    await admin?.close();
    removeDir();
  });

  return {
    get admin(): RabbitAdmin {
      if (!admin) throw new Error('integrationFixture: the admin connection opens in beforeAll');
      return admin;
    },
    get dir(): string {
      if (!dir) throw new Error('integrationFixture: no directory outside the fixture\'s hooks');
      return dir;
    },
    defer(cleanup) {
      (inTest ? perTest : perSuite).push(cleanup);
    },
  };
}

/** Every clean-up runs, newest first, even when one fails; the first failure is thrown at the end. */
async function runAll(cleanups: Array<() => unknown>): Promise<void> {
  let failure: unknown;
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}
