/**
 * The preview page as a person sees it: the real pipeline writes an outbox for the sample day (with
 * incident text that tries to run script), then Debian's Chromium opens outbox/index.html from a
 * loopback server and the test looks at what is on screen. Chromium is a prerequisite, like the .NET
 * SDK: without it this test fails, it is never skipped.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePreviewPage } from '../../functions/connectors/outbox/index-page.js';
import { FIT_FRAMES_SCRIPT } from '../../functions/connectors/outbox/preview/page.js';
import { spk, tempDir, REPO } from '../cli/cli-helpers.js';

// The functions handed to page.evaluate run in the page; the project compiles without the DOM lib, so
// the little of the DOM they touch is declared here, for this module only.
interface El {
  offsetParent: unknown;
  scrollHeight: number;
  clientHeight: number;
  id: string;
  title: string;
  textContent: string | null;
  attributes: ArrayLike<{ name: string }> & Iterable<{ name: string }>;
  closest(selector: string): El | null;
  contentDocument?: { documentElement: El } | null;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<El> & Iterable<El> };
declare const window: Record<string, unknown>;

const CHROMIUM = '/usr/bin/chromium';
const FLAG = '__spkPwned';
/** Incident text that would set the flag if any of it ever became markup or script. */
const HOSTILE_TITLE = `Ransomware <img src=x onerror="window.${FLAG}=1"><script>window.${FLAG}=2</script></textarea>"'><svg onload="window.${FLAG}=3"> on FILESRV-02`;

interface Loaded {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  offLoopback: string[];
}

let browser: Browser;
let server: Server;
let base = '';
let root = '';
const opened: Page[] = [];

/** Every file the kit wrote into the outbox, as receiver/name. */
async function outboxFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of await readdir(join(dir, d.name))) if (!f.startsWith('.')) files.push(`${d.name}/${f}`);
  }
  return files.sort();
}

async function open(dir: string, hash = ''): Promise<Loaded> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  opened.push(page);
  const loaded: Loaded = { page, consoleErrors: [], pageErrors: [], offLoopback: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') loaded.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => loaded.pageErrors.push(e.message));
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    loaded.offLoopback.push(url.href);
    return route.abort();
  });
  const rel = dir.slice(root.length + 1).split(sep).map(encodeURIComponent).join('/');
  await page.goto(`${base}/${rel}/index.html${hash}`, { waitUntil: 'load' });
  return loaded;
}

/** What is on screen: the cards a person can see, with their receiver, file and height. */
async function visibleCards(page: Page): Promise<Array<{ receiver: string; path: string; height: number }>> {
  return page.$$eval('article.card', (cards) =>
    cards
      .filter((c) => (c as unknown as El).offsetParent !== null)
      .map((c) => ({ receiver: c.getAttribute('data-receiver') ?? '', path: c.getAttribute('data-path') ?? '', height: c.getBoundingClientRect().height })),
  );
}

/** Each visible HTML body frame and each text block: how tall its content is against how tall it is shown. */
async function clipping(page: Page): Promise<Array<{ what: string; content: number; shown: number }>> {
  return page.evaluate(() => {
    const out: Array<{ what: string; content: number; shown: number }> = [];
    for (const f of document.querySelectorAll('iframe.html-frame')) {
      if (f.offsetParent === null) continue;
      const doc = f.contentDocument;
      out.push({ what: `frame ${f.title}`, content: doc?.documentElement.scrollHeight ?? Number.POSITIVE_INFINITY, shown: f.clientHeight });
    }
    for (const p of document.querySelectorAll('article.card pre')) {
      if (p.offsetParent !== null) out.push({ what: `pre in ${p.closest('article')?.id ?? '?'}`, content: p.scrollHeight, shown: p.clientHeight });
    }
    return out;
  });
}

/** The flag, in the page and in every frame (same-origin frames: the page can look into them). */
async function flagsSet(page: Page): Promise<unknown[]> {
  const values: unknown[] = [];
  for (const frame of page.frames()) values.push(await frame.evaluate((name) => window[name], FLAG));
  return values.filter((v) => v !== undefined);
}

let dayDir = '';
let dayFiles: string[] = [];
let hostileDir = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: this test opens the preview page in Debian's chromium. Install it with: apt-get update && apt-get install -y chromium`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  root = await tempDir('spk-preview-browser-');
  // the sample day through the real pipeline, its hostile incident made to set a flag if it ever runs
  const sample = await readFile(join(REPO, 'samples/defender-experts-day.jsonl'), 'utf8');
  const hostileTitle = JSON.stringify(HOSTILE_TITLE).slice(1, -1);
  const events = sample.replace(/"title":"Ransomware note on [^\n]*?\}\}"/g, `"title":"${hostileTitle}"`);
  expect(events).not.toBe(sample);
  await writeFile(join(root, 'day.jsonl'), events);
  dayDir = join(root, 'day');
  const run = await spk(['simulate', '--events', join(root, 'day.jsonl'), '--memory', '--out', dayDir]);
  expect(run.stderr).not.toMatch(/Error|crash/i);
  // a failed delivery, as the CLI records it, with a reason that is itself hostile
  await writeFile(
    join(dayDir, 'soc-lead-sms', '3101-99.failed.json'),
    JSON.stringify({
      receiver: 'soc-lead-sms',
      channel: 'sms',
      incidentKey: '3101',
      incidentNumber: 3101,
      title: HOSTILE_TITLE,
      idempotencyKey: 'f'.repeat(64),
      action: 'failed',
      error: `env:SMS_TOKEN is not set <img src=x onerror="window.${FLAG}=4">`,
      at: '2026-11-26T08:05:02.000Z',
    }),
  );
  await writePreviewPage(dayDir, new Date('2026-11-27T00:00:00Z'));
  dayFiles = await outboxFiles(dayDir);

  // bodies whose HTML part itself is markup that tries to run, load and navigate: only the sandbox stands in the way
  hostileDir = join(root, 'hostile');
  await mkdir(join(hostileDir, 'soc-ado'), { recursive: true });
  await mkdir(join(hostileDir, 'soc-email'), { recursive: true });
  const evil = `<p>Tall body</p><img src=x onerror="parent.${FLAG}=5;window.${FLAG}=5"><script>parent.${FLAG}=6</script><img src="https://tracker.example/p.png"><meta http-equiv="refresh" content="0;url=https://evil.example/"><form action="https://evil.example/"><button>x</button></form>${'<p>line</p>'.repeat(60)}`;
  await writeFile(join(hostileDir, 'soc-ado', '7001-1.ado.json'), JSON.stringify([{ op: 'add', path: '/fields/System.Title', value: 'Sentinel incident 7001 (High): evil' }, { op: 'add', path: '/fields/System.Description', value: evil }]));
  await writeFile(
    join(hostileDir, 'soc-email', '7001-1.eml'),
    ['From: a@example.com', 'To: b@example.com', `Subject: Incident 7001 ${HOSTILE_TITLE}`, 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', evil, ''].join('\r\n'),
  );
  await writePreviewPage(hostileDir, new Date('2026-11-27T00:00:00Z'));

  server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)));
    if (!path.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    readFile(path).then(
      (body) => res.writeHead(200, { 'content-type': path.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  for (const p of opened) await p.close().catch(() => {});
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

describe('the preview page in Chromium, for the sample day', () => {
  it('shows one visible card per outbox file, every body at full height, with no script error and no request off the machine', async () => {
    expect(dayFiles.length).toBeGreaterThan(100);
    const { page, consoleErrors, pageErrors, offLoopback } = await open(dayDir);
    const cards = await visibleCards(page);
    expect(cards.map((c) => c.path).sort()).toEqual(dayFiles);
    expect(cards.filter((c) => c.height < 40)).toEqual([]);
    const measured = await clipping(page);
    expect(measured.filter((m) => m.what.startsWith('frame')).length).toBeGreaterThan(20);
    expect(measured.filter((m) => m.content > m.shown || m.shown === 0)).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(offLoopback).toEqual([]);
  });

  it('shows a receiver view with only that receiver’s cards, bodies still at full height', async () => {
    const { page, pageErrors } = await open(dayDir);
    const receivers = [...new Set(dayFiles.map((f) => f.split('/')[0]))];
    expect(receivers).toContain('soc-lead-sms');
    for (const receiver of receivers) {
      await page.locator('nav.views a', { hasText: new RegExp(`^${receiver} \\d+$`) }).click();
      const cards = await visibleCards(page);
      expect(cards.map((c) => c.path).sort(), receiver).toEqual(dayFiles.filter((f) => f.startsWith(`${receiver}/`)));
      expect(cards.every((c) => c.receiver === receiver && c.height > 40)).toBe(true);
      expect((await clipping(page)).filter((m) => m.content > m.shown || m.shown === 0), receiver).toEqual([]);
      await expect(page.locator('.banner:visible').textContent()).resolves.toContain(receiver);
    }
    // "Everything" brings every card back
    await page.locator('nav.views a', { hasText: 'Everything' }).click();
    expect((await visibleCards(page)).length).toBe(dayFiles.length);
    expect(pageErrors).toEqual([]);
  });

  it('lists incidents by number with their titles, never a GUID first, each a timeline of moments', async () => {
    const { page } = await open(dayDir);
    const headings = await page.$$eval('section.incident h2', (hs) => hs.map((h) => h.textContent ?? ''));
    const numbers = headings.map((h) => /^Incident (\d+) — /.exec(h)?.[1]);
    expect(numbers.every((n) => n !== undefined), headings.join('\n')).toBe(true);
    expect(numbers.map(Number)).toEqual([...numbers.map(Number)].sort((a, b) => a - b));
    expect(headings.find((h) => h.startsWith('Incident 3104'))).toMatch(/^Incident 3104 — Impossible travel: sign-ins from two countries within 20 minutes/);
    expect(headings.find((h) => h.startsWith('Incident 3101'))).toMatch(/^Incident 3101 — Multi-stage incident/);
    // 3101's moments, in the order they happened, each naming what it reacted to
    const moments = await page.$$eval('section.incident:first-of-type .moment-head', (ms) => ms.map((m) => m.textContent ?? ''));
    expect(moments.length).toBe(3);
    expect(moments[0]).toMatch(/08:05 UTC.*owner: Defender Experts/);
    expect(moments[1]).toMatch(/10:12 UTC.*tag added: Awaiting Customer Action/);
    // the failure (retried, so its receiver's delivered files still line up) sits in 3101's timeline
    await expect(page.locator('section.incident:first-of-type article.card-failed').count()).resolves.toBe(1);
    // an incident view shows that incident only
    await page.locator('nav.views a', { hasText: /^3104$/ }).click();
    const cards = await visibleCards(page);
    const key3104 = dayFiles.find((f) => /\/0b7d[^/]*3104-1\./.test(f))?.split('/')[1]?.replace(/-1\..*$/, '');
    expect(key3104).toBeDefined();
    expect(cards.map((c) => c.path).sort()).toEqual(dayFiles.filter((f) => f.split('/')[1]?.startsWith(`${key3104}-`)));
  });

  it('shows a failed delivery as a marked failure card with its reason', async () => {
    const { page } = await open(dayDir);
    const failed = page.locator('article.card-failed');
    await expect(failed.count()).resolves.toBe(1);
    await expect(failed.getAttribute('data-path')).resolves.toBe('soc-lead-sms/3101-99.failed.json');
    await expect(failed.innerText()).resolves.toContain(`env:SMS_TOKEN is not set <img src=x onerror="window.${FLAG}=4">`);
    await expect(failed.boundingBox().then((b) => b?.height ?? 0)).resolves.toBeGreaterThan(40);
    await expect(page.locator('.failed-box').innerText()).resolves.toMatch(/1 delivery failed[\s\S]*soc-lead-sms · Incident 3101: env:SMS_TOKEN is not set/);
  });

  it('keeps hostile incident text inert: shown as text, never an element, never run', async () => {
    const { page } = await open(dayDir);
    expect(await page.locator('body').innerText()).toContain('Ransomware <img src=x onerror=');
    expect(await flagsSet(page)).toEqual([]);
    for (const frame of page.frames()) {
      const elements = await frame.evaluate(() => ({
        scripts: [...document.querySelectorAll('script')].map((s) => s.textContent),
        handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
        svgs: document.querySelectorAll('svg').length,
      }));
      expect(elements.handlers).toBe(0);
      expect(elements.svgs).toBe(0);
      expect(elements.scripts).toEqual(frame === page.mainFrame() ? [FIT_FRAMES_SCRIPT] : []);
    }
  });
});

describe('the preview page in Chromium, for bodies that are hostile markup', () => {
  it('runs none of it, loads and navigates nowhere, and still shows the bodies at full height', async () => {
    const { page, pageErrors, consoleErrors, offLoopback } = await open(hostileDir);
    await page.waitForTimeout(1000); // a meta refresh would have fired by now
    const cards = await visibleCards(page);
    expect(cards.map((c) => c.path).sort()).toEqual(['soc-ado/7001-1.ado.json', 'soc-email/7001-1.eml']);
    expect(await flagsSet(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    // the only complaints are the browser refusing what the sandbox and the CSP forbid
    expect(consoleErrors.filter((e) => !/Content Security Policy|sandboxed|allow-scripts|allow-forms/.test(e))).toEqual([]);
    expect(consoleErrors.length).toBeGreaterThan(0);
    const frames = page.frames().filter((f) => f !== page.mainFrame());
    expect(frames).toHaveLength(2);
    for (const f of frames) expect(f.url()).toBe('about:srcdoc');
    const measured = await clipping(page);
    expect(measured.filter((m) => m.what.startsWith('frame') && m.shown > 1000)).toHaveLength(2);
    expect(measured.filter((m) => m.content > m.shown)).toEqual([]);
    expect(offLoopback).toEqual([]);
  });
});
