/**
 * The small pieces of markup every kind's preview builds with. Every byte of a body is
 * attacker-influenced (incident titles, descriptions, entity names end up in them): text is escaped,
 * only http(s) URLs become links, only data: images are shown, and class names come from fixed lists.
 */
import { escapeHtml } from '../../../render/escape.js';
import { isJsonObject } from '../../../core/json-object.js';

/** how deep a preview follows nested cards, blocks, verbs or document nodes before it stops */
export const MAX_DEPTH = 32;

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

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

/** `labelHtml` must already be escaped. A URL that is not http(s) is shown as text, never as an href. */
export function linkHtml(url: unknown, labelHtml: string, cls = ''): string {
  const href = safeHttpUrl(url);
  const classAttr = cls ? ` class="${cls}"` : '';
  if (href) {
    return `<a${classAttr} href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${labelHtml}</a>`;
  }
  const shown = typeof url === 'string' ? clip(url, 120) : '(no URL)';
  const blocked = `<span class="blocked-link">[link not allowed: ${escapeHtml(shown)}]</span>`;
  return typeof url === 'string' && labelHtml === escapeHtml(url) ? blocked : `<span${classAttr}>${labelHtml}</span> ${blocked}`;
}

/** An inline image only: a preview never fetches anything. */
export function isDataImage(url: unknown): url is string {
  return typeof url === 'string' && /^data:image\/(png|jpeg|gif|webp|bmp);base64,[A-Za-z0-9+/=\s]+$/.test(url);
}

/** A short, escaped rendering of any JSON value for field tables. */
export function valueHtml(v: unknown): string {
  if (v === null) return '<em class="muted">null</em>';
  if (v === undefined) return '<em class="muted">—</em>';
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v === 'number' || typeof v === 'boolean') return escapeHtml(String(v));
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) {
    return v.map((x) => `<span class="chip">${escapeHtml(String(x))}</span>`).join(' ');
  }
  if (isJsonObject(v)) {
    for (const k of ['name', 'key', 'value', 'displayName', 'id']) {
      const inner = v[k];
      if (Object.keys(v).length === 1 && (typeof inner === 'string' || typeof inner === 'number')) {
        return escapeHtml(String(inner));
      }
    }
  }
  return `<code>${escapeHtml(clip(JSON.stringify(v) ?? '', 400))}</code>`;
}

/** What a preview does not draw (an unknown element, a remote image), said in the card instead of dropped silently. */
export function placeholder(what: string, detail?: unknown): string {
  const extra = detail === undefined ? '' : `<pre>${escapeHtml(clip(JSON.stringify(detail, null, 1) ?? '', 600))}</pre>`;
  return `<div class="placeholder"><span class="placeholder-label">Not shown in this preview:</span> ${escapeHtml(what)}${extra}</div>`;
}
