/**
 * A Slack message (chat.postMessage or incoming-webhook JSON) as the channel shows it: Block Kit blocks,
 * rich text, legacy attachments with their colour bar, the notification fallback text.
 */
import { escapeHtml } from '../../render/escape.js';
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewFile } from '../outbox/preview/entry.js';
import { arr, oneOf, str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { MAX_DEPTH, clip, isDataImage, linkHtml, placeholder } from '../outbox/preview/markup.js';
import { slackDecode, slackMrkdwnToHtml } from './mrkdwn-html.js';

function slackText(obj: unknown): string {
  if (!isJsonObject(obj)) return '';
  if (obj.type === 'mrkdwn') return slackMrkdwnToHtml(str(obj.text));
  return escapeHtml(slackDecode(str(obj.text))).replace(/\r?\n/g, '<br>');
}

function slackElement(el: unknown): string {
  if (!isJsonObject(el)) return placeholder('element that is not an object', el);
  switch (el.type) {
    case 'button': {
      const style = oneOf(el.style, ['primary', 'danger'] as const);
      const label = escapeHtml(slackDecode(str(isJsonObject(el.text) ? el.text.text : '')) || '(button)');
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
      if (!isJsonObject(el)) return '';
      if (depth > MAX_DEPTH) return placeholder('rich text nested deeper than the preview follows');
      const style = isJsonObject(el.style) ? el.style : {};
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
            .map((item) => `<li>${isJsonObject(item) ? richTextElements(item.elements, depth + 1) : ''}</li>`)
            .join('')}</${tag}>`;
        }
        default:
          return placeholder(`rich text element ${str(el.type) || '(no type)'}`, el);
      }
    })
    .join('');
}

function slackBlock(block: unknown): string {
  if (!isJsonObject(block)) return placeholder('block that is not an object', block);
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
  if (!isJsonObject(att)) return placeholder('attachment that is not an object', att);
  const color = typeof att.color === 'string' && /^#?[0-9a-fA-F]{6}$/.test(att.color) ? att.color.replace(/^#?/, '#') : '#dddddd';
  const named = oneOf(att.color, ['good', 'warning', 'danger'] as const);
  const bar = named ? { good: '#2eb67d', warning: '#ecb22e', danger: '#e01e5a' }[named] : color;
  const parts: string[] = [];
  if (att.title !== undefined) parts.push(`<div class="slack-att-title">${linkHtml(att.title_link, escapeHtml(slackDecode(str(att.title))))}</div>`);
  if (att.text !== undefined) parts.push(`<div>${slackMrkdwnToHtml(str(att.text))}</div>`);
  const fields = arr(att.fields).filter(isJsonObject);
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

export function slackPreview({ entry, document: doc }: PreviewFile): KindPreview {
  if (!isJsonObject(doc)) throw malformed(entry, 'a Slack message must be a JSON object');
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
  const html = `<div class="slack"><div class="slack-avatar avatar">SPK</div><div class="slack-body">
<div class="slack-head"><strong>Sentinel Playbook Kit</strong> <span class="app-badge">APP</span> <span class="muted">${where.join(' · ')}</span></div>
<div class="slack-message">${main}</div>${attachments.map(slackAttachment).join('')}${fallback}</div></div>`;
  return { html };
}
