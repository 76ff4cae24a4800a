/** Writes outbox/index.html: every outbox file, shown as the person receiving it will see it. */
import { readdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutboxFormat } from '../types.js';
import { OUTBOX_FORMATS } from './outbox.js';
import type { PreviewEntry } from './preview/entry.js';
import { renderPreviewPage } from './preview/page.js';


export function formatOf(fileName: string): OutboxFormat | null {
  return OUTBOX_FORMATS.find((f) => fileName.endsWith(`.${f}`)) ?? null;
}

export async function readOutbox(dir: string): Promise<PreviewEntry[]> {
  const entries: PreviewEntry[] = [];
  const receivers = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const receiver of receivers) {
    const files = (await readdir(join(dir, receiver))).filter((f) => !f.startsWith('.'));
    const parsed = files
      .map((f) => ({ f, format: formatOf(f), m: /^(.*)-(\d+)\./.exec(f) }))
      .filter((x): x is { f: string; format: OutboxFormat; m: RegExpExecArray } => x.format !== null && x.m !== null)
      .sort((a, b) => (a.m[1]! < b.m[1]! ? -1 : a.m[1]! > b.m[1]! ? 1 : Number(a.m[2]) - Number(b.m[2])));
    for (const { f, format, m } of parsed) {
      entries.push({ path: `${receiver}/${f}`, receiver, incidentKey: m[1]!, format, body: await readFile(join(dir, receiver, f), 'utf8') });
    }
  }
  return entries;
}

export async function writePreviewPage(dir: string, now = new Date()): Promise<{ path: string; entries: number }> {
  const entries = await readOutbox(dir);
  const html = renderPreviewPage(entries, { title: 'Sentinel Playbook Kit — outbox', generatedAt: now.toISOString() });
  const path = join(dir, 'index.html');
  await writeFile(`${path}.tmp`, html, 'utf8');
  await rename(`${path}.tmp`, path);
  return { path, entries: entries.length };
}
