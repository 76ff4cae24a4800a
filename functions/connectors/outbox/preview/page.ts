/**
 * The outbox preview page: one self-contained HTML file answering "what will each receiver get, and
 * when?". Every file is one card, shown once; views are pure CSS (:target), so a view is a link:
 * index.html#for-3 shows only one receiver's cards, index.html#incident-2 one incident's timeline.
 *
 * Pure (no I/O). The page loads nothing (CSP `default-src 'none'`), and its only script is one fixed,
 * hash-pinned string that sizes the sandboxed HTML bodies to their content.
 */
import { createHash } from 'node:crypto';
import { KitError } from '../../../core/errors.js';
import { escapeHtml } from '../../../render/escape.js';
import { parseEntry } from './document.js';
import type { PreviewEntry, SmsSegmentInfo } from './entry.js';
import { PREVIEW_CSP } from './frame.js';
import { formatLabel, renderOne, type RenderedEntry } from './render-one.js';
import { factsOf, momentsOf, type EntryFacts, type Moment, type Placed } from './facts.js';
import { PAGE_CSS } from './styles.js';

export interface PreviewOptions {
  title?: string;
  generatedAt?: string;
}

/**
 * Sizes each HTML body's frame to its content whenever it loads, the window resizes or the view
 * changes (a frame hidden by a view has no layout to measure). It only reads the frames' heights.
 */
export const FIT_FRAMES_SCRIPT =
  "(()=>{const q=()=>document.querySelectorAll('iframe.html-frame');" +
  "const fit=f=>{if(f.offsetParent===null)return;const d=f.contentDocument;if(!d||!d.documentElement)return;" +
  "f.style.height='0px';f.style.height=d.documentElement.scrollHeight+'px'};" +
  "q().forEach(f=>f.addEventListener('load',()=>fit(f)));" +
  "const all=()=>q().forEach(fit);addEventListener('resize',all);addEventListener('hashchange',all);all()})();";

const SCRIPT_HASH = `'sha256-${createHash('sha256').update(FIT_FRAMES_SCRIPT).digest('base64')}'`;

/** The page's CSP: the frames' policy plus exactly the one script above. */
export const PAGE_CSP = `${PREVIEW_CSP}; script-src ${SCRIPT_HASH}`;

/** Formats whose card is narrow (a phone, a call script), so several sit side by side. */
const NARROW = new Set(['sms.txt', 'twiml.xml']);

interface Card {
  rendered: RenderedEntry;
  facts: EntryFacts;
  id: string;
  receiverIndex: number;
}

interface IncidentGroup {
  key: string;
  number: string | null;
  title: string | null;
  severity: string | null;
  cards: Card[];
  moments: Array<Moment<Card>>;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function validateEntries(entries: unknown): asserts entries is PreviewEntry[] {
  if (!Array.isArray(entries)) throw new KitError('renderPreviewPage: entries must be an array', { kind: 'validation', where: { field: 'entries' } });
  entries.forEach((e, i) => {
    for (const key of ['path', 'receiver', 'incidentKey', 'format', 'body'] as const) {
      if (typeof e !== 'object' || e === null || typeof (e as Record<string, unknown>)[key] !== 'string') {
        throw new KitError(`renderPreviewPage: entries[${i}].${key} must be a string`, { kind: 'validation', where: { field: `entries[${i}].${key}` } });
      }
    }
  });
}

/** <incident>-<n>.<format>: n is the delivery's position for its receiver and incident */
function fileNumber(path: string): number {
  const m = /-(\d{1,9})\.[^/]*$/.exec(path);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

/**
 * A link to the file beside the page, for the alphabet the outbox writes (safeFileStem): such a path
 * can be neither a scheme nor a way out of the folder. Any other path is shown, not linked.
 */
function fileHref(path: string): string | null {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]*\/[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(path) ? path : null;
}

/** The most common non-null value: one odd template should not rename the incident. */
function consensus(values: Array<string | null>): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let bestN = 0;
  for (const [v, n] of counts) if (n > bestN) [best, bestN] = [v, n];
  return best;
}

function incidentGroups(cards: Card[]): IncidentGroup[] {
  const byKey = new Map<string, Card[]>();
  for (const c of cards) {
    const list = byKey.get(c.rendered.entry.incidentKey) ?? [];
    list.push(c);
    byKey.set(c.rendered.entry.incidentKey, list);
  }
  const groups = [...byKey].map(([key, list]): IncidentGroup => {
    const placed: Array<Placed<Card>> = list.map((c) => ({ item: c, receiver: c.rendered.entry.receiver, n: fileNumber(c.rendered.entry.path), facts: c.facts, failed: c.rendered.entry.format === 'failed.json' }));
    return {
      key,
      number: consensus(list.map((c) => c.facts.number)),
      title: consensus(list.map((c) => c.facts.title)),
      severity: consensus(list.map((c) => c.facts.severity)),
      cards: list,
      moments: momentsOf(placed),
    };
  });
  // by number; an incident whose files name no number goes last, by key, never first
  return groups.sort((a, b) => {
    if (a.number !== null && b.number !== null) return Number(a.number) - Number(b.number) || (a.key < b.key ? -1 : 1);
    if (a.number !== null) return -1;
    if (b.number !== null) return 1;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
}

function incidentName(g: IncidentGroup): string {
  return g.number !== null ? `Incident ${g.number}` : `Incident ${g.key}`;
}

function fileLink(path: string, name: string): string {
  const href = fileHref(path);
  return href ? `<a class="file" href="${escapeHtml(href)}">${escapeHtml(name)}</a>` : `<span class="file">${escapeHtml(path)}</span>`;
}

function cardHtml(c: Card): string {
  const { entry, error, failure } = c.rendered;
  const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
  const cls = ['card', `r-${c.receiverIndex}`];
  if (NARROW.has(entry.format)) cls.push('card-narrow');
  if (error) cls.push('card-error');
  if (failure) cls.push('card-failed');
  return `<article class="${cls.join(' ')}" id="${c.id}" data-receiver="${escapeHtml(entry.receiver)}" data-path="${escapeHtml(entry.path)}">
<div class="card-head"><span class="fmt">${escapeHtml(formatLabel(entry.format))}</span> <span class="card-receiver">${escapeHtml(entry.receiver)}</span> ${fileLink(entry.path, name)}</div>
<div class="rendered">${c.rendered.html}</div>
</article>`;
}

function momentHtml(m: Moment<Card>, index: number): string {
  const when = m.updated ? `incident updated ${escapeHtml(m.updated)} UTC` : 'time not stated in the messages';
  const what = m.changes?.length
    ? `reacted to: ${m.changes.map(escapeHtml).join('; ')}`
    : m.headline
      ? `“${escapeHtml(m.headline)}”`
      : '';
  return `<li class="moment"><div class="moment-head">Moment ${index + 1} <span class="muted">· ${when}</span>${what ? ` <span class="moment-changes">· ${what}</span>` : ''}</div>
<div class="moment-cards">${m.items.map((p) => cardHtml(p.item)).join('\n')}</div></li>`;
}

function incidentHtml(g: IncidentGroup, index: number): string {
  const sev = g.severity ? ` <span class="sev sev-${escapeHtml(g.severity.toLowerCase().replace(/[^a-z]/g, ''))}">${escapeHtml(g.severity)}</span>` : '';
  const keyNote = g.number !== null && g.number !== g.key ? ` · id ${escapeHtml(g.key)}` : '';
  const failed = g.cards.filter((c) => c.rendered.failure).length;
  return `<section class="incident i-${index}" id="incident-${index}-top">
<div class="incident-head"><h2>${escapeHtml(incidentName(g))}${g.title ? ` — ${escapeHtml(g.title)}` : ''}${sev}</h2>
<div class="incident-meta muted">${plural(g.moments.length, 'moment')} · ${plural(g.cards.length, 'file')}${failed ? ` · <strong>${failed === 1 ? '1 failed delivery' : `${failed} failed deliveries`}</strong>` : ''}${keyNote}</div></div>
<ol class="timeline">${g.moments.map(momentHtml).join('\n')}</ol>
</section>`;
}

/** One rule set per view: a :target anchor switches everything else off. */
function viewCss(receivers: string[], incidents: IncidentGroup[]): string {
  const rules: string[] = [];
  receivers.forEach((_, i) => {
    const on = `body:has(#for-${i}:target)`;
    rules.push(`${on} .card:not(.r-${i}),${on} .moment:not(:has(.r-${i})),${on} .incident:not(:has(.r-${i})),${on} .banner-all{display:none}`);
    rules.push(`${on} .banner-r-${i}{display:block}${on} .views a[href="#for-${i}"]{background:#6264a7;color:#fff}${on} .views a[href="#for-${i}"] .n{color:#e6e7ff}`);
  });
  incidents.forEach((_, i) => {
    const on = `body:has(#incident-${i}:target)`;
    rules.push(`${on} .incident:not(.i-${i}),${on} .banner-all{display:none}`);
    rules.push(`${on} .banner-i-${i}{display:block}${on} .views a[href="#incident-${i}"]{background:#6264a7;color:#fff}${on} .views a[href="#incident-${i}"] .n{color:#e6e7ff}`);
  });
  return rules.join('\n');
}

function smsLine(infos: SmsSegmentInfo[]): string {
  if (infos.length === 0) return '';
  const segments = infos.reduce((n, s) => n + s.segments, 0);
  const ucs = infos.filter((s) => s.encoding === 'UCS-2').length;
  return ` · <span class="sms-summary">${plural(infos.length, 'SMS')} · ${plural(segments, 'segment')} in total · ${infos.length - ucs} GSM-7, ${ucs} UCS-2</span>`;
}

/**
 * The page for these outbox files: a timeline per incident (sorted by incident number), its moments
 * in delivery order, each moment's cards by receiver; a view per receiver and per incident. Malformed
 * files render as error boxes; only a non-array or an entry missing a field throws.
 */
export function renderPreviewPage(entries: PreviewEntry[], options: PreviewOptions = {}): string {
  validateEntries(entries);
  const title = options.title ?? 'Outbox preview';
  const receivers = [...new Set(entries.map((e) => e.receiver))].sort();
  const receiverIndex = new Map(receivers.map((r, i) => [r, i]));
  const cards: Card[] = entries.map((entry, i) => {
    const parsed = parseEntry(entry);
    return { rendered: renderOne(parsed), facts: factsOf(parsed), id: `entry-${i + 1}`, receiverIndex: receiverIndex.get(entry.receiver) ?? 0 };
  });
  const incidents = incidentGroups(cards);
  const incidentOf = new Map<Card, IncidentGroup>();
  for (const g of incidents) for (const c of g.cards) incidentOf.set(c, g);

  const failures = cards.filter((c) => c.rendered.failure);
  const unreadable = cards.filter((c) => c.rendered.error);
  const smsInfos = cards.flatMap((c) => (c.rendered.sms ? [c.rendered.sms] : []));

  const receiverRows = receivers.map((r, i) => {
    const mine = cards.filter((c) => c.receiverIndex === i);
    const formats = [...new Set(mine.map((c) => formatLabel(c.rendered.entry.format)))].join(', ');
    const failed = mine.filter((c) => c.rendered.failure).length;
    const inc = new Set(mine.map((c) => c.rendered.entry.incidentKey)).size;
    return { r, i, mine, formats, failed, inc };
  });

  const viewLinks = [
    '<a href="#all">Everything</a>',
    '<span class="views-label">What does a receiver get?</span>',
    ...receiverRows.map(
      (x) => `<a href="#for-${x.i}"${x.failed ? ' class="has-failed"' : ''}>${escapeHtml(x.r)} <span class="n">${x.mine.length}</span></a>`,
    ),
    '<span class="views-label">Incident:</span>',
    ...incidents.map((g, i) => `<a href="#incident-${i}" title="${escapeHtml(g.title ?? g.key)}">${escapeHtml(g.number ?? g.key)}</a>`),
  ];
  const anchors = [
    ...receivers.map((_, i) => `<span class="anchor" id="for-${i}"></span>`),
    ...incidents.map((_, i) => `<span class="anchor" id="incident-${i}"></span>`),
  ].join('');
  const banners = [
    `<p class="banner banner-all">Showing every file. Pick a receiver above to see only what it gets, or an incident to see only its timeline.</p>`,
    ...receiverRows.map(
      (x) =>
        `<div class="banner banner-r-${x.i}">What <strong>${escapeHtml(x.r)}</strong> gets: ${plural(x.mine.length, 'file')} (${escapeHtml(x.formats)}) for ${plural(x.inc, 'incident')}${x.failed ? `, <strong>${x.failed} failed</strong>` : ''}.</div>`,
    ),
    ...incidents.map(
      (g, i) =>
        `<div class="banner banner-i-${i}"><strong>${escapeHtml(incidentName(g))}</strong>${g.title ? ` — ${escapeHtml(g.title)}` : ''}: ${plural(g.moments.length, 'moment')}, ${plural(g.cards.length, 'file')}.</div>`,
    ),
  ].join('\n');

  const failedBox = failures.length
    ? `<div class="failed-box" role="alert"><strong>${failures.length === 1 ? '1 delivery' : `${failures.length} deliveries`} failed</strong> — not sent, shown below in red:<ul>${failures
        .map((c) => {
          const g = incidentOf.get(c);
          const f = c.rendered.failure;
          return `<li><a href="#${c.id}">${escapeHtml(c.rendered.entry.receiver)} · ${escapeHtml(g ? incidentName(g) : c.rendered.entry.incidentKey)}</a>: ${escapeHtml(f?.error ?? '')}</li>`;
        })
        .join('')}</ul></div>`
    : '';
  const errorBox = unreadable.length
    ? `<div class="error-box" role="alert"><strong>${plural(unreadable.length, 'file')} could not be rendered:</strong> ${unreadable
        .map((c) => `<a href="#${c.id}">${escapeHtml(c.rendered.entry.path)}</a>`)
        .join(', ')}</div>`
    : '';
  const generated = options.generatedAt ? ` · generated ${escapeHtml(options.generatedAt)}` : '';
  const head = entries.length
    ? `<p class="stats">${plural(entries.length, 'file')} for ${plural(incidents.length, 'incident')} and ${plural(receivers.length, 'receiver')}${smsLine(smsInfos)}<span class="muted">${generated}</span></p>
<table class="receivers"><thead><tr><th>Receiver</th><th>Gets</th><th class="num">Files</th><th class="num">Failed</th></tr></thead><tbody>${receiverRows
        .map((x) => `<tr><td><a href="#for-${x.i}">${escapeHtml(x.r)}</a></td><td>${escapeHtml(x.formats)}</td><td class="num">${x.mine.length}</td><td class="num">${x.failed}</td></tr>`)
        .join('')}</tbody></table>${failedBox}${errorBox}`
    : `<p class="empty">The outbox is empty: no message has been written yet.</p>${generated ? `<p class="muted">${generated.slice(3)}</p>` : ''}`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${PAGE_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_CSS}
${viewCss(receivers, incidents)}</style>
</head>
<body>
${anchors}
<header class="page-head"><h1>${escapeHtml(title)}</h1>${head}</header>
${entries.length ? `<nav class="views">${viewLinks.join(' ')}</nav>` : ''}
<main>
${banners}
${incidents.map(incidentHtml).join('\n')}
</main>
<script>${FIT_FRAMES_SCRIPT}</script>
</body>
</html>
`;
}
