/**
 * One outbox file → the HTML that shows it as the person or ticket system will see it. Pure.
 *
 * Every byte of every body is attacker-influenced (incident titles, descriptions, entity names end up
 * in them), so all text is escaped, only http(s) URLs become links, and HTML bodies are shown only in
 * iframes sandboxed without scripts, each with its own copy of the page's CSP.
 */
import { KitError } from '../../../core/errors.js';
import { escapeHtml, escapeQuotedAttribute } from '../../../render/escape.js';
import { smsEncoding, smsSegments } from '../../../render/sms.js';
import type { OutboxFormat } from '../../types.js';
import { KINDS } from '../../kinds.js';

export { escapeHtml };

export interface PreviewEntry {
  /** path relative to outbox/, e.g. "soc-teams/12345-1.teams.json" */
  path: string;
  receiver: string;
  incidentKey: string;
  format: OutboxFormat;
  /** the file's exact content */
  body: string;
}

export interface PreviewOptions {
  title?: string;
  generatedAt?: string;
}

/** What a message body (an iframe's srcdoc) may do: show inline styles and data: images, nothing else. */
export const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const FORMAT_LABELS: Record<string, string> = { ...Object.fromEntries(KINDS.map((k) => [k.format, k.label])), 'failed.json': 'Failed delivery' };

const MAX_DEPTH = 32;

// ───────────────────────────── escaping and links ─────────────────────────────

/** The URL, normalised, when it is http(s); null for every other scheme (javascript:, data:, vbscript:, relative). */
export function safeHttpUrl(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** `labelHtml` must already be escaped. A URL that is not http(s) is shown as text, never as an href. */
function linkHtml(url: unknown, labelHtml: string, cls = ''): string {
  const href = safeHttpUrl(url);
  const classAttr = cls ? ` class="${cls}"` : '';
  if (href) {
    return `<a${classAttr} href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${labelHtml}</a>`;
  }
  const shown = typeof url === 'string' ? clip(url, 120) : '(no URL)';
  const blocked = `<span class="blocked-link">[link not allowed: ${escapeHtml(shown)}]</span>`;
  return typeof url === 'string' && labelHtml === escapeHtml(url) ? blocked : `<span${classAttr}>${labelHtml}</span> ${blocked}`;
}

// ───────────────────────────── small JSON helpers ─────────────────────────────

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Picks a value from a fixed vocabulary so attacker text never becomes a class name. */
function oneOf<T extends string>(v: unknown, allowed: readonly T[]): T | null {
  if (typeof v !== 'string') return null;
  const lower = v.toLowerCase();
  return allowed.find((a) => a.toLowerCase() === lower) ?? null;
}

function parseJson(entry: PreviewEntry): unknown {
  try {
    return JSON.parse(entry.body);
  } catch (e) {
    throw new KitError(`${entry.path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, {
      kind: 'validation',
      where: { file: entry.path },
      cause: e,
    });
  }
}

function malformed(entry: PreviewEntry, message: string, field?: string): KitError {
  return new KitError(`${entry.path}: ${message}`, {
    kind: 'validation',
    where: field ? { file: entry.path, field } : { file: entry.path },
  });
}

/** A short, escaped rendering of any JSON value for field tables. */
function valueHtml(v: unknown): string {
  if (v === null) return '<em class="muted">null</em>';
  if (v === undefined) return '<em class="muted">—</em>';
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v === 'number' || typeof v === 'boolean') return escapeHtml(String(v));
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) {
    return v.map((x) => `<span class="chip">${escapeHtml(String(x))}</span>`).join(' ');
  }
  if (isObj(v)) {
    for (const k of ['name', 'key', 'value', 'displayName', 'id']) {
      const inner = v[k];
      if (Object.keys(v).length === 1 && (typeof inner === 'string' || typeof inner === 'number')) {
        return escapeHtml(String(inner));
      }
    }
  }
  return `<code>${escapeHtml(clip(JSON.stringify(v) ?? '', 400))}</code>`;
}

function placeholder(what: string, detail?: unknown): string {
  const extra = detail === undefined ? '' : `<pre>${escapeHtml(clip(JSON.stringify(detail, null, 1) ?? '', 600))}</pre>`;
  return `<div class="placeholder"><span class="placeholder-label">Not shown in this preview:</span> ${escapeHtml(what)}${extra}</div>`;
}

/**
 * HTML from the message shown as the target would: in a sandbox without scripts, with its own copy of
 * the page's CSP. `allow-same-origin` (never with `allow-scripts`) only lets the page's one hashed script
 * read the frame's height, so the body is shown at full height instead of in a scrolling box; nothing in
 * the frame can run to make use of it.
 */
export function sandboxedHtml(html: string, title: string): string {
  const doc = `<meta http-equiv="Content-Security-Policy" content="${PREVIEW_CSP}"><style>${FRAME_CSS}</style>${html}`;
  // escapeQuotedAttribute, not escapeHtml: inside double quotes only & and " matter, and escaping more would
  // triple the size of every HTML body on the page
  return `<iframe class="html-frame" sandbox="allow-same-origin" referrerpolicy="no-referrer" loading="eager" title="${escapeHtml(title)}" srcdoc="${escapeQuotedAttribute(doc)}"></iframe>`;
}

export const FRAME_CSS = 'body{font:14px/1.45 Segoe UI,Helvetica,Arial,sans-serif;margin:8px;color:#222;background:#fff;overflow-wrap:anywhere}img{max-width:100%}';

// ───────────────────────────── SMS segments ─────────────────────────────

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegmentInfo {
  encoding: SmsEncoding;
  /** user-visible characters (Unicode code points) */
  characters: number;
  segments: number;
}

/** What a text costs as SMS, counted by render/sms.ts exactly as the SMS connector bills it. */
export function smsSegmentInfo(text: string): SmsSegmentInfo {
  return { encoding: smsEncoding(text), characters: Array.from(text).length, segments: smsSegments(text) };
}

function renderSms(entry: PreviewEntry): { html: string; info: SmsSegmentInfo } {
  const info = smsSegmentInfo(entry.body);
  const plural = info.segments === 1 ? '' : 's';
  const html = `<div class="phone"><div class="phone-bar">Text message</div><div class="sms-bubble">${escapeHtml(entry.body)}</div>
<div class="sms-meta" data-segments="${info.segments}">${info.characters} characters · ${info.encoding} · ${info.segments} segment${plural}</div></div>`;
  return { html, info };
}

// ───────────────────────────── Teams (Adaptive Card) ─────────────────────────────

/** The Adaptive Card markdown subset (bold, italic, links), applied to already-escaped text only. */
function teamsMarkdown(raw: string): string {
  let out = '';
  let last = 0;
  for (const m of raw.matchAll(/\[([^\]\n]{1,500})\]\(([^()\s]{1,2000})\)/g)) {
    out += teamsInline(escapeHtml(raw.slice(last, m.index)));
    out += linkHtml(m[2], teamsInline(escapeHtml(m[1] ?? '')));
    last = m.index + m[0].length;
  }
  return out + teamsInline(escapeHtml(raw.slice(last)));
}

function teamsInline(escaped: string): string {
  return escaped
    .replace(/\*\*(?=\S)([^*\n]+?)\*\*/g, '<strong>$1</strong>')
    .replace(/__(?=\S)([^_\n]+?)__/g, '<strong>$1</strong>')
    .replace(/(^|[^\w*])\*(?=\S)([^*\n]+?)\*(?![\w*])/g, '$1<em>$2</em>')
    .replace(/(^|[^\w])_(?=\S)([^_\n]+?)_(?!\w)/g, '$1<em>$2</em>')
    .replace(/\r?\n/g, '<br>');
}

const AC_SIZES = ['small', 'default', 'medium', 'large', 'extraLarge'] as const;
const AC_WEIGHTS = ['lighter', 'default', 'bolder'] as const;
const AC_COLORS = ['default', 'dark', 'light', 'accent', 'good', 'warning', 'attention'] as const;
const AC_STYLES = ['default', 'emphasis', 'good', 'attention', 'warning', 'accent'] as const;
const AC_ALIGN = ['left', 'center', 'right'] as const;

function textClasses(el: Json, base: string): string {
  const cls = [base];
  const size = oneOf(el.size, AC_SIZES);
  const weight = oneOf(el.weight, AC_WEIGHTS);
  const color = oneOf(el.color, AC_COLORS);
  const align = oneOf(el.horizontalAlignment, AC_ALIGN);
  if (size && size !== 'default') cls.push(`ac-size-${size.toLowerCase()}`);
  if (weight && weight !== 'default') cls.push(`ac-weight-${weight}`);
  if (color && color !== 'default') cls.push(`ac-color-${color}`);
  if (align && align !== 'left') cls.push(`ac-align-${align}`);
  if (el.isSubtle === true) cls.push('ac-subtle');
  if (el.wrap === false) cls.push('ac-nowrap');
  return cls.join(' ');
}

function isDataImage(url: unknown): url is string {
  return typeof url === 'string' && /^data:image\/(png|jpeg|gif|webp|bmp);base64,[A-Za-z0-9+/=\s]+$/.test(url);
}

function cardImage(el: Json): string {
  const alt = str(el.altText);
  if (!isDataImage(el.url)) {
    return placeholder(`Image from ${clip(str(el.url) || '(no url)', 160)} — only data: images are shown, nothing is fetched`);
  }
  const size = oneOf(el.size, ['auto', 'stretch', 'small', 'medium', 'large'] as const) ?? 'auto';
  const round = el.style === 'Person' ? ' ac-image-person' : '';
  return `<img class="ac-image ac-image-${size}${round}" src="${escapeHtml(el.url)}" alt="${escapeHtml(alt)}">`;
}

function cardAction(action: unknown, depth: number): string {
  if (!isObj(action)) return placeholder('action that is not an object', action);
  const title = escapeHtml(str(action.title) || '(untitled)');
  switch (action.type) {
    case 'Action.OpenUrl':
      return linkHtml(action.url, title, 'ac-action');
    case 'Action.ShowCard':
      return `<details class="ac-showcard"><summary class="ac-action">${title}</summary>${isObj(action.card) ? renderAdaptiveCard(action.card, depth + 1) : placeholder('ShowCard without a card')}</details>`;
    case 'Action.Submit':
    case 'Action.Execute':
    case 'Action.ToggleVisibility':
      return `<span class="ac-action ac-action-inert" title="${escapeHtml(str(action.type))} — does nothing in the preview">${title}</span>`;
    default:
      return placeholder(`action type ${str(action.type) || '(none)'}`, action);
  }
}

function cardActions(actions: unknown[], depth: number): string {
  if (actions.length === 0) return '';
  return `<div class="ac-actions">${actions.map((a) => cardAction(a, depth)).join('')}</div>`;
}

function cardItems(items: unknown, depth: number): string {
  return arr(items)
    .map((item) => renderCardElement(item, depth + 1))
    .join('');
}

function columnStyle(width: unknown): string {
  if (typeof width === 'number' && Number.isFinite(width) && width > 0) return `flex:${Math.min(width, 1000)} 1 0`;
  if (width === 'auto') return 'flex:0 0 auto';
  if (typeof width === 'string' && /^\d{1,4}px$/.test(width)) return `flex:0 0 ${width}`;
  return 'flex:1 1 0';
}

function textRun(inline: unknown): string {
  if (typeof inline === 'string') return escapeHtml(inline);
  if (!isObj(inline)) return placeholder('inline that is not text', inline);
  if (inline.type !== 'TextRun') return placeholder(`inline ${str(inline.type) || '(no type)'}`, inline);
  let html = escapeHtml(str(inline.text));
  if (inline.italic === true) html = `<em>${html}</em>`;
  if (inline.strikethrough === true) html = `<s>${html}</s>`;
  if (inline.underline === true) html = `<u>${html}</u>`;
  if (inline.highlight === true) html = `<mark>${html}</mark>`;
  if (isObj(inline.selectAction) && inline.selectAction.type === 'Action.OpenUrl') {
    html = linkHtml(inline.selectAction.url, html);
  }
  return `<span class="${textClasses(inline, 'ac-run')}">${html}</span>`;
}

function renderCardElement(el: unknown, depth: number): string {
  if (depth > MAX_DEPTH) return placeholder('elements nested deeper than the preview follows');
  if (!isObj(el)) return placeholder('card element that is not an object', el);
  const type = str(el.type);
  const hidden = el.isVisible === false ? ' ac-hidden' : '';
  const hiddenNote = hidden ? '<span class="ac-hidden-note">hidden until toggled</span>' : '';
  const spacer = el.separator === true ? '<hr class="ac-separator">' : '';
  let inner: string;
  switch (type) {
    case 'TextBlock':
      inner = `<div class="${textClasses(el, 'ac-textblock')}">${teamsMarkdown(str(el.text))}</div>`;
      break;
    case 'RichTextBlock':
      inner = `<div class="${textClasses(el, 'ac-richtext')}">${arr(el.inlines).map(textRun).join('')}</div>`;
      break;
    case 'FactSet': {
      const rows = arr(el.facts).map((f) =>
        isObj(f)
          ? `<tr><th>${teamsMarkdown(str(f.title))}</th><td>${teamsMarkdown(str(f.value))}</td></tr>`
          : `<tr><td colspan="2">${placeholder('fact that is not an object', f)}</td></tr>`,
      );
      inner = `<table class="ac-factset"><tbody>${rows.join('')}</tbody></table>`;
      break;
    }
    case 'ColumnSet': {
      const cols = arr(el.columns).map((col) => {
        if (!isObj(col)) return placeholder('column that is not an object', col);
        return `<div class="ac-column" style="${columnStyle(col.width)}">${cardItems(col.items, depth)}</div>`;
      });
      inner = `<div class="ac-columnset">${cols.join('')}</div>`;
      break;
    }
    case 'Container': {
      const style = oneOf(el.style, AC_STYLES);
      inner = `<div class="ac-container${style && style !== 'default' ? ` ac-style-${style}` : ''}">${cardItems(el.items, depth)}</div>`;
      break;
    }
    case 'Image':
      inner = cardImage(el);
      break;
    case 'ImageSet':
      inner = `<div class="ac-imageset">${arr(el.images)
        .map((img) => (isObj(img) ? cardImage(img) : placeholder('image that is not an object', img)))
        .join('')}</div>`;
      break;
    case 'ActionSet':
      inner = cardActions(arr(el.actions), depth);
      break;
    case 'Table': {
      const headerFirst = el.firstRowAsHeader !== false;
      const rows = arr(el.rows).map((row, i) => {
        const cells = isObj(row) ? arr(row.cells) : [];
        const tag = headerFirst && i === 0 ? 'th' : 'td';
        return `<tr>${cells.map((c) => `<${tag}>${isObj(c) ? cardItems(c.items, depth) : ''}</${tag}>`).join('')}</tr>`;
      });
      inner = `<table class="ac-table"><tbody>${rows.join('')}</tbody></table>`;
      break;
    }
    default:
      inner = placeholder(`card element ${type || '(no type)'}`, el);
  }
  return `${spacer}<div class="ac-element${hidden}">${hiddenNote}${inner}</div>`;
}

function renderAdaptiveCard(card: Json, depth: number): string {
  if (card.type !== 'AdaptiveCard') return placeholder(`card of type ${str(card.type) || '(none)'}`, card);
  const version = str(card.version);
  const body = arr(card.body)
    .map((el) => renderCardElement(el, depth + 1))
    .join('');
  return `<div class="ac-card" data-version="${escapeHtml(version)}">${body}${cardActions(arr(card.actions), depth)}</div>`;
}

function renderTeams(entry: PreviewEntry): string {
  const doc = parseJson(entry);
  if (!isObj(doc)) throw malformed(entry, 'a Teams message must be a JSON object');
  let cards: string[];
  if (doc.type === 'AdaptiveCard') {
    cards = [renderAdaptiveCard(doc, 0)];
  } else if (Array.isArray(doc.attachments)) {
    cards = doc.attachments.map((att) => {
      if (!isObj(att)) return placeholder('attachment that is not an object', att);
      if (att.contentType !== 'application/vnd.microsoft.card.adaptive') {
        return placeholder(`attachment of type ${str(att.contentType) || '(none)'}`);
      }
      return isObj(att.content) ? renderAdaptiveCard(att.content, 0) : placeholder('Adaptive Card attachment without content');
    });
  } else {
    throw malformed(entry, 'neither a Teams message with attachments nor an Adaptive Card', 'attachments');
  }
  const text = str(doc.text);
  return `<div class="teams"><div class="teams-head"><span class="avatar teams-avatar">W</span><span class="teams-sender">Workflows</span><span class="muted">via Sentinel Playbook Kit</span></div>
${text ? `<div class="teams-text">${teamsMarkdown(text)}</div>` : ''}${cards.join('')}</div>`;
}

// ───────────────────────────── Slack (Block Kit) ─────────────────────────────

/** Slack escapes exactly &, < and > in text; anything else that looks like an entity is literal. */
function slackDecode(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_, name: string) => (name === 'amp' ? '&' : name === 'lt' ? '<' : '>'));
}

function slackInline(escaped: string): string {
  return escaped
    .replace(/(^|[^\w*])\*(?=\S)([^*\n]+?)\*(?![\w*])/g, '$1<strong>$2</strong>')
    .replace(/(^|[^\w])_(?=\S)([^_\n]+?)_(?!\w)/g, '$1<em>$2</em>')
    .replace(/(^|[^\w~])~(?=\S)([^~\n]+?)~(?![\w~])/g, '$1<s>$2</s>')
    .replace(/\r?\n/g, '<br>');
}

/**
 * Formats a run of Slack text that holds no <…> control sequences. Code spans are found before
 * escaping: the shared escapeHtml turns backticks into character references.
 */
function slackRun(raw: string): string {
  const text = slackDecode(raw);
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/```([\s\S]*?)```|`([^`\n]+)`/g)) {
    out += slackInline(escapeHtml(text.slice(last, m.index)));
    out += m[1] !== undefined ? `<pre class="slack-pre">${escapeHtml(m[1])}</pre>` : `<code>${escapeHtml(m[2] ?? '')}</code>`;
    last = m.index + m[0].length;
  }
  return out + slackInline(escapeHtml(text.slice(last)));
}

function slackControl(inner: string): string {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? slackDecode(inner.slice(bar + 1)) : null;
  if (target.startsWith('@')) return `<span class="mention">@${escapeHtml(label ?? target.slice(1))}</span>`;
  if (target.startsWith('#')) return `<span class="mention">#${escapeHtml(label ?? target.slice(1))}</span>`;
  if (target.startsWith('!')) {
    const special = target.slice(1).split('^')[0] ?? '';
    return `<span class="mention">${escapeHtml(label ?? `@${special}`)}</span>`;
  }
  const url = slackDecode(target);
  return linkHtml(url, escapeHtml(label ?? url));
}

/** Slack mrkdwn: links are parsed on the escaped wire text first, then the three entities are decoded. */
export function slackMrkdwnToHtml(raw: string): string {
  let out = '';
  let last = 0;
  for (const m of raw.matchAll(/<([^<>\n]*)>/g)) {
    out += slackRun(raw.slice(last, m.index));
    out += slackControl(m[1] ?? '');
    last = m.index + m[0].length;
  }
  return out + slackRun(raw.slice(last));
}

function slackText(obj: unknown): string {
  if (!isObj(obj)) return '';
  if (obj.type === 'mrkdwn') return slackMrkdwnToHtml(str(obj.text));
  return escapeHtml(slackDecode(str(obj.text))).replace(/\r?\n/g, '<br>');
}

function slackElement(el: unknown): string {
  if (!isObj(el)) return placeholder('element that is not an object', el);
  switch (el.type) {
    case 'button': {
      const style = oneOf(el.style, ['primary', 'danger'] as const);
      const label = escapeHtml(slackDecode(str(isObj(el.text) ? el.text.text : '')) || '(button)');
      const cls = `slack-button${style ? ` slack-button-${style}` : ''}`;
      return el.url === undefined ? `<span class="${cls} slack-button-inert">${label}</span>` : linkHtml(el.url, label, cls);
    }
    case 'image':
      return isDataImage(el.image_url)
        ? `<img class="slack-image-small" src="${escapeHtml(el.image_url)}" alt="${escapeHtml(str(el.alt_text))}">`
        : `<span class="muted">[image: ${escapeHtml(str(el.alt_text) || 'not loaded')}]</span>`;
    case 'mrkdwn':
    case 'plain_text':
      return `<span>${slackText(el)}</span>`;
    default:
      return placeholder(`Slack element ${str(el.type) || '(no type)'}`, el);
  }
}

function richTextElements(elements: unknown, depth: number): string {
  return arr(elements)
    .map((el) => {
      if (!isObj(el)) return '';
      if (depth > MAX_DEPTH) return placeholder('rich text nested deeper than the preview follows');
      const style = isObj(el.style) ? el.style : {};
      switch (el.type) {
        case 'text': {
          let html = escapeHtml(str(el.text)).replace(/\r?\n/g, '<br>');
          if (style.bold === true) html = `<strong>${html}</strong>`;
          if (style.italic === true) html = `<em>${html}</em>`;
          if (style.strike === true) html = `<s>${html}</s>`;
          if (style.code === true) html = `<code>${html}</code>`;
          return html;
        }
        case 'link':
          return linkHtml(el.url, escapeHtml(str(el.text) || str(el.url)));
        case 'emoji':
          return `:${escapeHtml(str(el.name))}:`;
        case 'user':
          return `<span class="mention">@${escapeHtml(str(el.user_id))}</span>`;
        case 'channel':
          return `<span class="mention">#${escapeHtml(str(el.channel_id))}</span>`;
        case 'rich_text_section':
          return `<div>${richTextElements(el.elements, depth + 1)}</div>`;
        case 'rich_text_preformatted':
          return `<pre class="slack-pre">${richTextElements(el.elements, depth + 1)}</pre>`;
        case 'rich_text_quote':
          return `<blockquote>${richTextElements(el.elements, depth + 1)}</blockquote>`;
        case 'rich_text_list': {
          const tag = el.style === 'ordered' ? 'ol' : 'ul';
          return `<${tag}>${arr(el.elements)
            .map((item) => `<li>${isObj(item) ? richTextElements(item.elements, depth + 1) : ''}</li>`)
            .join('')}</${tag}>`;
        }
        default:
          return placeholder(`rich text element ${str(el.type) || '(no type)'}`, el);
      }
    })
    .join('');
}

function slackBlock(block: unknown): string {
  if (!isObj(block)) return placeholder('block that is not an object', block);
  switch (block.type) {
    case 'header':
      return `<div class="slack-header">${slackText(block.text)}</div>`;
    case 'section': {
      const text = block.text === undefined ? '' : `<div class="slack-section-text">${slackText(block.text)}</div>`;
      const fields = arr(block.fields);
      const fieldsHtml = fields.length
        ? `<div class="slack-fields">${fields.map((f) => `<div>${slackText(f)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory === undefined ? '' : `<div class="slack-accessory">${slackElement(block.accessory)}</div>`;
      return `<div class="slack-section"><div class="slack-section-main">${text}${fieldsHtml}</div>${accessory}</div>`;
    }
    case 'context':
      return `<div class="slack-context">${arr(block.elements).map(slackElement).join(' ')}</div>`;
    case 'divider':
      return '<hr class="slack-divider">';
    case 'actions':
      return `<div class="slack-actions">${arr(block.elements).map(slackElement).join('')}</div>`;
    case 'image':
      return isDataImage(block.image_url)
        ? `<img class="slack-image" src="${escapeHtml(block.image_url)}" alt="${escapeHtml(str(block.alt_text))}">`
        : placeholder(`image from ${clip(str(block.image_url) || '(no url)', 160)} — nothing is fetched`);
    case 'rich_text':
      return `<div class="slack-richtext">${richTextElements(block.elements, 0)}</div>`;
    default:
      return placeholder(`Slack block ${str(block.type) || '(no type)'}`, block);
  }
}

function slackAttachment(att: unknown): string {
  if (!isObj(att)) return placeholder('attachment that is not an object', att);
  const color = typeof att.color === 'string' && /^#?[0-9a-fA-F]{6}$/.test(att.color) ? att.color.replace(/^#?/, '#') : '#dddddd';
  const named = oneOf(att.color, ['good', 'warning', 'danger'] as const);
  const bar = named ? { good: '#2eb67d', warning: '#ecb22e', danger: '#e01e5a' }[named] : color;
  const parts: string[] = [];
  if (att.title !== undefined) parts.push(`<div class="slack-att-title">${linkHtml(att.title_link, escapeHtml(slackDecode(str(att.title))))}</div>`);
  if (att.text !== undefined) parts.push(`<div>${slackMrkdwnToHtml(str(att.text))}</div>`);
  const fields = arr(att.fields).filter(isObj);
  if (fields.length) {
    parts.push(
      `<div class="slack-fields">${fields
        .map((f) => `<div><strong>${escapeHtml(slackDecode(str(f.title)))}</strong><br>${slackMrkdwnToHtml(str(f.value))}</div>`)
        .join('')}</div>`,
    );
  }
  parts.push(...arr(att.blocks).map(slackBlock));
  return `<div class="slack-attachment" style="border-left-color:${bar}">${parts.join('')}</div>`;
}

function renderSlack(entry: PreviewEntry): string {
  const doc = parseJson(entry);
  if (!isObj(doc)) throw malformed(entry, 'a Slack message must be a JSON object');
  const blocks = arr(doc.blocks);
  const attachments = arr(doc.attachments);
  if (typeof doc.text !== 'string' && blocks.length === 0 && attachments.length === 0) {
    throw malformed(entry, 'a Slack message needs text, blocks or attachments', 'text');
  }
  const where = [
    typeof doc.channel === 'string' ? `in ${escapeHtml(doc.channel)}` : 'via incoming webhook',
    typeof doc.thread_ts === 'string' ? `reply in thread ${escapeHtml(doc.thread_ts)}` : '',
  ].filter(Boolean);
  const main = blocks.length
    ? blocks.map(slackBlock).join('')
    : doc.mrkdwn === false
      ? escapeHtml(slackDecode(str(doc.text)))
      : slackMrkdwnToHtml(str(doc.text));
  const fallback =
    blocks.length && typeof doc.text === 'string'
      ? `<div class="slack-fallback">Notification text: ${escapeHtml(slackDecode(doc.text))}</div>`
      : '';
  return `<div class="slack"><div class="slack-avatar avatar">SPK</div><div class="slack-body">
<div class="slack-head"><strong>Sentinel Playbook Kit</strong> <span class="app-badge">APP</span> <span class="muted">${where.join(' · ')}</span></div>
<div class="slack-message">${main}</div>${attachments.map(slackAttachment).join('')}${fallback}</div></div>`;
}

// ───────────────────────────── Email (RFC 5322 / MIME) ─────────────────────────────

interface MimeHeaders {
  list: Array<[string, string]>;
  get(name: string): string | undefined;
}

interface MimeLeaf {
  type: string;
  charset: string;
  text: string;
  filename: string | null;
  attachment: boolean;
}

function splitHeaderBlock(entry: PreviewEntry, raw: string, where: string): { headers: MimeHeaders; body: string } {
  const sep = /\r?\n\r?\n/.exec(raw);
  let headerText: string;
  let body: string;
  if (raw.startsWith('\n') || raw.startsWith('\r\n')) {
    headerText = '';
    body = raw.replace(/^\r?\n/, '');
  } else if (sep) {
    headerText = raw.slice(0, sep.index);
    body = raw.slice(sep.index + sep[0].length);
  } else {
    headerText = raw.replace(/\r?\n$/, '');
    body = '';
  }
  const list: Array<[string, string]> = [];
  const lines = headerText === '' ? [] : headerText.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (/^[ \t]/.test(line)) {
      const prev = list[list.length - 1];
      if (!prev) throw malformed(entry, `${where} line ${i + 1} continues a header that does not exist`);
      prev[1] += ` ${line.trim()}`;
      return;
    }
    const m = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (!m) throw malformed(entry, `${where} line ${i + 1} is not a "Name: value" header: ${clip(line, 80)}`);
    list.push([m[1] ?? '', m[2] ?? '']);
  });
  return {
    headers: {
      list,
      get: (name) => list.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1],
    },
    body,
  };
}

function parseHeaderParams(value: string): { value: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  const semi = value.indexOf(';');
  const main = (semi >= 0 ? value.slice(0, semi) : value).trim().toLowerCase();
  const rest = semi >= 0 ? value.slice(semi + 1) : '';
  for (const m of rest.matchAll(/([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g)) {
    const key = (m[1] ?? '').toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { value: main, params };
}

function decodeBytes(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function base64Bytes(entry: PreviewEntry, text: string, where: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text.replace(/[\r\n\t ]/g, '')), (c) => c.charCodeAt(0));
  } catch (e) {
    throw new KitError(`${entry.path}: ${where} is not valid base64`, { kind: 'validation', where: { file: entry.path }, cause: e });
  }
}

const utf8 = new TextEncoder();

function quotedPrintableBytes(text: string, underscoreIsSpace: boolean): Uint8Array {
  const bytes: number[] = [];
  const src = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < src.length; i++) {
    const c = src[i] ?? '';
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      bytes.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '_' && underscoreIsSpace) {
      bytes.push(0x20);
    } else {
      const code = src.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(code);
      bytes.push(...utf8.encode(ch));
      i += ch.length - 1;
    }
  }
  return Uint8Array.from(bytes);
}

/** RFC 2047 encoded words (=?charset?B|Q?…?=) in header values. */
function decodeHeaderValue(entry: PreviewEntry, value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (_, charset: string, enc: string, data: string) => {
      const cs = charset.split('*')[0] ?? 'utf-8';
      const bytes = enc.toUpperCase() === 'B' ? base64Bytes(entry, data, 'an encoded header word') : quotedPrintableBytes(data, true);
      return decodeBytes(bytes, cs);
    });
}

function collectLeaves(entry: PreviewEntry, raw: string, depth: number, out: MimeLeaf[], isRoot: boolean): MimeHeaders {
  if (depth > 8) throw malformed(entry, 'MIME parts nested deeper than 8 levels');
  const where = isRoot ? 'header' : `part header (depth ${depth})`;
  const { headers, body } = splitHeaderBlock(entry, raw, where);
  const ct = parseHeaderParams(headers.get('Content-Type') ?? 'text/plain; charset=us-ascii');
  if (ct.value.startsWith('multipart/')) {
    const boundary = ct.params.boundary;
    if (!boundary) throw malformed(entry, `${ct.value} without a boundary parameter`, 'Content-Type');
    const lines = body.split(/\r?\n/);
    const delimiter = `--${boundary}`;
    const parts: string[][] = [];
    let current: string[] | null = null;
    let closed = false;
    for (const line of lines) {
      const trimmed = line.replace(/[ \t]+$/, '');
      if (trimmed === `${delimiter}--`) {
        if (current) parts.push(current);
        current = null;
        closed = true;
        break;
      }
      if (trimmed === delimiter) {
        if (current) parts.push(current);
        current = [];
        continue;
      }
      current?.push(line);
    }
    if (current) parts.push(current);
    if (parts.length === 0) throw malformed(entry, `boundary "${clip(boundary, 70)}" never appears in the body`, 'Content-Type');
    if (!closed) throw malformed(entry, `the closing boundary "--${clip(boundary, 70)}--" is missing`);
    for (const part of parts) collectLeaves(entry, part.join('\n'), depth + 1, out, false);
    return headers;
  }
  const cte = (headers.get('Content-Transfer-Encoding') ?? '7bit').trim().toLowerCase();
  const charset = (ct.params.charset ?? 'utf-8').toLowerCase();
  let text: string;
  if (cte === 'base64') text = decodeBytes(base64Bytes(entry, body, `the ${ct.value} part`), charset);
  else if (cte === 'quoted-printable') text = decodeBytes(quotedPrintableBytes(body, false), charset);
  else text = body;
  const disposition = parseHeaderParams(headers.get('Content-Disposition') ?? '');
  const filename = disposition.params.filename ?? ct.params.name ?? null;
  out.push({
    type: ct.value,
    charset,
    text,
    filename: filename === null ? null : decodeHeaderValue(entry, filename),
    attachment: disposition.value === 'attachment',
  });
  return headers;
}

function renderEmail(entry: PreviewEntry): string {
  if (entry.body.trim() === '') throw malformed(entry, 'the message is empty');
  const leaves: MimeLeaf[] = [];
  const headers = collectLeaves(entry, entry.body, 0, leaves, true);
  const inline = leaves.filter((l) => !l.attachment);
  const html = inline.find((l) => l.type === 'text/html');
  const text = inline.find((l) => l.type === 'text/plain');
  if (!html && !text) throw malformed(entry, 'the message has neither a text/plain nor a text/html part');
  const rows = ['From', 'To', 'Cc', 'Reply-To', 'Subject', 'Date']
    .map((name) => {
      const v = headers.get(name);
      return v === undefined ? '' : `<tr><th>${name}</th><td>${escapeHtml(decodeHeaderValue(entry, v))}</td></tr>`;
    })
    .join('');
  const subject = headers.get('Subject');
  const others = leaves.filter((l) => l !== html && l !== text);
  const attachmentsHtml = others.length
    ? `<ul class="email-attachments">${others
        .map((l) => `<li>Attachment: ${escapeHtml(l.filename ?? '(unnamed)')} <span class="muted">${escapeHtml(l.type)}</span></li>`)
        .join('')}</ul>`
    : '';
  let content: string;
  if (html) {
    content = sandboxedHtml(html.text, `HTML part of ${subject ?? entry.path}`);
    if (text) {
      content += `<details class="email-text"><summary>Plain-text part</summary><pre class="wrap">${escapeHtml(text.text)}</pre></details>`;
    }
  } else {
    content = `<pre class="wrap email-plain">${escapeHtml(text?.text ?? '')}</pre>`;
  }
  return `<div class="email"><table class="email-headers"><tbody>${rows}</tbody></table>${content}${attachmentsHtml}</div>`;
}

// ───────────────────────────── TwiML (voice) ─────────────────────────────

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: Array<XmlElement | string>;
}

const XML_NAME = /^[A-Za-z_][\w.:-]*/;

/** A strict little XML reader for TwiML: well-formedness, the five entities and char refs, no DOCTYPE. */
export function parseXml(src: string): XmlElement {
  let pos = src.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (message: string): never => {
    const before = src.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    throw new KitError(`line ${line}:${column} ${message}`, { kind: 'validation', where: { line, column } });
  };
  const decode = (text: string): string =>
    text.replace(/&([^;&\s<]*);?/g, (whole, name: string) => {
      if (!whole.endsWith(';')) return fail(`"&" must be written as &amp;`);
      const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
      if (named[name] !== undefined) return named[name];
      const num = /^#x([0-9A-Fa-f]{1,6})$/.exec(name) ?? /^#([0-9]{1,7})$/.exec(name);
      if (num) {
        const code = parseInt(num[1] ?? '', name.startsWith('#x') ? 16 : 10);
        if (code > 0 && code <= 0x10ffff) return String.fromCodePoint(code);
      }
      return fail(`unknown entity &${clip(name, 20)};`);
    });
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))?.[0].length ?? 0;
      pos += ws;
      if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos + 4);
        if (end < 0) fail('comment is not closed');
        pos = end + 3;
      } else if (src.startsWith('<?', pos)) {
        const end = src.indexOf('?>', pos + 2);
        if (end < 0) fail('processing instruction is not closed');
        pos = end + 2;
      } else if (src.startsWith('<!DOCTYPE', pos) || src.startsWith('<!doctype', pos)) {
        fail('DOCTYPE is not allowed in TwiML');
      } else return;
    }
  };
  const readName = (): string => {
    const m = XML_NAME.exec(src.slice(pos, pos + 200));
    if (!m) return fail('expected a name');
    pos += m[0].length;
    return m[0];
  };
  const readStartTag = (): { el: XmlElement; selfClosing: boolean } => {
    pos += 1;
    const el: XmlElement = { name: readName(), attrs: {}, children: [] };
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))?.[0].length ?? 0;
      pos += ws;
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return { el, selfClosing: true };
      }
      if (src[pos] === '>') {
        pos += 1;
        return { el, selfClosing: false };
      }
      if (ws === 0) fail(`expected whitespace, ">" or "/>" in <${el.name}>`);
      const attr = readName();
      if (src[pos] !== '=') fail(`attribute ${attr} needs ="value"`);
      pos += 1;
      const quote = src[pos];
      if (quote !== '"' && quote !== "'") return fail(`attribute ${attr} value must be quoted`);
      const end = src.indexOf(quote, pos + 1);
      if (end < 0) fail(`attribute ${attr} value is not closed`);
      const value = src.slice(pos + 1, end);
      if (value.includes('<')) fail(`"<" inside attribute ${attr}`);
      if (attr in el.attrs) fail(`attribute ${attr} appears twice`);
      el.attrs[attr] = decode(value);
      pos = end + 1;
    }
  };

  skipMisc();
  if (src[pos] !== '<') fail('expected the root element');
  const rootTag = readStartTag();
  const root = rootTag.el;
  const stack: XmlElement[] = rootTag.selfClosing ? [] : [root];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as XmlElement;
    if (pos >= src.length) fail(`<${top.name}> is not closed`);
    if (src.startsWith('<!--', pos)) {
      const end = src.indexOf('-->', pos + 4);
      if (end < 0) fail('comment is not closed');
      pos = end + 3;
    } else if (src.startsWith('<![CDATA[', pos)) {
      const end = src.indexOf(']]>', pos + 9);
      if (end < 0) fail('CDATA section is not closed');
      top.children.push(src.slice(pos + 9, end));
      pos = end + 3;
    } else if (src.startsWith('<?', pos)) {
      const end = src.indexOf('?>', pos + 2);
      if (end < 0) fail('processing instruction is not closed');
      pos = end + 2;
    } else if (src.startsWith('</', pos)) {
      pos += 2;
      const name = readName();
      if (name !== top.name) fail(`</${name}> closes <${top.name}>`);
      pos += /^\s*/.exec(src.slice(pos))?.[0].length ?? 0;
      if (src[pos] !== '>') fail(`expected ">" after </${name}`);
      pos += 1;
      stack.pop();
    } else if (src[pos] === '<') {
      if (stack.length > 64) fail('elements nested deeper than 64 levels');
      const { el, selfClosing } = readStartTag();
      top.children.push(el);
      if (!selfClosing) stack.push(el);
    } else {
      const next = src.indexOf('<', pos);
      const end = next < 0 ? src.length : next;
      const raw = src.slice(pos, end);
      if (raw.includes(']]>')) fail('"]]>" in text');
      top.children.push(decode(raw));
      pos = end;
    }
  }
  skipMisc();
  if (pos < src.length) fail('content after the root element');
  return root;
}

function xmlText(el: XmlElement): string {
  return el.children
    .map((c) => (typeof c === 'string' ? c : c.name === 'break' ? ' … ' : xmlText(c)))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
}

function attrList(el: XmlElement, names: string[]): string {
  const shown = names.filter((n) => el.attrs[n] !== undefined).map((n) => `${n}=${el.attrs[n]}`);
  return shown.length ? ` <span class="muted">(${escapeHtml(shown.join(', '))})</span>` : '';
}

function twimlVerb(el: XmlElement, depth: number): string {
  if (depth > MAX_DEPTH) return `<li>${placeholder('verbs nested deeper than the preview follows')}</li>`;
  const nested = (): string => {
    const inner = el.children.filter((c): c is XmlElement => typeof c !== 'string');
    return inner.length ? `<ol class="call-script">${inner.map((c) => twimlVerb(c, depth + 1)).join('')}</ol>` : '';
  };
  switch (el.name) {
    case 'Say':
      return `<li class="call-say"><span class="verb">Says</span>${attrList(el, ['voice', 'language'])}<blockquote class="spoken">${escapeHtml(xmlText(el))}</blockquote></li>`;
    case 'Play':
      return `<li><span class="verb">Plays audio</span> ${escapeHtml(xmlText(el) || '(no URL)')}${attrList(el, ['loop', 'digits'])}</li>`;
    case 'Pause':
      return `<li><span class="verb">Pauses</span> ${escapeHtml(el.attrs.length ?? '1')} s</li>`;
    case 'Gather':
      return `<li><span class="verb">Waits for keypad input</span>${attrList(el, ['numDigits', 'timeout', 'finishOnKey', 'input', 'action', 'method'])}${nested()}</li>`;
    case 'Dial':
      return `<li><span class="verb">Dials</span> ${escapeHtml(xmlText(el))}${attrList(el, ['callerId', 'timeout'])}</li>`;
    case 'Hangup':
      return '<li><span class="verb">Hangs up</span></li>';
    case 'Reject':
      return `<li><span class="verb">Rejects the call</span>${attrList(el, ['reason'])}</li>`;
    case 'Redirect':
      return `<li><span class="verb">Continues with the TwiML at</span> ${escapeHtml(xmlText(el))}</li>`;
    case 'Record':
      return `<li><span class="verb">Records the caller</span>${attrList(el, ['maxLength', 'action'])}</li>`;
    case 'Sms':
    case 'Message':
      return `<li><span class="verb">Sends a text</span>${attrList(el, ['to'])}: ${escapeHtml(xmlText(el))}</li>`;
    default:
      return `<li>${placeholder(`TwiML verb <${el.name}>`)}</li>`;
  }
}

function renderTwiml(entry: PreviewEntry): string {
  let root: XmlElement;
  try {
    root = parseXml(entry.body);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new KitError(`${entry.path}: not well-formed XML (${detail})`, { kind: 'validation', where: { file: entry.path }, cause: e });
  }
  if (root.name !== 'Response') throw malformed(entry, `the TwiML root must be <Response>, not <${root.name}>`);
  const verbs = root.children.filter((c): c is XmlElement => typeof c !== 'string');
  return `<div class="call"><div class="call-head">Phone call script</div>${
    verbs.length ? `<ol class="call-script">${verbs.map((v) => twimlVerb(v, 0)).join('')}</ol>` : '<p class="muted">The call says nothing.</p>'
  }</div>`;
}

// ───────────────────────────── Atlassian Document Format ─────────────────────────────

function adfMarks(text: string, marks: unknown): string {
  let html = escapeHtml(text).replace(/\r?\n/g, '<br>');
  let href: unknown;
  let linked = false;
  for (const mark of arr(marks)) {
    if (!isObj(mark)) continue;
    switch (mark.type) {
      case 'strong':
        html = `<strong>${html}</strong>`;
        break;
      case 'em':
        html = `<em>${html}</em>`;
        break;
      case 'code':
        html = `<code>${html}</code>`;
        break;
      case 'strike':
        html = `<s>${html}</s>`;
        break;
      case 'underline':
        html = `<u>${html}</u>`;
        break;
      case 'subsup':
        html = isObj(mark.attrs) && mark.attrs.type === 'sup' ? `<sup>${html}</sup>` : `<sub>${html}</sub>`;
        break;
      case 'link':
        linked = true;
        href = isObj(mark.attrs) ? mark.attrs.href : undefined;
        break;
      default:
        break;
    }
  }
  return linked ? linkHtml(href, html) : html;
}

const PANEL_TYPES = ['info', 'note', 'warning', 'success', 'error'] as const;

/** Renders Atlassian Document Format (a doc node or any node) to HTML. */
export function adfToHtml(node: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) return placeholder('document nested deeper than the preview follows');
  if (!isObj(node)) return placeholder('document node that is not an object', node);
  const kids = (): string =>
    arr(node.content)
      .map((c) => adfToHtml(c, depth + 1))
      .join('');
  const attrs = isObj(node.attrs) ? node.attrs : {};
  switch (node.type) {
    case 'doc':
      return `<div class="adf">${kids()}</div>`;
    case 'paragraph':
      return `<p>${kids()}</p>`;
    case 'heading': {
      const level = typeof attrs.level === 'number' && attrs.level >= 1 && attrs.level <= 6 ? Math.floor(attrs.level) : 3;
      return `<div class="adf-h adf-h${level}">${kids()}</div>`;
    }
    case 'text':
      return adfMarks(str(node.text), node.marks);
    case 'hardBreak':
      return '<br>';
    case 'bulletList':
      return `<ul>${kids()}</ul>`;
    case 'orderedList': {
      const order = typeof attrs.order === 'number' && Number.isInteger(attrs.order) && attrs.order > 1 ? ` start="${attrs.order}"` : '';
      return `<ol${order}>${kids()}</ol>`;
    }
    case 'listItem':
      return `<li>${kids()}</li>`;
    case 'codeBlock': {
      const text = arr(node.content)
        .map((c) => (isObj(c) ? str(c.text) : ''))
        .join('');
      return `<pre class="adf-code">${escapeHtml(text)}</pre>`;
    }
    case 'rule':
      return '<hr>';
    case 'panel': {
      const type = oneOf(attrs.panelType, PANEL_TYPES) ?? 'info';
      return `<div class="adf-panel adf-panel-${type}">${kids()}</div>`;
    }
    case 'blockquote':
      return `<blockquote>${kids()}</blockquote>`;
    case 'mention':
      return `<span class="mention">${escapeHtml(str(attrs.text) || `@${str(attrs.id)}`)}</span>`;
    case 'emoji':
      return escapeHtml(str(attrs.text) || str(attrs.shortName));
    case 'status':
      return `<span class="chip">${escapeHtml(str(attrs.text))}</span>`;
    case 'inlineCard':
      return linkHtml(attrs.url, escapeHtml(str(attrs.url)));
    case 'table':
      return `<table class="adf-table"><tbody>${kids()}</tbody></table>`;
    case 'tableRow':
      return `<tr>${kids()}</tr>`;
    case 'tableHeader':
      return `<th>${kids()}</th>`;
    case 'tableCell':
      return `<td>${kids()}</td>`;
    default:
      return placeholder(`document node ${str(node.type) || '(no type)'}`, node);
  }
}

function adfOrText(v: unknown): string {
  if (typeof v === 'string') return `<div class="plain">${escapeHtml(v)}</div><div class="muted">(plain string, not a document)</div>`;
  return adfToHtml(v);
}

// ───────────────────────────── tickets ─────────────────────────────

type TicketOperation = 'create' | 'update' | 'comment' | 'transition' | 'resolve' | 'trigger' | 'acknowledge';

interface TicketView {
  operation: TicketOperation;
  title: string | null;
  fields: Array<[string, string]>;
  sections: Array<[string, string]>;
}

function ticketCard(entry: PreviewEntry, view: TicketView): string {
  const fields = view.fields.length
    ? `<table class="ticket-fields"><tbody>${view.fields.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`
    : '';
  const sections = view.sections
    .map(([label, html]) => `<div class="ticket-section"><div class="ticket-section-label">${escapeHtml(label)}</div>${html}</div>`)
    .join('');
  const title = view.title === null ? '' : `<div class="ticket-title">${escapeHtml(view.title)}</div>`;
  return `<div class="ticket"><div class="ticket-head"><span class="op op-${view.operation}">${view.operation}</span> <span class="ticket-system">${FORMAT_LABELS[entry.format]}</span></div>${title}${fields}${sections}</div>`;
}

function restFields(obj: Json, skip: Set<string>, prefix = ''): Array<[string, string]> {
  return Object.entries(obj)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => [`${prefix}${k}`, valueHtml(v)]);
}

function plainTextHtml(v: unknown): string {
  return `<div class="plain">${escapeHtml(str(v))}</div>`;
}

function renderJira(entry: PreviewEntry): TicketView {
  const doc = parseJson(entry);
  if (!isObj(doc)) throw malformed(entry, 'a Jira body must be a JSON object');
  const fields = isObj(doc.fields) ? doc.fields : {};
  const update = isObj(doc.update) ? doc.update : {};
  let operation: TicketOperation;
  if (isObj(doc.transition)) operation = fields.resolution !== undefined ? 'resolve' : 'transition';
  else if (doc.body !== undefined && doc.fields === undefined) operation = 'comment';
  else if (typeof fields.summary === 'string' && fields.project !== undefined) operation = 'create';
  else if (doc.fields !== undefined || doc.update !== undefined) operation = 'update';
  else throw malformed(entry, 'not a Jira create, edit, comment or transition body (no fields, update, body or transition)');
  const rows: Array<[string, string]> = [];
  if (isObj(doc.transition)) rows.push(['transition', valueHtml(doc.transition.id ?? doc.transition)]);
  rows.push(...restFields(fields, new Set(['summary', 'description'])));
  for (const [field, ops] of Object.entries(update)) {
    if (field !== 'comment') rows.push([`update.${field}`, valueHtml(ops)]);
  }
  for (const p of arr(doc.properties)) {
    if (isObj(p)) rows.push([`property ${str(p.key)}`, valueHtml(p.value)]);
  }
  if (isObj(doc.visibility)) rows.push(['visible to', valueHtml(`${str(doc.visibility.type)} ${str(doc.visibility.value)}`)]);
  const sections: Array<[string, string]> = [];
  if (fields.description !== undefined) sections.push(['Description', adfOrText(fields.description)]);
  if (doc.body !== undefined) sections.push(['Comment', adfOrText(doc.body)]);
  for (const c of arr(update.comment)) {
    if (isObj(c) && isObj(c.add)) sections.push(['Comment', adfOrText(c.add.body)]);
  }
  return { operation, title: typeof fields.summary === 'string' ? fields.summary : null, fields: rows, sections };
}

const SN_STATES: Record<string, string> = { '1': 'New', '2': 'In Progress', '3': 'On Hold', '6': 'Resolved', '7': 'Closed', '8': 'Canceled' };
const SN_LEVELS: Record<string, string> = { '1': 'High', '2': 'Medium', '3': 'Low' };

function renderServiceNow(entry: PreviewEntry): TicketView {
  const doc = parseJson(entry);
  if (!isObj(doc)) throw malformed(entry, 'a ServiceNow body must be a JSON object');
  const state = str(doc.state);
  const keys = Object.keys(doc);
  let operation: TicketOperation;
  if (typeof doc.short_description === 'string') operation = 'create';
  else if (doc.close_code !== undefined || ['6', '7', 'resolved', 'closed'].includes(state.toLowerCase())) operation = 'resolve';
  else if (keys.length > 0 && keys.every((k) => k === 'work_notes' || k === 'comments')) operation = 'comment';
  else if (keys.length > 0) operation = 'update';
  else throw malformed(entry, 'the ServiceNow body has no fields');
  const textFields = ['short_description', 'description', 'work_notes', 'comments', 'close_notes'];
  const rows = restFields(doc, new Set(textFields)).map(([k, v]): [string, string] => {
    const raw = str(doc[k]);
    const named = k === 'state' ? SN_STATES[raw] : k === 'urgency' || k === 'impact' ? SN_LEVELS[raw] : undefined;
    return [k, named ? `${v} <span class="muted">(${named})</span>` : v];
  });
  const sections: Array<[string, string]> = [];
  if (doc.description !== undefined) sections.push(['Description', plainTextHtml(doc.description)]);
  if (doc.work_notes !== undefined) sections.push(['Work note (internal)', plainTextHtml(doc.work_notes)]);
  if (doc.comments !== undefined) sections.push(['Additional comment (customer-visible)', plainTextHtml(doc.comments)]);
  if (doc.close_notes !== undefined) sections.push(['Close notes', plainTextHtml(doc.close_notes)]);
  return { operation, title: typeof doc.short_description === 'string' ? doc.short_description : null, fields: rows, sections };
}

const ADO_HTML_FIELDS: Record<string, string> = {
  'System.Description': 'Description',
  'System.History': 'Discussion comment',
  'Microsoft.VSTS.TCM.ReproSteps': 'Repro steps',
  'Microsoft.VSTS.Common.AcceptanceCriteria': 'Acceptance criteria',
};
const ADO_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

function renderAdo(entry: PreviewEntry): TicketView {
  const doc = parseJson(entry);
  if (isObj(doc) && typeof doc.text === 'string') {
    return { operation: 'comment', title: null, fields: [], sections: [['Comment', sandboxedHtml(doc.text, 'Work item comment')]] };
  }
  if (!Array.isArray(doc)) throw malformed(entry, 'an Azure DevOps body must be a JSON Patch array (or a comment {"text"})');
  const ops = doc.map((op, i) => {
    if (!isObj(op) || !ADO_OPS.includes(str(op.op)) || typeof op.path !== 'string') {
      throw malformed(entry, `operation ${i} needs "op" (${ADO_OPS.join('|')}) and a string "path"`, `[${i}]`);
    }
    return { op: str(op.op), path: op.path, value: op.value };
  });
  const fieldOf = (path: string): string | null => (path.startsWith('/fields/') ? path.slice('/fields/'.length) : null);
  const title = ops.find((o) => fieldOf(o.path) === 'System.Title' && o.op !== 'test');
  const state = ops.find((o) => fieldOf(o.path) === 'System.State' && o.op !== 'test');
  const changes = ops.filter((o) => o.op !== 'test');
  let operation: TicketOperation;
  if (title && title.op === 'add' && !ops.some((o) => o.path === '/rev')) operation = 'create';
  else if (state && ['closed', 'done', 'resolved', 'removed'].includes(str(state.value).toLowerCase())) operation = 'resolve';
  else if (changes.length > 0 && changes.every((o) => fieldOf(o.path) === 'System.History')) operation = 'comment';
  else operation = 'update';
  const rows: Array<[string, string]> = [];
  const sections: Array<[string, string]> = [];
  for (const o of ops) {
    const field = fieldOf(o.path);
    if (o.op === 'test') {
      rows.push([`only if ${o.path.replace(/^\//, '')} is`, valueHtml(o.value)]);
    } else if (field && ADO_HTML_FIELDS[field] && typeof o.value === 'string') {
      sections.push([ADO_HTML_FIELDS[field] ?? field, sandboxedHtml(o.value, field)]);
    } else if (field === 'System.Title') {
      continue;
    } else if (o.path.startsWith('/relations')) {
      const rel = isObj(o.value) ? o.value : {};
      rows.push([`${o.op} link${rel.rel ? ` (${str(rel.rel)})` : ''}`, o.op === 'remove' ? escapeHtml(o.path) : linkHtml(rel.url, escapeHtml(str(rel.url)))]);
    } else if (o.op === 'remove') {
      rows.push([field ?? o.path, '<em class="muted">removed</em>']);
    } else {
      rows.push([field ?? `${o.op} ${o.path}`, valueHtml(o.value)]);
    }
  }
  return { operation, title: title ? str(title.value) : null, fields: rows, sections };
}

function renderZendesk(entry: PreviewEntry): TicketView {
  const doc = parseJson(entry);
  if (!isObj(doc) || !isObj(doc.ticket)) throw malformed(entry, 'a Zendesk body must be {"ticket": {…}}', 'ticket');
  const t = doc.ticket;
  const status = str(t.status).toLowerCase();
  const keys = Object.keys(t);
  let operation: TicketOperation;
  if (typeof t.subject === 'string') operation = 'create';
  else if (status === 'solved' || status === 'closed') operation = 'resolve';
  else if (keys.length === 1 && keys[0] === 'comment') operation = 'comment';
  else if (keys.length > 0) operation = 'update';
  else throw malformed(entry, 'the Zendesk ticket has no fields', 'ticket');
  const sections: Array<[string, string]> = [];
  const rows = restFields(t, new Set(['subject', 'comment', 'description']));
  if (t.description !== undefined) sections.push(['Description', plainTextHtml(t.description)]);
  if (isObj(t.comment)) {
    const label = t.comment.public === false ? 'Internal note' : 'Public reply';
    if (typeof t.comment.html_body === 'string') sections.push([label, sandboxedHtml(t.comment.html_body, 'Zendesk comment')]);
    else sections.push([label, plainTextHtml(t.comment.body)]);
  }
  return { operation, title: typeof t.subject === 'string' ? t.subject : null, fields: rows, sections };
}

const FS_STATUS: Record<string, string> = { '2': 'Open', '3': 'Pending', '4': 'Resolved', '5': 'Closed' };
const FS_PRIORITY: Record<string, string> = { '1': 'Low', '2': 'Medium', '3': 'High', '4': 'Urgent' };

function renderFreshservice(entry: PreviewEntry): TicketView {
  const doc = parseJson(entry);
  if (!isObj(doc)) throw malformed(entry, 'a Freshservice body must be a JSON object');
  const keys = Object.keys(doc);
  const status = str(doc.status);
  let operation: TicketOperation;
  if (typeof doc.subject === 'string') operation = 'create';
  else if (status === '4' || status === '5') operation = 'resolve';
  else if (typeof doc.body === 'string' && keys.every((k) => k === 'body' || k === 'private' || k === 'notify_emails')) operation = 'comment';
  else if (keys.length > 0) operation = 'update';
  else throw malformed(entry, 'the Freshservice body has no fields');
  const rows = restFields(doc, new Set(['subject', 'description', 'body'])).map(([k, v]): [string, string] => {
    const raw = str(doc[k]);
    const named = k === 'status' ? FS_STATUS[raw] : k === 'priority' || k === 'urgency' || k === 'impact' ? FS_PRIORITY[raw] : undefined;
    return [k, named ? `${v} <span class="muted">(${named})</span>` : v];
  });
  const sections: Array<[string, string]> = [];
  if (typeof doc.description === 'string') sections.push(['Description', sandboxedHtml(doc.description, 'Freshservice description')]);
  if (typeof doc.body === 'string') {
    sections.push([doc.private === false ? 'Public note' : 'Private note', sandboxedHtml(doc.body, 'Freshservice note')]);
  }
  return { operation, title: typeof doc.subject === 'string' ? doc.subject : null, fields: rows, sections };
}

function renderPagerDuty(entry: PreviewEntry): TicketView {
  const doc = parseJson(entry);
  if (!isObj(doc)) throw malformed(entry, 'a PagerDuty event must be a JSON object');
  const operation = oneOf(doc.event_action, ['trigger', 'acknowledge', 'resolve'] as const);
  if (!operation) throw malformed(entry, 'event_action must be trigger, acknowledge or resolve', 'event_action');
  const payload = isObj(doc.payload) ? doc.payload : {};
  const rows: Array<[string, string]> = [];
  if (doc.routing_key !== undefined) rows.push(['routing_key', '<em class="muted">hidden (it is the credential)</em>']);
  rows.push(...restFields(doc, new Set(['routing_key', 'event_action', 'payload', 'links', 'images', 'client_url'])));
  rows.push(...restFields(payload, new Set(['summary', 'custom_details'])));
  if (isObj(payload.custom_details)) rows.push(...restFields(payload.custom_details, new Set(), 'details.'));
  if (doc.client_url !== undefined) rows.push(['client_url', linkHtml(doc.client_url, escapeHtml(str(doc.client_url)))]);
  const sections: Array<[string, string]> = [];
  const links = arr(doc.links).filter(isObj);
  if (links.length) {
    sections.push(['Links', `<ul>${links.map((l) => `<li>${linkHtml(l.href, escapeHtml(str(l.text) || str(l.href)))}</li>`).join('')}</ul>`]);
  }
  const images = arr(doc.images).filter(isObj);
  if (images.length) {
    sections.push(['Images (not loaded)', `<ul>${images.map((i) => `<li>${linkHtml(i.href ?? i.src, escapeHtml(str(i.alt) || str(i.src)))}</li>`).join('')}</ul>`]);
  }
  return { operation, title: typeof payload.summary === 'string' ? payload.summary : null, fields: rows, sections };
}

/** Hides the PagerDuty routing key (the integration's credential) in the raw view too. */
function redactRaw(entry: PreviewEntry): string {
  if (entry.format !== 'pagerduty.json') return entry.body;
  try {
    const doc: unknown = JSON.parse(entry.body);
    if (isObj(doc) && typeof doc.routing_key === 'string' && doc.routing_key.length > 0) {
      return entry.body.split(doc.routing_key).join('«routing_key hidden»');
    }
  } catch {
    // malformed JSON has no routing key to find; shown as is
  }
  return entry.body;
}

// ───────────────────────────── failed deliveries ─────────────────────────────

export interface FailedDelivery {
  receiver: string;
  channel: string;
  incidentNumber: string | null;
  title: string | null;
  idempotencyKey: string;
  error: string;
  at: string;
}

/** `<incident>-<n>.failed.json`, written by the CLI for a delivery that failed: what was meant to go where, and why it did not. */
export function parseFailed(entry: PreviewEntry): FailedDelivery {
  const doc = parseJson(entry);
  if (!isObj(doc) || doc.action !== 'failed') throw malformed(entry, 'a failed-delivery record must be a JSON object with "action": "failed"', 'action');
  if (typeof doc.error !== 'string') throw malformed(entry, 'a failed-delivery record needs the "error" it failed with', 'error');
  const num = doc.incidentNumber;
  return {
    receiver: str(doc.receiver) || entry.receiver,
    channel: str(doc.channel),
    incidentNumber: (typeof num === 'number' && Number.isFinite(num)) || (typeof num === 'string' && num !== '') ? String(num) : null,
    title: typeof doc.title === 'string' && doc.title !== '' ? doc.title : null,
    idempotencyKey: str(doc.idempotencyKey),
    error: doc.error,
    at: str(doc.at),
  };
}

function renderFailed(entry: PreviewEntry): { html: string; failure: FailedDelivery } {
  const f = parseFailed(entry);
  const rows: Array<[string, string]> = [
    ['Receiver', f.receiver],
    ['Channel', f.channel || '(not recorded)'],
    ['Failed at', f.at || '(not recorded)'],
    ['Idempotency key', f.idempotencyKey || '(not recorded)'],
  ];
  const html = `<div class="failed" role="alert"><div class="failed-head">Not delivered</div><div class="failed-reason">${escapeHtml(f.error)}</div>
<table class="ticket-fields"><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</tbody></table></div>`;
  return { html, failure: f };
}

// ───────────────────────────── one entry ─────────────────────────────

export interface RenderedEntry {
  entry: PreviewEntry;
  html: string;
  /** why the file could not be shown (malformed body), null when it rendered */
  error: string | null;
  sms: SmsSegmentInfo | null;
  /** set for a failed-delivery record */
  failure: FailedDelivery | null;
}

/** The unrendered file, for a body the preview could not render: the routing key stays hidden. */
export function rawBodyHtml(entry: PreviewEntry): string {
  return `<pre>${escapeHtml(redactRaw(entry))}</pre>`;
}

export function formatLabel(format: OutboxFormat): string {
  return FORMAT_LABELS[format] ?? format;
}

function renderBody(entry: PreviewEntry): { html: string; sms: SmsSegmentInfo | null; failure?: FailedDelivery } {
  switch (entry.format) {
    case 'failed.json':
      return { ...renderFailed(entry), sms: null };
    case 'eml':
      return { html: renderEmail(entry), sms: null };
    case 'teams.json':
      return { html: renderTeams(entry), sms: null };
    case 'slack.json':
      return { html: renderSlack(entry), sms: null };
    case 'sms.txt': {
      const { html, info } = renderSms(entry);
      return { html, sms: info };
    }
    case 'twiml.xml':
      return { html: renderTwiml(entry), sms: null };
    case 'jira.json':
      return { html: ticketCard(entry, renderJira(entry)), sms: null };
    case 'servicenow.json':
      return { html: ticketCard(entry, renderServiceNow(entry)), sms: null };
    case 'ado.json':
      return { html: ticketCard(entry, renderAdo(entry)), sms: null };
    case 'zendesk.json':
      return { html: ticketCard(entry, renderZendesk(entry)), sms: null };
    case 'freshservice.json':
      return { html: ticketCard(entry, renderFreshservice(entry)), sms: null };
    case 'pagerduty.json':
      return { html: ticketCard(entry, renderPagerDuty(entry)), sms: null };
    default:
      throw malformed(entry, `unknown outbox format "${clip(String(entry.format), 40)}"`, 'format');
  }
}

/** Never throws: a malformed body becomes an error box with the raw text, escaped. */
export function renderOne(entry: PreviewEntry): RenderedEntry {
  try {
    const { html, sms, failure } = renderBody(entry);
    return { entry, html, error: null, sms, failure: failure ?? null };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const html = `<div class="error-box" role="alert"><strong>Could not render this ${escapeHtml(FORMAT_LABELS[entry.format] ?? 'file')} message.</strong> ${escapeHtml(clip(message, 600))}${rawBodyHtml(entry)}</div>`;
    return { entry, html, error: message, sms: null, failure: null };
  }
}
