/**
 * Adaptive Cards (the Teams message body) as HTML, drawn the way Teams draws them: text blocks with
 * the card markdown subset, fact sets, columns, containers, tables, data: images and actions. Sizes,
 * weights, colours and styles become class names only from the card schema's own vocabulary.
 */
import { escapeHtml } from '../../render/escape.js';
import { isJsonObject, type JsonObject } from '../../core/json-object.js';
import { arr, oneOf, str } from '../outbox/preview/json-fields.js';
import { MAX_DEPTH, clip, isDataImage, linkHtml, placeholder } from '../outbox/preview/markup.js';

/** The Adaptive Card markdown subset (bold, italic, links), applied to already-escaped text only. */
export function teamsMarkdown(raw: string): string {
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

function textClasses(el: JsonObject, base: string): string {
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

function cardImage(el: JsonObject): string {
  const alt = str(el.altText);
  if (!isDataImage(el.url)) {
    return placeholder(`Image from ${clip(str(el.url) || '(no url)', 160)} — only data: images are shown, nothing is fetched`);
  }
  const size = oneOf(el.size, ['auto', 'stretch', 'small', 'medium', 'large'] as const) ?? 'auto';
  const round = el.style === 'Person' ? ' ac-image-person' : '';
  return `<img class="ac-image ac-image-${size}${round}" src="${escapeHtml(el.url)}" alt="${escapeHtml(alt)}">`;
}

function cardAction(action: unknown, depth: number): string {
  if (!isJsonObject(action)) return placeholder('action that is not an object', action);
  const title = escapeHtml(str(action.title) || '(untitled)');
  switch (action.type) {
    case 'Action.OpenUrl':
      return linkHtml(action.url, title, 'ac-action');
    case 'Action.ShowCard':
      return `<details class="ac-showcard"><summary class="ac-action">${title}</summary>${isJsonObject(action.card) ? renderAdaptiveCard(action.card, depth + 1) : placeholder('ShowCard without a card')}</details>`;
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
  if (!isJsonObject(inline)) return placeholder('inline that is not text', inline);
  if (inline.type !== 'TextRun') return placeholder(`inline ${str(inline.type) || '(no type)'}`, inline);
  let html = escapeHtml(str(inline.text));
  if (inline.italic === true) html = `<em>${html}</em>`;
  if (inline.strikethrough === true) html = `<s>${html}</s>`;
  if (inline.underline === true) html = `<u>${html}</u>`;
  if (inline.highlight === true) html = `<mark>${html}</mark>`;
  if (isJsonObject(inline.selectAction) && inline.selectAction.type === 'Action.OpenUrl') {
    html = linkHtml(inline.selectAction.url, html);
  }
  return `<span class="${textClasses(inline, 'ac-run')}">${html}</span>`;
}

function renderCardElement(el: unknown, depth: number): string {
  if (depth > MAX_DEPTH) return placeholder('elements nested deeper than the preview follows');
  if (!isJsonObject(el)) return placeholder('card element that is not an object', el);
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
        isJsonObject(f)
          ? `<tr><th>${teamsMarkdown(str(f.title))}</th><td>${teamsMarkdown(str(f.value))}</td></tr>`
          : `<tr><td colspan="2">${placeholder('fact that is not an object', f)}</td></tr>`,
      );
      inner = `<table class="ac-factset"><tbody>${rows.join('')}</tbody></table>`;
      break;
    }
    case 'ColumnSet': {
      const cols = arr(el.columns).map((col) => {
        if (!isJsonObject(col)) return placeholder('column that is not an object', col);
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
        .map((img) => (isJsonObject(img) ? cardImage(img) : placeholder('image that is not an object', img)))
        .join('')}</div>`;
      break;
    case 'ActionSet':
      inner = cardActions(arr(el.actions), depth);
      break;
    case 'Table': {
      const headerFirst = el.firstRowAsHeader !== false;
      const rows = arr(el.rows).map((row, i) => {
        const cells = isJsonObject(row) ? arr(row.cells) : [];
        const tag = headerFirst && i === 0 ? 'th' : 'td';
        return `<tr>${cells.map((c) => `<${tag}>${isJsonObject(c) ? cardItems(c.items, depth) : ''}</${tag}>`).join('')}</tr>`;
      });
      inner = `<table class="ac-table"><tbody>${rows.join('')}</tbody></table>`;
      break;
    }
    default:
      inner = placeholder(`card element ${type || '(no type)'}`, el);
  }
  return `${spacer}<div class="ac-element${hidden}">${hiddenNote}${inner}</div>`;
}

export function renderAdaptiveCard(card: JsonObject, depth: number): string {
  if (card.type !== 'AdaptiveCard') return placeholder(`card of type ${str(card.type) || '(none)'}`, card);
  const version = str(card.version);
  const body = arr(card.body)
    .map((el) => renderCardElement(el, depth + 1))
    .join('');
  return `<div class="ac-card" data-version="${escapeHtml(version)}">${body}${cardActions(arr(card.actions), depth)}</div>`;
}
