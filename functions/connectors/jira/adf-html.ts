/** Atlassian Document Format (Jira descriptions and comments) as HTML, node by node, marks as tags. */
import { escapeHtml } from '../../render/escape.js';
import { isJsonObject } from '../../core/json-object.js';
import { arr, oneOf, str } from '../outbox/preview/json-fields.js';
import { MAX_DEPTH, linkHtml, placeholder } from '../outbox/preview/markup.js';

function adfMarks(text: string, marks: unknown): string {
  let html = escapeHtml(text).replace(/\r?\n/g, '<br>');
  let href: unknown;
  let linked = false;
  for (const mark of arr(marks)) {
    if (!isJsonObject(mark)) continue;
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
        html = isJsonObject(mark.attrs) && mark.attrs.type === 'sup' ? `<sup>${html}</sup>` : `<sub>${html}</sub>`;
        break;
      case 'link':
        linked = true;
        href = isJsonObject(mark.attrs) ? mark.attrs.href : undefined;
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
  if (!isJsonObject(node)) return placeholder('document node that is not an object', node);
  const kids = (): string =>
    arr(node.content)
      .map((c) => adfToHtml(c, depth + 1))
      .join('');
  const attrs = isJsonObject(node.attrs) ? node.attrs : {};
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
        .map((c) => (isJsonObject(c) ? str(c.text) : ''))
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

export function adfOrText(v: unknown): string {
  if (typeof v === 'string') return `<div class="plain">${escapeHtml(v)}</div><div class="muted">(plain string, not a document)</div>`;
  return adfToHtml(v);
}
