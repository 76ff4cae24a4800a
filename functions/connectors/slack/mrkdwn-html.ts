/** Slack mrkdwn (the text of messages, sections and attachments) as HTML, parsed the way Slack reads it. */
import { escapeHtml } from '../../render/escape.js';
import { linkHtml } from '../outbox/preview/markup.js';

/** Slack escapes exactly &, < and > in text; anything else that looks like an entity is literal. */
export function slackDecode(text: string): string {
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
