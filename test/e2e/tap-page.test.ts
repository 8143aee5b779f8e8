// The tap page in a real browser: Debian's Chromium, headless, driven by playwright-core (which
// never downloads a browser), against a real gateway fed corpus captures over UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { owners, replay, startTapGateway, tokens, type TapSetup } from '../tap/harness.js';

const executablePath = process.env.FLOWGATE_CHROMIUM ?? '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
/** Flow records in multi_exporter.pcap; the page keeps the newest MAX_ROWS. */
const MULTI_RECORDS = 379;
const MAX_ROWS = 200;

async function browser(t: { after(fn: () => unknown): void }): Promise<BrowserContext> {
  assert.ok(existsSync(executablePath), `no Chromium at ${executablePath}: install Debian's chromium package (apt-get install chromium), or set FLOWGATE_CHROMIUM`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'flowgate-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, args, headless: true, viewport: { width: 1280, height: 900 } });
  t.after(async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  });
  return context;
}

/** Opens the page with a token and waits until it is connected; collects console errors. */
async function openPage(context: BrowserContext, s: TapSetup, token: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${s.http}/?token=${encodeURIComponent(token)}`);
  await page.waitForFunction(() => document.getElementById('status')!.textContent === 'connected', undefined, { timeout: 10_000 });
  return { page, errors };
}

const rowRecords = (page: Page): Promise<Record<string, unknown>[]> =>
  page.$$eval('#records tbody tr', (rows) => rows.map((r) => JSON.parse((r as HTMLElement).dataset.record!) as Record<string, unknown>));

const received = (page: Page): Promise<number> => page.$eval('#counters', (e) => Number(/received (\d+)/.exec(e.textContent!)![1]));

async function waitReceived(page: Page, n: number): Promise<void> {
  await page.waitForFunction((want) => Number(/received (\d+)/.exec(document.getElementById('counters')!.textContent!)![1]) >= want, n, { timeout: 30_000, polling: 100 });
}

test('the tap page shows live records, a filter narrows them, pause holds the table, and a tenant token sees only its tenant', async (t) => {
  const s = await startTapGateway(t, { withTokens: true });
  const context = await browser(t);

  // Admin: every record, the newest MAX_ROWS in the table, the rate and its chart move.
  const { page, errors } = await openPage(context, s, tokens.admin);
  assert.equal(await page.textContent('#scope'), 'all tenants');
  assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
  await replay('multi_exporter', s.udp);
  await waitReceived(page, MULTI_RECORDS);
  const kafka = (await s.kafkaRecords(MULTI_RECORDS)).map((m) => JSON.parse(m.value) as Record<string, unknown>);
  await page.waitForFunction(() => Number(document.getElementById('rate')!.textContent) > 0 || document.querySelectorAll('#records tbody tr').length > 0, undefined, { timeout: 5_000 });
  const rows = await rowRecords(page);
  assert.equal(rows.length, MAX_ROWS);
  assert.equal(await received(page), MULTI_RECORDS);
  const kafkaText = new Set(kafka.map((r) => JSON.stringify(r)));
  assert.ok(rows.every((r) => kafkaText.has(JSON.stringify(r))), 'every row is a record that went to Kafka');
  assert.ok(await page.$eval('#chart', (c) => (c as HTMLCanvasElement).width > 0));

  // A filter typed in the form: proto 17 from two exporters.
  await page.fill('input[name=proto]', '17');
  await page.fill('input[name=exporter]', '127.0.0.22/31');
  await page.click('#apply');
  await page.waitForFunction(() => document.getElementById('filter-shown')!.textContent!.includes('proto 17'), undefined, { timeout: 5_000 });
  assert.equal(await page.$$eval('#records tbody tr', (r) => r.length), 0, 'the table starts afresh with the new filter');
  const udp = kafka.filter((r) => r.proto === 17 && (r.dvc === '127.0.0.22' || r.dvc === '127.0.0.23'));
  assert.ok(udp.length > 0 && udp.length < MAX_ROWS, `${udp.length} matching records`);
  await replay('multi_exporter', s.udp);
  await waitReceived(page, MULTI_RECORDS + udp.length);
  await s.kafkaRecords(2 * MULTI_RECORDS);
  await new Promise((r) => setTimeout(r, 500));
  const filtered = await rowRecords(page);
  assert.equal(filtered.length, udp.length);
  assert.ok(filtered.every((r) => r.proto === 17 && (r.dvc === '127.0.0.22' || r.dvc === '127.0.0.23')));
  assert.equal(await received(page), MULTI_RECORDS + udp.length);

  // A refused filter shows the server's reason and changes nothing.
  await page.fill('input[name=port]', '99999');
  await page.click('#apply');
  await page.waitForFunction(() => !document.getElementById('error')!.hidden, undefined, { timeout: 5_000 });
  assert.match((await page.textContent('#error'))!, /port: expected an integer from 0 to 65535/);
  await page.fill('input[name=port]', '');

  // Paused: records are counted, not shown; resumed: shown again.
  await page.click('#pause');
  assert.equal(await page.textContent('#pause'), 'Resume');
  await replay('multi_exporter', s.udp);
  await waitReceived(page, MULTI_RECORDS + 2 * udp.length);
  assert.equal((await rowRecords(page)).length, udp.length);
  assert.match((await page.textContent('#counters'))!, new RegExp(`paused: ${udp.length} not shown`));
  await page.click('#pause');
  assert.equal(await page.textContent('#pause'), 'Pause');
  assert.deepEqual(errors, []);
  // To look at the page: TEST_TAP_SCREENSHOT=/tmp/tap-page.png (not kept in the repo).
  const screenshot = process.env.TEST_TAP_SCREENSHOT;
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // A tenant's token: only that tenant's records, whatever the filter form asks for.
  const acme = await openPage(context, s, tokens.acme);
  assert.equal(await acme.page.textContent('#scope'), 'tenant acme');
  await acme.page.fill('input[name=tenant]', 'globex');
  await acme.page.click('#apply');
  await acme.page.waitForFunction(() => !document.getElementById('error')!.hidden, undefined, { timeout: 5_000 });
  assert.match((await acme.page.textContent('#error'))!, /this token sees tenant "acme" only/);
  const acmeRecords = kafka.filter((r) => (owners.acme as readonly string[]).includes(r.dvc as string));
  assert.ok(acmeRecords.length > 0 && acmeRecords.length < MAX_ROWS);
  await replay('multi_exporter', s.udp);
  await waitReceived(acme.page, acmeRecords.length);
  await s.kafkaRecords(4 * MULTI_RECORDS);
  await new Promise((r) => setTimeout(r, 500));
  const acmeRows = await rowRecords(acme.page);
  assert.equal(acmeRows.length, acmeRecords.length);
  assert.equal(await received(acme.page), acmeRecords.length);
  assert.ok(acmeRows.every((r) => (owners.acme as readonly string[]).includes(r.dvc as string)), 'only acme exporters');
  assert.deepEqual(acme.errors, []);

  // A wrong token: refused, and the page says so.
  const refused = await context.newPage();
  await refused.goto(`http://127.0.0.1:${s.http}/?token=wrong`);
  await refused.waitForFunction(() => document.getElementById('status')!.textContent === 'refused', undefined, { timeout: 10_000 });
  assert.match((await refused.textContent('#error'))!, /valid tap token is required/);
});
