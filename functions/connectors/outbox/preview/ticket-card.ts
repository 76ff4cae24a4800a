/**
 * The one card every ticket kind is shown as: what the call does (create, comment, resolve…), the
 * ticket's title, its fields and its text sections. Each ticket kind's preview only reads its body into
 * a TicketView.
 */
import { escapeHtml } from '../../../render/escape.js';
import type { JsonObject } from '../../../core/json-object.js';
import { str } from './json-fields.js';
import { valueHtml } from './markup.js';

export type TicketOperation = 'create' | 'update' | 'comment' | 'transition' | 'resolve' | 'trigger' | 'acknowledge';

export interface TicketView {
  operation: TicketOperation;
  title: string | null;
  /** [field name, value html] */
  fields: Array<[string, string]>;
  /** [section label, content html] */
  sections: Array<[string, string]>;
}

/** `label` is the kind's own label (trusted); everything in `view` is html already escaped or sandboxed. */
export function ticketCard(label: string, view: TicketView): string {
  const fields = view.fields.length
    ? `<table class="ticket-fields"><tbody>${view.fields.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`
    : '';
  const sections = view.sections
    .map(([name, html]) => `<div class="ticket-section"><div class="ticket-section-label">${escapeHtml(name)}</div>${html}</div>`)
    .join('');
  const title = view.title === null ? '' : `<div class="ticket-title">${escapeHtml(view.title)}</div>`;
  return `<div class="ticket"><div class="ticket-head"><span class="op op-${view.operation}">${view.operation}</span> <span class="ticket-system">${label}</span></div>${title}${fields}${sections}</div>`;
}

/** The fields a ticket kind does not show elsewhere on its card, as rows. */
export function restFields(obj: JsonObject, skip: Set<string>, prefix = ''): Array<[string, string]> {
  return Object.entries(obj)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => [`${prefix}${k}`, valueHtml(v)]);
}

export function plainTextHtml(v: unknown): string {
  return `<div class="plain">${escapeHtml(str(v))}</div>`;
}
