import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../functions/core/errors.js';
import type { OutboxFormat } from '../../functions/connectors/types.js';
import { FIT_FRAMES_SCRIPT, PAGE_CSP, renderPreviewPage } from '../../functions/connectors/outbox/preview/page.js';
import { PREVIEW_CSP } from '../../functions/connectors/outbox/preview/frame.js';
import { safeHttpUrl } from '../../functions/connectors/outbox/preview/markup.js';
import type { PreviewEntry } from '../../functions/connectors/outbox/preview/entry.js';
import { adfToHtml } from '../../functions/connectors/jira/adf-html.js';
import { parseXml } from '../../functions/connectors/voice/twiml-reader.js';
import { slackMrkdwnToHtml } from '../../functions/connectors/slack/mrkdwn-html.js';
import { smsSegmentInfo } from '../../functions/connectors/sms/preview.js';

const SAMPLE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/outbox-sample');
const FORMATS: OutboxFormat[] = [
  'teams.json', 'slack.json', 'sms.txt', 'twiml.xml', 'jira.json', 'servicenow.json', 'ado.json', 'zendesk.json',
  'freshservice.json', 'pagerduty.json', 'eml', 'failed.json',
];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)],
  );
}

/** The outbox layout: <receiver>/<incidentKey>-<n>.<format> */
function entryFor(rel: string, body: string): PreviewEntry {
  const name = path.posix.basename(rel);
  const format = FORMATS.find((f) => name.endsWith(`.${f}`));
  if (!format) throw new Error(`no outbox format for ${rel}`);
  const stem = name.slice(0, -(format.length + 1));
  return { path: rel, receiver: rel.split('/')[0] ?? '', incidentKey: stem.replace(/-\d+$/, ''), format, body };
}

const ALL = walk(SAMPLE_DIR)
  .map((f) => path.relative(SAMPLE_DIR, f).split(path.sep).join('/'))
  .sort()
  .map((rel) => entryFor(rel, readFileSync(path.join(SAMPLE_DIR, rel), 'utf8')));

function sample(rel: string): PreviewEntry {
  const found = ALL.find((e) => e.path === rel);
  if (!found) throw new Error(`fixture ${rel} missing`);
  return found;
}

/**
 * The shared escapeHtml (render/escape.ts) also writes = ' and ` as character references; a browser
 * reads `&#x3D;` as `=`, so the expectations below are written in the shorter, equivalent spelling.
 */
function norm(html: string): string {
  return html.replace(/&#x3D;/g, '=').replace(/&#x27;/g, '&#39;').replace(/&#x60;/g, '`');
}

function pageOf(...entries: PreviewEntry[]): string {
  return norm(renderPreviewPage(entries, { title: 'Outbox preview', generatedAt: '2026-11-27T01:02:03Z' }));
}

// ─── a strict reader of the page's markup, to check what a browser would see as tags ───

interface Tag {
  name: string;
  attrs: Map<string, string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#x3D': '=', '#x60': '`' };
function decodeEntities(v: string): string {
  return v.replace(/&(amp|lt|gt|quot|#39|#x27|#x3D|#x60);/g, (_, n: string) => ENTITIES[n] ?? '');
}

const TAG_AT = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/y;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** Every "<" in the page must open a well-formed tag; anything else means markup leaked from input. */
function scanTags(html: string): Tag[] {
  const tags: Tag[] = [];
  let pos = html.indexOf('<');
  while (pos >= 0) {
    if (html.startsWith('<!doctype html>', pos)) {
      pos = html.indexOf('<', pos + 1);
      continue;
    }
    TAG_AT.lastIndex = pos;
    const m = TAG_AT.exec(html);
    if (!m) throw new Error(`stray "<" at ${pos}: ${html.slice(pos, pos + 60)}`);
    if (m[1] === '') {
      const attrs = new Map<string, string>();
      for (const a of (m[3] ?? '').matchAll(ATTR)) {
        attrs.set((a[1] ?? '').toLowerCase(), decodeEntities(a[2] ?? a[3] ?? a[4] ?? ''));
      }
      tags.push({ name: (m[2] ?? '').toLowerCase(), attrs });
    }
    pos = html.indexOf('<', pos + m[0].length);
  }
  return tags;
}

/** The checks every page must pass, however hostile its input. */
function expectInert(html: string): Tag[] {
  const tags = scanTags(html);
  for (const t of tags) {
    expect(['object', 'embed', 'base', 'form', 'link', 'frame', 'frameset', 'svg', 'math']).not.toContain(t.name);
    for (const [name, value] of t.attrs) {
      expect(name, `<${t.name} ${name}>`).not.toMatch(/^on/);
      // http(s), a view or card on the page, or the outbox file beside it (percent-encoded: no scheme)
      if (name === 'href') expect(value).toMatch(/^(https?:\/\/|#(incident-\d+|entry-\d+|for-\d+|all)$|[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$)/i);
      if (name === 'src') expect(value).toMatch(/^data:image\/(png|jpeg|gif|webp|bmp);base64,/);
      if (name === 'style') expect(value).toMatch(/^(flex:[\d.]+ [01] [\w.]+|border-left-color:#[0-9a-fA-F]{6})$/);
    }
    if (t.name === 'iframe') {
      expect(t.attrs.get('sandbox')).toBe('allow-same-origin');
      expect(t.attrs.get('srcdoc')?.startsWith(`<meta http-equiv="Content-Security-Policy" content="${PREVIEW_CSP}">`)).toBe(true);
    }
    if (t.name === 'meta' && t.attrs.has('http-equiv')) {
      expect(t.attrs.get('http-equiv')).toBe('Content-Security-Policy');
      expect(t.attrs.get('content')).toBe(PAGE_CSP);
    }
  }
  expect(tags.filter((t) => t.name === 'meta' && t.attrs.get('http-equiv') === 'Content-Security-Policy')).toHaveLength(1);
  // the one script: the fixed frame-sizer, pinned by its hash in the CSP
  expect(tags.filter((t) => t.name === 'script')).toHaveLength(1);
  expect(html).toContain(`<script>${FIT_FRAMES_SCRIPT}</script>\n</body>`);
  expect(PAGE_CSP).toMatch(/^default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-[A-Za-z0-9+/]{43}='$/);
  return tags;
}

function iframeDocs(html: string): string[] {
  return scanTags(html)
    .filter((t) => t.name === 'iframe')
    .map((t) => t.attrs.get('srcdoc') ?? '');
}

function hrefs(html: string): string[] {
  // the message's own links, not the page's links to its views and to the files beside it
  return scanTags(html).flatMap((t) => (t.attrs.has('href') && t.attrs.get('class') !== 'file' && !t.attrs.get('href')?.startsWith('#') ? [t.attrs.get('href') ?? ''] : []));
}

function errorBoxes(html: string): number {
  return (html.match(/<div class="error-box" role="alert">/g) ?? []).length;
}

describe('renderPreviewPage — the whole sample outbox', () => {
  const page = pageOf(...ALL);

  it('is one self-contained page with the strict CSP and nothing that loads or runs', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expectInert(page);
    expect(page).not.toMatch(/url\(/i);
    expect(page).not.toMatch(/@import/i);
  });

  it('lists incidents by number, each a timeline of moments, a moment\'s cards by receiver', () => {
    const incidents = [...page.matchAll(/<h2>Incident (\d+)/g)].map((m) => m[1]);
    expect(incidents).toEqual(['4711', '6666', '9999']);
    const first = page.slice(page.indexOf('<h2>Incident 4711'), page.indexOf('<h2>Incident 6666'));
    const moments = first.split('<li class="moment">').slice(1);
    expect(moments.length).toBeGreaterThan(1);
    const paths = (html: string) => [...html.matchAll(/data-path="([^"]+)"/g)].map((m) => m[1]);
    // a receiver's files in their delivery order, the first of each in the first moment
    expect(paths(first).filter((p) => p?.startsWith('soc-jira/'))).toEqual(['soc-jira/4711-1.jira.json', 'soc-jira/4711-2.jira.json', 'soc-jira/4711-3.jira.json']);
    expect(paths(moments[0] ?? '')).toEqual(expect.arrayContaining(['lead-sms/4711-1.sms.txt', 'soc-email/4711-1.eml', 'soc-jira/4711-1.jira.json']));
    const receiversInMoment = [...new Set(paths(moments[0] ?? '').map((p) => p?.split('/')[0]))];
    expect(receiversInMoment).toEqual([...receiversInMoment].sort());
  });

  it('shows each file once, as a card with its receiver and a link to the file beside the page', () => {
    const articles = page.split('<article').slice(1);
    expect(articles).toHaveLength(ALL.length);
    for (const e of ALL) {
      const art = articles.filter((a) => a.includes(`data-path="${e.path}"`));
      expect(art, e.path).toHaveLength(1);
      expect(art[0]).toContain(`<span class="card-receiver">${e.receiver}</span>`);
      expect(art[0]).toContain(`<a class="file" href="${e.path}">`);
    }
    // the raw body is the file itself: linked, not copied into the page a second time
    expect(page).not.toContain('<details class="raw">');
  });

  it('has a view per receiver and per incident, each a link, with the files each receiver gets', () => {
    const receivers = [...new Set(ALL.map((e) => e.receiver))].sort();
    receivers.forEach((r, i) => {
      expect(page).toContain(`<span class="anchor" id="for-${i}"></span>`);
      expect(page).toContain(`body:has(#for-${i}:target) .card:not(.r-${i})`);
      const mine = ALL.filter((e) => e.receiver === r).length;
      expect(page).toContain(`<a href="#for-${i}">${r}</a></td>`);
      expect(page).toMatch(new RegExp(`<div class="banner banner-r-${i}">What <strong>${r}</strong> gets: ${mine} files? `));
      for (const art of page.split('<article').slice(1).filter((a) => a.includes(`data-receiver="${r}"`))) {
        expect(art.slice(0, art.indexOf('>'))).toMatch(new RegExp(`class="card r-${i}[ "]`));
      }
    });
    ['4711', '6666', '9999'].forEach((n, i) => expect(page).toContain(`<a href="#incident-${i}" title=`));
  });

  it('totals SMS segments', () => {
    // 88 GSM-7 chars = 1, the emoji message = 4 (245 UTF-16 units / 67), the hostile one = 1
    expect(page).toContain('<span class="sms-summary">3 SMSs · 6 segments in total · 2 GSM-7, 1 UCS-2</span>');
    expect(page).toContain(`${ALL.length} files for 3 incidents and 11 receivers`);
  });

  it('lists the files it could not render, and renders an error box for each', () => {
    expect(errorBoxes(page)).toBe(5);
    expect(page).toMatch(/<strong>4 files could not be rendered:<\/strong>/);
  });

  it('never shows the PagerDuty routing key, the integration credential', () => {
    expect(page).not.toContain('R0123456789abcdef0123456789abcdef');
    // a file that cannot be rendered is shown raw: still without the key
    const broken = pageOf({ ...sample('soc-pagerduty/4711-1.pagerduty.json'), body: '{"routing_key":"R0123456789abcdef0123456789abcdef","event_action":"explode"}' });
    expect(errorBoxes(broken)).toBe(2);
    expect(broken).not.toContain('R0123456789abcdef0123456789abcdef');
    expect(broken).toContain('«routing_key hidden»');
  });
});

describe('failed deliveries (.failed.json)', () => {
  it('shows the record as a marked failure card with its reason, and lists it at the top', () => {
    const page = pageOf(sample('lead-sms/9999-1.failed.json'), sample('soc-teams/9999-1.teams.json'));
    expectInert(page);
    const card = page.split('<article').find((a) => a.includes('data-path="lead-sms/9999-1.failed.json"')) ?? '';
    expect(card).toMatch(/^ class="card r-0 card-failed"/);
    expect(card).toContain('<div class="failed-head">Not delivered</div><div class="failed-reason">receiver lead-sms: env:SMS_AUTH_TOKEN is not set</div>');
    expect(page).toContain('<strong>1 delivery failed</strong>');
    expect(page).toContain('<a href="#entry-1">lead-sms · Incident 9999</a>: receiver lead-sms: env:SMS_AUTH_TOKEN is not set');
    expect(page).not.toContain('<img src=x');
  });

  it('renders a record that is not a failure, or has no reason, as an error box', () => {
    const bad = (body: string) => pageOf({ path: 'r/1-1.failed.json', receiver: 'r', incidentKey: '1', format: 'failed.json', body });
    expect(errorBoxes(bad('{"action":"sent","error":"x"}'))).toBe(2);
    expect(errorBoxes(bad('{"action":"failed"}'))).toBe(2);
    expect(errorBoxes(bad('not json'))).toBe(2);
  });
});

describe('incidents and moments', () => {
  const entry = (path: string, body: string, format: OutboxFormat = 'sms.txt'): PreviewEntry => ({
    path, receiver: path.split('/')[0] ?? '', incidentKey: (path.split('/')[1] ?? '').replace(/-\d+\..*$/, ''), format, body,
  });
  const pd = (n: number, at: string, changes: unknown[]) =>
    JSON.stringify({ event_action: 'trigger', payload: { summary: `s ${n}`, timestamp: at, custom_details: { incident_number: n, title: `Title ${n}`, severity: 'High', changes } } });

  it('sorts incidents by number, a key that names no number last, and titles them from the files', () => {
    const page = pageOf(
      entry('a/aaaa-guid-0001-1.sms.txt', 'hello'),
      entry('a/0b7d-guid-1.sms.txt', 'Sentinel incident 3104: x'),
      entry('a/3101-1.sms.txt', 'Sentinel incident 3101: y'),
      entry('p/3101-1.pagerduty.json', pd(3101, '2026-11-26T08:05:00Z', []), 'pagerduty.json'),
    );
    const heads = [...page.matchAll(/<h2>([^<]+)/g)].map((m) => m[1]?.trim());
    expect(heads).toEqual(['Incident 3101 — Title 3101', 'Incident 3104', 'Incident aaaa-guid-0001']);
  });

  it('lines receivers up by the update time a file tells, and names the changes each moment reacted to', () => {
    const page = pageOf(
      entry('p/7-1.pagerduty.json', pd(7, '2026-11-26T08:05:00Z', [{ kind: 'owner', from: null, to: 'Defender Experts' }]), 'pagerduty.json'),
      entry('p/7-2.pagerduty.json', pd(7, '2026-11-26T10:12:00Z', [{ kind: 'tag-added', from: null, to: 'Awaiting Customer Action' }, { kind: 'owner', from: 'Defender Experts', to: 'Customer' }]), 'pagerduty.json'),
      entry('s/7-1.sms.txt', 'first'),
      entry('s/7-2.sms.txt', 'second'),
    );
    const moments = page.split('<li class="moment">').slice(1);
    expect(moments).toHaveLength(2);
    expect(moments[0]).toMatch(/Moment 1 <span class="muted">· incident updated 2026-11-26 08:05 UTC<\/span> <span class="moment-changes">· reacted to: owner: Defender Experts<\/span>/);
    expect(moments[1]).toContain('reacted to: tag added: Awaiting Customer Action; owner: Defender Experts → Customer');
    expect([...(moments[0] ?? '').matchAll(/data-path="([^"]+)"/g)].map((m) => m[1])).toEqual(['p/7-1.pagerduty.json', 's/7-1.sms.txt']);
    expect([...(moments[1] ?? '').matchAll(/data-path="([^"]+)"/g)].map((m) => m[1])).toEqual(['p/7-2.pagerduty.json', 's/7-2.sms.txt']);
  });
});

describe('email (.eml)', () => {
  it('shows decoded headers and the quoted-printable HTML part in a scriptless sandbox, text part collapsed', () => {
    const page = pageOf(sample('soc-email/4711-1.eml'));
    expectInert(page);
    expect(page).toContain('<tr><th>Subject</th><td>[Sentinel 4711] Incident is Active – Defender Experts took ownership</td></tr>');
    expect(page).toContain('<tr><th>From</th><td>Sentinel Playbook Kit &lt;soc-alerts@contoso.example&gt;</td></tr>');
    expect(page).toContain('<tr><th>Date</th><td>Fri, 27 Nov 2026 01:02:03 +0000</td></tr>');
    const [doc] = iframeDocs(page);
    expect(doc).toContain('Title: Suspicious sign-in from unfamiliar location (Zürich)</p>');
    expect(doc).toContain('<a href="https://security.microsoft.com/incidents/4711">Open in Defender</a>');
    expect(page).toMatch(/<details class="email-text"><summary>Plain-text part<\/summary><pre class="wrap">Incident 4711 is Active\.\r?\nOwner: Defender Experts/);
  });

  it('decodes base64 parts and base64 encoded-word subjects, and lists attachments', () => {
    const page = pageOf(sample('soc-email/4711-2.eml'));
    expect(page).toContain('<td>[Sentinel 4711] Incident Closed ✔</td>');
    expect(iframeDocs(page)[0]).toContain('<p>Remediation: device <code>WS-FIN-042</code> isolated.</p>');
    expect(page).toContain('Attachment: incident-4711.json <span class="muted">application/json</span>');
  });

  it('shows a plain-text-only message as text', () => {
    const body = 'From: a@contoso.example\nTo: b@contoso.example\nSubject: plain\nContent-Type: text/plain; charset=utf-8\n\nLine <one>\nLine two';
    const page = pageOf({ path: 'm/1-1.eml', receiver: 'm', incidentKey: '1', format: 'eml', body });
    expect(iframeDocs(page)).toHaveLength(0);
    expect(page).toContain('<pre class="wrap email-plain">Line &lt;one&gt;\nLine two</pre>');
  });

  it('keeps hostile subjects, text parts and srcdoc breakers inert', () => {
    const page = pageOf(sample('soc-email/6666-1.eml'));
    expectInert(page);
    expect(page).toContain('<td>[Sentinel 6666] &quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;</td>');
    expect(page).toContain('Title: &lt;/pre&gt;&lt;script&gt;alert(&quot;text part&quot;)&lt;/script&gt;');
    const docs = iframeDocs(page);
    expect(docs).toHaveLength(1);
    // the breaker stays inside the (sandboxed) iframe document instead of closing the iframe
    expect(docs[0]).toContain('"></iframe><script>alert("srcdoc breaker")</script>');
  });

  it.each([
    ['no boundary', 'From: a@x.example\nSubject: s\nContent-Type: multipart/alternative\n\n--x\n\nhi\n--x--', /without a boundary parameter/],
    ['a boundary never used', 'From: a@x.example\nSubject: s\nContent-Type: multipart/mixed; boundary=zz\n\nno parts here', /boundary &quot;zz&quot; never appears/],
    ['no closing boundary', 'Subject: s\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhi', /closing boundary &quot;--zz--&quot; is missing/],
    ['a garbage header line', 'From: a@x.example\nthis is not a header\nSubject: s\n\nbody', /header line 2 is not a &quot;Name: value&quot; header/],
    ['bad base64', 'Subject: s\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!', /not valid base64/],
    ['no text or html part', 'Subject: s\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: image/png\n\nxx\n--zz--', /neither a text\/plain nor a text\/html part/],
    ['an empty file', '', /the message is empty/],
  ])('renders an error box for MIME with %s', (_, body, message) => {
    const page = pageOf({ path: 'e/1-1.eml', receiver: 'e', incidentKey: '1', format: 'eml', body });
    expectInert(page);
    expect(errorBoxes(page)).toBe(2); // the entry's box and the header's list of failed files
    expect(page).toMatch(message);
  });
});

describe('Teams (.teams.json)', () => {
  it('renders the Adaptive Card elements like Teams does', () => {
    const page = pageOf(sample('soc-teams/4711-1.teams.json'));
    expectInert(page);
    expect(page).toContain('<div class="ac-textblock ac-size-medium ac-weight-bolder">Incident 4711 is Active</div>');
    expect(page).toContain('<div class="ac-textblock ac-subtle">Owner changed to <strong>Defender Experts</strong></div>');
    expect(page).toContain('<div class="ac-textblock ac-color-attention">Suspicious sign-in from unfamiliar location</div>');
    expect(page).toContain('<span class="ac-run ac-weight-bolder">adele.vance@contoso.example</span>');
    expect(page).toContain('<span class="ac-run"><em> (excluded asset)</em></span>');
    expect(page).toContain('<tr><th>Severity</th><td>High</td></tr>');
    expect(page).toContain('<div class="ac-columnset"><div class="ac-column" style="flex:0 0 auto">');
    expect(page).toContain('<div class="ac-container ac-style-emphasis">');
    expect(page).toMatch(/<img class="ac-image ac-image-small" src="data:image\/png;base64,[^"]+" alt="Severity high">/);
    expect(page).toContain('See the <a href="https://security.microsoft.com/incidents/4711" target="_blank" rel="noopener noreferrer">incident in Defender</a>');
    expect(page).toContain('<a class="ac-action" href="https://security.microsoft.com/incidents/4711" target="_blank" rel="noopener noreferrer">Open in Defender</a>');
  });

  it('escapes before applying markdown, and links only http(s)', () => {
    const card = (text: string): PreviewEntry => ({
      path: 't/1-1.teams.json', receiver: 't', incidentKey: '1', format: 'teams.json',
      body: JSON.stringify({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text }] }),
    });
    const page = pageOf(card('**<b>x</b>** _it_ [js](javascript:alert`1`) [ok](https://a.example/x_y_z?a=1&b=2)'));
    expectInert(page);
    expect(page).toContain('<strong>&lt;b&gt;x&lt;/b&gt;</strong> <em>it</em> <span>js</span> <span class="blocked-link">[link not allowed: javascript:alert`1`]</span>');
    expect(hrefs(page)).toContain('https://a.example/x_y_z?a=1&b=2');
  });

  it('shows unknown elements and non-data images as labelled placeholders, and hostile cards stay inert', () => {
    const page = pageOf(sample('soc-teams/6666-1.teams.json'));
    expectInert(page);
    expect(page).toContain('card element Media');
    expect(page).toContain('card element Input.Text');
    expect(page).toContain('Image from https://tracker.example/beacon.png');
    expect(page).toContain('Incident 6666: &quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(page).toContain('<span class="ac-action ac-action-inert" title="Action.Submit — does nothing in the preview">Approve</span>');
    expect(page).toContain('[link not allowed: javascript:alert(8)]');
    expect(page).toContain('[link not allowed: data:text/html,&lt;script&gt;alert(9)&lt;/script&gt;]');
    expect(hrefs(page)).toEqual([]);
  });

  it('renders malformed JSON and non-card bodies as error boxes with the raw text escaped', () => {
    const page = pageOf(sample('soc-teams/9999-1.teams.json'));
    expect(errorBoxes(page)).toBe(2);
    expect(page).toContain('soc-teams/9999-1.teams.json: not valid JSON');
    const notCard = pageOf({ path: 't/1-1.teams.json', receiver: 't', incidentKey: '1', format: 'teams.json', body: '{"text":"<script>"}' });
    expect(notCard).toContain('neither a Teams message with attachments nor an Adaptive Card');
    expect(notCard).toContain('<pre>{&quot;text&quot;:&quot;&lt;script&gt;&quot;}</pre>');
  });
});

describe('Slack (.slack.json)', () => {
  it('renders header, mrkdwn sections, fields, context, divider and buttons', () => {
    const page = pageOf(sample('soc-slack/4711-1.slack.json'));
    expectInert(page);
    expect(page).toContain('<div class="slack-header">Incident 4711 is Active</div>');
    expect(page).toContain('<strong>Owner:</strong> Defender Experts<br><strong>Title:</strong> Suspicious sign-in &amp; token theft &lt;script&gt; escaped');
    expect(page).toContain('<div class="slack-fields"><div><strong>Severity</strong><br>High</div><div><strong>Status</strong><br>Active</div></div>');
    expect(page).toContain('<hr class="slack-divider">');
    expect(page).toContain('<a href="https://security.microsoft.com/incidents/4711" target="_blank" rel="noopener noreferrer">Open in Defender</a> · <em>sent by the Sentinel Playbook Kit</em>');
    expect(page).toContain('<a class="slack-button slack-button-primary" href="https://security.microsoft.com/incidents/4711"');
    expect(page).toContain('Notification text: Incident 4711 is Active (owner: Defender Experts)');
  });

  it('shows the channel and thread of a chat.postMessage, with code and strike', () => {
    const page = pageOf(sample('soc-slack/4711-2.slack.json'));
    expect(page).toContain('in C0123456789 · reply in thread 1700000000.000100');
    expect(page).toContain('Incident <strong>4711</strong> closed as <code>TruePositive</code> <s>reopened</s>');
  });

  it('parses links before decoding &amp; &lt; &gt;, decodes exactly those, then escapes for the page', () => {
    expect(slackMrkdwnToHtml('a &amp;lt;b&amp;gt; &lt;i&gt; &quot;')).toBe('a &amp;lt;b&amp;gt; &lt;i&gt; &amp;quot;');
    // an escaped "<" is text, so it can never start a link
    expect(slackMrkdwnToHtml('&lt;https://evil.example|x&gt;')).toBe('&lt;https://evil.example|x&gt;');
    expect(norm(slackMrkdwnToHtml('<https://a.example/?q=1&amp;r=2|A &amp; B>'))).toBe(
      '<a href="https://a.example/?q=1&amp;r=2" target="_blank" rel="noopener noreferrer">A &amp; B</a>',
    );
    expect(slackMrkdwnToHtml('<@U123> <#C42|soc> <!here>')).toBe(
      '<span class="mention">@U123</span> <span class="mention">#soc</span> <span class="mention">@here</span>',
    );
  });

  it('shows <javascript:...|x> links, hostile text and unknown blocks inertly', () => {
    const page = pageOf(sample('soc-slack/6666-1.slack.json'));
    expectInert(page);
    expect(hrefs(page)).toEqual(['https://security.microsoft.com/incidents/6666']);
    expect(page).toContain('Click <span>*here*</span> <span class="blocked-link">[link not allowed: javascript:alert(1)]</span>');
    expect(page).toContain('title: &lt;script&gt;alert(2)&lt;/script&gt; and &amp;lt;b&amp;gt; stays literal');
    expect(page).toContain('&quot;&gt;&lt;img src=x onerror=alert(3)&gt;');
    expect(page).toContain('Slack block video');
  });

  it('renders a body with no text, blocks or attachments as an error box', () => {
    const page = pageOf({ path: 's/1-1.slack.json', receiver: 's', incidentKey: '1', format: 'slack.json', body: '{"channel":"C1"}' });
    expect(page).toContain('a Slack message needs text, blocks or attachments');
  });
});

describe('SMS (.sms.txt)', () => {
  it('shows the text in a bubble with characters, encoding and segments', () => {
    const gsm = pageOf(sample('lead-sms/4711-1.sms.txt'));
    expect(gsm).toContain('<div class="sms-bubble">Incident 4711 is Active. Owner: Defender Experts. Severity: High. Reply STOP to opt out.</div>');
    expect(gsm).toContain('88 characters · GSM-7 · 1 segment</div>');
    const ucs = pageOf(sample('lead-sms/4711-2.sms.txt'));
    expect(ucs).toContain('244 characters · UCS-2 · 4 segments</div>');
    const hostile = pageOf(sample('lead-sms/6666-1.sms.txt'));
    expectInert(hostile);
    expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(2)&gt;</div>');
  });

  it.each([
    ['', 'GSM-7', 0],
    ['a'.repeat(160), 'GSM-7', 1],
    ['a'.repeat(161), 'GSM-7', 2],
    ['a'.repeat(306), 'GSM-7', 2],
    ['a'.repeat(307), 'GSM-7', 3],
    ['B'.repeat(1600), 'GSM-7', 11],
    ['€'.repeat(80), 'GSM-7', 1],
    ['€'.repeat(81), 'GSM-7', 2],
    ['{}[]~|^\\', 'GSM-7', 1],
    ['Zürich Ñandù café @£$¥', 'GSM-7', 1],
    ['Zürich Ñandú', 'UCS-2', 1], // ú is not in GSM 03.38 (ù is)
    // an escape pair never straddles two segments: 152 + (2) + 152 septets need three, not two
    [`${'a'.repeat(152)}€${'a'.repeat(152)}`, 'GSM-7', 3],
    ['ç'.repeat(70), 'UCS-2', 1],
    ['ç'.repeat(71), 'UCS-2', 2],
    ['ç'.repeat(134), 'UCS-2', 2],
    ['ç'.repeat(135), 'UCS-2', 3],
    ['🚨'.repeat(35), 'UCS-2', 1],
    ['🚨'.repeat(36), 'UCS-2', 2],
    // a surrogate pair is never split: 66 + (2) + 66 units need three segments of 67
    [`${'a'.repeat(66)}🚨${'a'.repeat(66)}`, 'UCS-2', 3],
  ])('counts %j as %s in %i segment(s)', (text, encoding, segments) => {
    expect(smsSegmentInfo(text)).toMatchObject({ encoding, segments });
  });

  it('counts characters as code points, not UTF-16 units', () => {
    expect(smsSegmentInfo('🚨 alert').characters).toBe(7);
  });
});

describe('voice (.twiml.xml)', () => {
  it('shows the spoken text as a call script, entities decoded once, the raw XML one click away', () => {
    const page = pageOf(sample('lead-voice/4711-1.twiml.xml'));
    expectInert(page);
    expect(page).toContain('<blockquote class="spoken">Incident 4711 needs your action. Owner: Customer. Title: &lt;script&gt; and &amp; escaped.</blockquote>');
    expect(page).toContain('<span class="verb">Pauses</span> 1 s');
    expect(page).toMatch(/Waits for keypad input<\/span> <span class="muted">\(numDigits=1, action=\/ack\?incident=4711&amp;step=1, method=POST\)<\/span><ol class="call-script"><li class="call-say"><span class="verb">Says<\/span><blockquote class="spoken">Press 1 to acknowledge\.<\/blockquote>/);
    expect(page).toContain('<span class="verb">Hangs up</span>');
    expect(page).toContain('<a class="file" href="lead-voice/4711-1.twiml.xml">');
  });

  it('keeps hostile spoken text and audio URLs inert', () => {
    const page = pageOf(sample('lead-voice/6666-1.twiml.xml'));
    expectInert(page);
    expect(page).toContain('Title: &lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(2)&gt;</blockquote>');
    expect(hrefs(page)).toEqual([]);
  });

  it.each([
    ['an unclosed element', '<Response><Say>x</Response>', /<\/Response> closes <Say>/],
    ['a bare ampersand', '<Response><Say>a & b</Say></Response>', /"&" must be written as &amp;/],
    ['an unknown entity', '<Response><Say>&nbsp;</Say></Response>', /unknown entity &nbsp;/],
    ['a DOCTYPE', '<!DOCTYPE r [<!ENTITY x "y">]><Response/>', /DOCTYPE is not allowed/],
    ['a second root', '<Response/><Response/>', /content after the root element/],
    ['an unquoted attribute', '<Response><Pause length=1/></Response>', /value must be quoted/],
  ])('reports XML with %s, with line and column', (_, xml, message) => {
    expect(() => parseXml(xml)).toThrow(message);
    const page = pageOf({ path: 'v/1-1.twiml.xml', receiver: 'v', incidentKey: '1', format: 'twiml.xml', body: xml });
    expect(errorBoxes(page)).toBe(2);
    expect(page).toMatch(/not well-formed XML \(line \d+:\d+ /);
  });

  it('rejects a root other than <Response>', () => {
    const page = pageOf({ path: 'v/1-1.twiml.xml', receiver: 'v', incidentKey: '1', format: 'twiml.xml', body: '<Say>hi</Say>' });
    expect(page).toContain('the TwiML root must be &lt;Response&gt;, not &lt;Say&gt;');
  });
});

describe('tickets', () => {
  const opOf = (html: string): string | undefined => /<span class="op op-(\w+)">/.exec(html)?.[1];

  it('renders a Jira create with its ADF description', () => {
    const page = pageOf(sample('soc-jira/4711-1.jira.json'));
    expectInert(page);
    expect(opOf(page)).toBe('create');
    expect(page).toContain('<div class="ticket-title">[Sentinel 4711] Suspicious sign-in from unfamiliar location</div>');
    expect(page).toContain('<tr><th>project</th><td>SOC</td></tr>');
    expect(page).toContain('<tr><th>labels</th><td><span class="chip">sentinel</span> <span class="chip">sentinel-4711</span> <span class="chip">defender-experts</span></td></tr>');
    expect(page).toContain('<div class="adf-h adf-h3">Incident 4711</div>');
    expect(page).toContain('Owner changed to <strong>Defender Experts</strong>. Title as received: <code>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;quotes&#39;</code>');
    expect(page).toContain('<ul><li><p>Device WS-FIN-042</p></li><li><p><em>User adele.vance</em></p></li></ul>');
    expect(page).toContain('<ol><li><p>Isolate the device</p></li>');
    expect(page).toContain('<div class="adf-panel adf-panel-warning"><p>Guidance only');
    expect(page).toContain('<pre class="adf-code">SigninLogs | where UserPrincipalName == &quot;adele.vance@contoso.example&quot;</pre>');
    expect(page).toContain('<hr>');
    expect(hrefs(page)).toEqual(['https://security.microsoft.com/incidents/4711']);
  });

  it('tells Jira comment, transition-with-resolution and edit bodies apart', () => {
    expect(opOf(pageOf(sample('soc-jira/4711-2.jira.json')))).toBe('comment');
    const transition = pageOf(sample('soc-jira/4711-3.jira.json'));
    expect(opOf(transition)).toBe('resolve');
    expect(transition).toContain('<tr><th>transition</th><td>31</td></tr>');
    expect(transition).toContain('<p>Closed in Sentinel as TruePositive.</p>');
    const edit = pageOf({ path: 'j/1-1.jira.json', receiver: 'j', incidentKey: '1', format: 'jira.json', body: '{"fields":{"labels":["x"]}}' });
    expect(opOf(edit)).toBe('update');
    const bare = pageOf({ path: 'j/1-1.jira.json', receiver: 'j', incidentKey: '1', format: 'jira.json', body: '{"transition":{"id":"21"}}' });
    expect(opOf(bare)).toBe('transition');
  });

  it('links ADF only to http(s) and shows unknown nodes as placeholders', () => {
    const page = pageOf(sample('soc-jira/6666-1.jira.json'));
    expectInert(page);
    expect(hrefs(page)).toEqual([]);
    expect(page).toContain('<span>evil link</span> <span class="blocked-link">[link not allowed: javascript:alert(1)]</span>');
    expect(page).toContain('<div class="adf-h adf-h3">heading</div>');
    expect(page).toContain('document node mediaSingle');
    expect(adfToHtml({ type: 'text', text: 'x', marks: [{ type: 'link', attrs: { href: ' JaVaScRiPt:alert(1)' } }] })).not.toContain('href');
  });

  it('renders ServiceNow create, work note and resolve', () => {
    const create = pageOf(sample('soc-servicenow/4711-1.servicenow.json'));
    expect(opOf(create)).toBe('create');
    expect(create).toContain('<tr><th>urgency</th><td>1 <span class="muted">(High)</span></td></tr>');
    expect(create).toContain('<div class="plain">Owner changed to Defender Experts.\nSeverity: High');
    const note = pageOf(sample('soc-servicenow/4711-2.servicenow.json'));
    expect(opOf(note)).toBe('comment');
    expect(note).toContain('Work note (internal)');
    expect(note).toContain('Defender Experts set &quot;Awaiting Customer Action&quot;: isolate WS-FIN-042.');
    const resolve = pageOf(sample('soc-servicenow/4711-3.servicenow.json'));
    expect(opOf(resolve)).toBe('resolve');
    expect(resolve).toContain('<tr><th>state</th><td>6 <span class="muted">(Resolved)</span></td></tr>');
  });

  it('renders Azure DevOps JSON Patch as a field table with HTML fields sandboxed', () => {
    const create = pageOf(sample('soc-ado/4711-1.ado.json'));
    expectInert(create);
    expect(opOf(create)).toBe('create');
    expect(create).toContain('<div class="ticket-title">[Sentinel 4711] Suspicious sign-in</div>');
    expect(create).toContain('<tr><th>Microsoft.VSTS.Common.Priority</th><td>1</td></tr>');
    expect(iframeDocs(create)[0]).toContain('<div>Owner changed to <b>Defender Experts</b>. &lt;script&gt;</div>');
    const update = pageOf(sample('soc-ado/4711-2.ado.json'));
    expect(opOf(update)).toBe('resolve');
    expect(update).toContain('<tr><th>only if rev is</th><td>3</td></tr>');
    expect(update).toContain('<tr><th>System.State</th><td>Closed</td></tr>');
    expect(iframeDocs(update)[0]).toContain('<p>Closed in Sentinel as <b>TruePositive</b>.</p>');
    const hostile = pageOf(sample('soc-ado/6666-1.ado.json'));
    expectInert(hostile);
    expect(hrefs(hostile)).toEqual([]);
    expect(errorBoxes(pageOf(sample('soc-ado/9999-1.ado.json')))).toBe(2);
  });

  it('renders Zendesk create (internal note) and solve (HTML comment sandboxed)', () => {
    const create = pageOf(sample('soc-zendesk/4711-1.zendesk.json'));
    expect(opOf(create)).toBe('create');
    expect(create).toContain('Internal note');
    expect(create).toContain('<div class="plain">Owner changed to Defender Experts.\nSeverity: High</div>');
    const solve = pageOf(sample('soc-zendesk/4711-2.zendesk.json'));
    expect(opOf(solve)).toBe('resolve');
    expect(iframeDocs(solve)[0]).toContain('<strong>TruePositive</strong>');
  });

  it('renders Freshservice create and private note with HTML sandboxed', () => {
    const create = pageOf(sample('soc-freshservice/4711-1.freshservice.json'));
    expectInert(create);
    expect(opOf(create)).toBe('create');
    expect(create).toContain('<tr><th>status</th><td>2 <span class="muted">(Open)</span></td></tr>');
    expect(iframeDocs(create)[0]).toContain('<p>Owner changed to <b>Defender Experts</b>.</p>');
    const note = pageOf(sample('soc-freshservice/4711-2.freshservice.json'));
    expect(opOf(note)).toBe('comment');
    expect(note).toContain('Private note');
  });

  it('renders PagerDuty trigger and resolve with the routing key hidden', () => {
    const trigger = pageOf(sample('soc-pagerduty/4711-1.pagerduty.json'));
    expect(opOf(trigger)).toBe('trigger');
    expect(trigger).toContain('<tr><th>severity</th><td>critical</td></tr>');
    expect(trigger).toContain('<tr><th>details.owner</th><td>Defender Experts</td></tr>');
    expect(trigger).toContain('<li><a href="https://security.microsoft.com/incidents/4711" target="_blank" rel="noopener noreferrer">Open in Defender</a></li>');
    expect(trigger).not.toContain('R0123456789abcdef0123456789abcdef');
    expect(opOf(pageOf(sample('soc-pagerduty/4711-2.pagerduty.json')))).toBe('resolve');
    const hostile = pageOf(sample('soc-pagerduty/6666-1.pagerduty.json'));
    expectInert(hostile);
    expect(hrefs(hostile)).toEqual(['https://security.microsoft.com/incidents/6666']);
    const bad = pageOf({ path: 'p/1-1.pagerduty.json', receiver: 'p', incidentKey: '1', format: 'pagerduty.json', body: '{"event_action":"explode"}' });
    expect(bad).toContain('event_action must be trigger, acknowledge or resolve');
  });
});

describe('input handling', () => {
  it('allows only http and https URLs', () => {
    expect(safeHttpUrl('https://security.microsoft.com/incidents/1')).toBe('https://security.microsoft.com/incidents/1');
    for (const bad of ['javascript:alert(1)', ' javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,x', 'vbscript:x', '/relative', '//host/x', 'mailto:a@b.example', 42]) {
      expect(safeHttpUrl(bad)).toBeNull();
    }
  });

  it('says the outbox is empty when it is', () => {
    const page = renderPreviewPage([]);
    expectInert(page);
    expect(page).toContain('The outbox is empty');
    expect(page).toContain('<title>Outbox preview</title>');
  });

  it('escapes the title and timestamp options', () => {
    const page = renderPreviewPage([], { title: '<script>x</script>', generatedAt: '"><b>' });
    expectInert(page);
    expect(page).toContain('<title>&lt;script&gt;x&lt;/script&gt;</title>');
  });

  it('escapes hostile receiver names, incident keys and paths', () => {
    const page = pageOf({ path: '"><script>1</script>.sms.txt', receiver: '<img src=x onerror=alert(1)>', incidentKey: '<script>alert(1)</script>', format: 'sms.txt', body: 'hi' });
    expectInert(page);
    expect(page).toContain('<h2>Incident &lt;script&gt;alert(1)&lt;/script&gt;</h2>');
  });

  it('renders an unknown format as an error box', () => {
    const page = pageOf({ path: 'x/1-1.fax', receiver: 'x', incidentKey: '1', format: 'fax' as OutboxFormat, body: '<b>' });
    expect(page).toContain('unknown outbox format &quot;fax&quot;');
    expect(page).toContain('<pre>&lt;b&gt;</pre>');
  });

  it('throws a KitError that says which entry field is wrong', () => {
    expect(() => renderPreviewPage('nope' as unknown as PreviewEntry[])).toThrow(KitError);
    try {
      renderPreviewPage([{ path: 'a', receiver: 'r', incidentKey: '1', format: 'sms.txt' } as PreviewEntry]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KitError);
      expect((e as KitError).where?.field).toBe('entries[0].body');
      expect((e as KitError).kind).toBe('validation');
    }
  });

  it('survives deeply nested cards and documents', () => {
    let items: unknown = { type: 'TextBlock', text: 'deep' };
    for (let i = 0; i < 200; i++) items = { type: 'Container', items: [items] };
    let adf: unknown = { type: 'text', text: 'deep' };
    for (let i = 0; i < 200; i++) adf = { type: 'blockquote', content: [adf] };
    const page = pageOf(
      { path: 't/1-1.teams.json', receiver: 't', incidentKey: '1', format: 'teams.json', body: JSON.stringify({ type: 'AdaptiveCard', body: [items] }) },
      { path: 'j/1-1.jira.json', receiver: 'j', incidentKey: '1', format: 'jira.json', body: JSON.stringify({ body: { type: 'doc', content: [adf] } }) },
    );
    expectInert(page);
    expect(page).toContain('nested deeper than the preview follows');
  });
});

describe('hostile text in any field of any format', () => {
  const snippets = fc.constantFrom(
    '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>", '</iframe><script>1</script>',
    'javascript:alert(1)', '<javascript:alert(1)|x>', '[x](javascript:alert(1))', '&lt;script&gt;', '&amp;lt;', '**', '_', '`',
    '<a href="javascript:alert(1)">x</a>', '</textarea></pre></style>', '&#x3C;script&#x3E;', '\u0000', '\r\n', '🚨',
  );
  const hostile = fc.array(fc.oneof(snippets, fc.string({ unit: 'grapheme', maxLength: 12 })), { maxLength: 6 }).map((parts) => parts.join(''));
  const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

  it('never produces a tag, handler, href, src or iframe a browser would act on', () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        const entries: PreviewEntry[] = [
          { path: `t/${a}.teams.json`, receiver: a, incidentKey: b, format: 'teams.json', body: JSON.stringify({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: a, weight: b }, { type: 'FactSet', facts: [{ title: a, value: b }] }, { type: b }], actions: [{ type: 'Action.OpenUrl', title: a, url: b }] } }] }) },
          { path: 's/1.slack.json', receiver: 's', incidentKey: a, format: 'slack.json', body: JSON.stringify({ text: a, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${a}<${b}|${a}>` } }, { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: a }, url: b }] }] }) },
          { path: 'j/1.jira.json', receiver: 'j', incidentKey: '1', format: 'jira.json', body: JSON.stringify({ fields: { summary: a, project: { key: b }, description: { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: a, marks: [{ type: 'link', attrs: { href: b } }] }] }, { type: b }] } } }) },
          { path: 'a/1.ado.json', receiver: 'a', incidentKey: '1', format: 'ado.json', body: JSON.stringify([{ op: 'add', path: '/fields/System.Title', value: a }, { op: 'add', path: '/fields/System.Description', value: b }, { op: 'add', path: '/relations/-', value: { rel: a, url: b } }]) },
          { path: 'p/1.pagerduty.json', receiver: 'p', incidentKey: '1', format: 'pagerduty.json', body: JSON.stringify({ event_action: 'trigger', payload: { summary: a, custom_details: { [a]: b } }, links: [{ href: b, text: a }] }) },
          { path: 'z/1.zendesk.json', receiver: 'z', incidentKey: '1', format: 'zendesk.json', body: JSON.stringify({ ticket: { subject: a, comment: { html_body: b } } }) },
          { path: 'n/1.servicenow.json', receiver: 'n', incidentKey: '1', format: 'servicenow.json', body: JSON.stringify({ short_description: a, [b || 'x']: a }) },
          { path: 'f/1.freshservice.json', receiver: 'f', incidentKey: '1', format: 'freshservice.json', body: JSON.stringify({ subject: a, description: b }) },
          { path: 'm/1.sms.txt', receiver: 'm', incidentKey: '1', format: 'sms.txt', body: a + b },
          { path: 'v/1.twiml.xml', receiver: 'v', incidentKey: '1', format: 'twiml.xml', body: `<Response><Say voice="${xmlText(b).replace(/"/g, '&quot;')}">${xmlText(a)}</Say><Play>${xmlText(b)}</Play></Response>` },
          { path: 'e/1.eml', receiver: 'e', incidentKey: '1', format: 'eml', body: `From: x@y.example\nSubject: ${a.replace(/[\r\n]/g, ' ')}\nContent-Type: multipart/alternative; boundary="zz"\n\n--zz\nContent-Type: text/plain\n\n${a}\n--zz\nContent-Type: text/html\n\n${b}\n--zz--\n` },
          { path: 'r/1.teams.json', receiver: 'r', incidentKey: '1', format: 'teams.json', body: a },
        ];
        const page = renderPreviewPage(entries, { title: a, generatedAt: b });
        const tags = expectInert(page);
        // the three real HTML bodies (email, ADO description, Zendesk comment) plus Freshservice: one iframe each at most
        expect(tags.filter((t) => t.name === 'iframe').length).toBeLessThanOrEqual(4);
      }),
      { numRuns: 150 },
    );
  });
});
