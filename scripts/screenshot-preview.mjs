#!/usr/bin/env node
/**
 * Dev-only (not run by tests): renders an outbox folder with the preview page and has headless
 * Chromium draw it, so a person can check how the page really looks.
 *
 *   node scripts/screenshot-preview.mjs [outbox-dir] [png] [window-height] [path-regex]
 *   defaults: test/fixtures/outbox-sample  /tmp/preview.png  2400  (every file)
 *   Chromium's --screenshot draws only the first window, so look at a long outbox a few files at a time
 *   with path-regex (e.g. 'soc-(teams|slack)/').
 *
 * Chromium comes from $CHROMIUM or `chromium` on PATH (apt-get install -y chromium). The page loads
 * nothing from the network; the flags below also keep Chromium itself off the network.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [dir = path.join(root, 'test/fixtures/outbox-sample'), png = '/tmp/preview.png', height = '2400', only = ''] = process.argv.slice(2);

const FORMATS = ['teams.json', 'slack.json', 'sms.txt', 'twiml.xml', 'jira.json', 'servicenow.json', 'ado.json', 'zendesk.json', 'freshservice.json', 'pagerduty.json', 'eml'];

async function filesUnder(folder) {
  const found = [];
  for (const d of await readdir(folder, { withFileTypes: true })) {
    const full = path.join(folder, d.name);
    if (d.isDirectory()) found.push(...(await filesUnder(full)));
    else found.push(full);
  }
  return found.sort();
}

const work = await mkdtemp(path.join(tmpdir(), 'spk-preview-'));
const bundle = path.join(work, 'preview.mjs');
await build({ entryPoints: [path.join(root, 'functions/connectors/outbox/preview/page.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'warning' });
const { renderPreviewPage } = await import(pathToFileURL(bundle).href);

const entries = [];
for (const file of await filesUnder(dir)) {
  const rel = path.relative(dir, file).split(path.sep).join('/');
  const name = path.basename(rel);
  const format = FORMATS.find((f) => name.endsWith(`.${f}`));
  if (!format || (only && !new RegExp(only).test(rel))) continue;
  const stem = name.slice(0, -(format.length + 1));
  entries.push({ path: rel, receiver: rel.split('/')[0] ?? '', incidentKey: stem.replace(/-\d+$/, ''), format, body: await readFile(file, 'utf8') });
}

const html = path.join(work, 'preview.html');
await writeFile(html, renderPreviewPage(entries, { title: `Outbox preview — ${path.basename(dir)}`, generatedAt: new Date().toISOString() }));
const chromium = process.env.CHROMIUM ?? 'chromium';
const result = spawnSync(
  chromium,
  ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${path.join(work, 'profile')}`, `--screenshot=${png}`, `--window-size=1280,${height}`, pathToFileURL(html).href],
  { stdio: 'inherit' },
);
if (result.error) throw result.error;
console.log(`${entries.length} files → ${html} → ${png}`);
process.exit(result.status ?? 1);
