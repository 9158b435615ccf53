/**
 * report.html and the evidence page, opened in a real browser: Debian's headless Chromium
 * (scripts/ensure-chromium.sh installs it; `make test` runs that first), driven by playwright-core
 * (which downloads no browser). No console errors; the per-day chart and the SIP ladders are drawn,
 * each ladder with one arrow per stored SIP event of its call. Screenshots are kept in
 * test/artifacts/browser/ (git-ignored). Never skipped: without Chromium the test fails, saying why.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseIncrement } from '../../src/disputes/increment';
import { buildCarrierFile } from '../../src/simulator/carrier-file';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { integrationFixture } from '../support/fixture';
import { qbl } from '../support/run-cli';
import { simulatedCalls, sqliteWithCalls } from '../support/simulated-store';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'artifacts', 'browser');
const QBL_KINDS = new Set(['invite_request', 'invite_reply', 'bye_request', 'bye_reply']);

describe('report.html and the evidence page in headless Chromium', () => {
  const f = integrationFixture('browser', { broker: false });
  let dir: string;
  let context: BrowserContext;
  const savedEnv = { ...process.env };
  /** call_id → SIP events stored for it (the arrows its ladder must have). */
  const sipEvents = new Map<string, number>();
  let days = 0;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: the browser test needs Debian's chromium package; run \`bash scripts/ensure-chromium.sh\` (make test does)`);
    }
    dir = f.dir;
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL']) delete process.env[name];
    Object.assign(process.env, { SQLITE_PATH: join(dir, 'qbl.db'), QBL_DEFAULT_COUNTRY: 'BR' });
    const calls = simulatedCalls({ calls: 240, seed: 7, cps: 0.004, startTimeUs: Date.UTC(2026, 10, 20, 18) * 1000, concurrency: 100_000 });
    await sqliteWithCalls(process.env.SQLITE_PATH!, calls);
    const reader = SqliteReader.open(process.env.SQLITE_PATH!);
    for (const record of calls.records) {
      sipEvents.set(record.cdr.call_id, (await reader.eventsForCall(record.cdr.call_id)).filter((e) => QBL_KINDS.has(e.kind)).length);
    }
    await reader.close();
    const file = buildCarrierFile(calls.records, {
      headers: { start: ['Start Time'], caller: 'Calling Number', callee: 'Called Number', duration: 'Seconds', billed: 'Billable Seconds', rate: 'Rate' },
      separator: ',', startFormats: ['yyyy-MM-dd HH:mm:ss'], zone: 'America/Sao_Paulo', durationStyle: 'int',
      increment: parseIncrement('6/6')!, numberStyle: 'mixed', rateMicro: 20_000,
    });
    writeFileSync(join(dir, 'carrier.csv'), file.text);
    const run = await qbl('reconcile', join(dir, 'carrier.csv'), '--out', join(dir, 'out'), '--tz', 'America/Sao_Paulo', '--top', '8');
    expect(run.code).toBe(3);
    days = (JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as { days: unknown[] }).days.length;

    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 900 },
    });
    // Closed before the fixture removes the directory holding its profile.
    f.defer(() => context.close());
  });

  afterAll(() => {
    process.env = savedEnv;
  });

  /** Opens a local file; resolves with the page and every console error or page error it raised. */
  async function open(path: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    page.on('pageerror', (error) => errors.push(error.message));
    // Nothing may be fetched: the pages are self-contained.
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
    return { page, errors };
  }

  async function ladderArrowCounts(page: Page): Promise<Array<{ callId: string; arrows: number }>> {
    return page.$$eval('svg.ladder', (svgs) => svgs.map((svg) => ({
      callId: (svg.getAttribute('aria-label') ?? '').replace(/^SIP ladder of /, ''),
      arrows: svg.querySelectorAll('g.arrow').length,
    })));
  }

  it('the report: no console errors, the chart has two bars a day, every ladder one arrow per SIP event', async () => {
    const { page, errors } = await open(join(dir, 'out', 'report.html'));
    expect(days).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#daily-chart rect.bar[data-side="carrier"]').count()).toBe(days);
    expect(await page.locator('#daily-chart rect.bar[data-side="ours"]').count()).toBe(days);
    expect(await page.locator('#classes tr[data-class]').count()).toBe(8);
    const ladders = await ladderArrowCounts(page);
    expect(ladders.length).toBeGreaterThan(0);
    for (const ladder of ladders) expect(ladder).toEqual({ callId: ladder.callId, arrows: sipEvents.get(ladder.callId) });
    // The chart really has a size on screen (drawn, not just present).
    const box = await page.locator('#daily-chart').boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    await page.screenshot({ path: join(ARTIFACTS, 'report-top.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    // A click on a top call opens its evidence and scrolls to it.
    await page.locator('#top-calls tr.clickable').first().click();
    await page.waitForFunction("window.scrollY > 0");
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the evidence page of one call: its ladder, CDR and raw events', async () => {
    const callId = [...sipEvents.entries()].find(([, count]) => count >= 5)![0];
    const out = join(dir, 'evidence.html');
    const run = await qbl('evidence', '--call-id', callId, '--out', out);
    expect(run.code).toBe(0);
    const { page, errors } = await open(out);
    expect(await page.locator('svg.ladder g.arrow').count()).toBe(sipEvents.get(callId));
    expect(await page.locator('svg.ladder g.lifeline').count()).toBe(3);
    expect(await page.locator('table.cdr').textContent()).toContain(callId);
    expect(await page.locator('ol.raw li').count()).toBeGreaterThanOrEqual(sipEvents.get(callId)!);
    await page.screenshot({ path: join(ARTIFACTS, 'evidence.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
