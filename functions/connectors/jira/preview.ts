/** A Jira REST body (create, edit, comment, transition) as the ticket change it makes. */
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewEntry, PreviewFile } from '../outbox/preview/entry.js';
import { arr, str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { restFields, ticketCard, type TicketOperation, type TicketView } from '../outbox/preview/ticket-card.js';
import { valueHtml } from '../outbox/preview/markup.js';
import { adfOrText } from './adf-html.js';

function jiraView(entry: PreviewEntry, doc: unknown): TicketView {
  if (!isJsonObject(doc)) throw malformed(entry, 'a Jira body must be a JSON object');
  const fields = isJsonObject(doc.fields) ? doc.fields : {};
  const update = isJsonObject(doc.update) ? doc.update : {};
  let operation: TicketOperation;
  if (isJsonObject(doc.transition)) operation = fields.resolution !== undefined ? 'resolve' : 'transition';
  else if (doc.body !== undefined && doc.fields === undefined) operation = 'comment';
  else if (typeof fields.summary === 'string' && fields.project !== undefined) operation = 'create';
  else if (doc.fields !== undefined || doc.update !== undefined) operation = 'update';
  else throw malformed(entry, 'not a Jira create, edit, comment or transition body (no fields, update, body or transition)');
  const rows: Array<[string, string]> = [];
  if (isJsonObject(doc.transition)) rows.push(['transition', valueHtml(doc.transition.id ?? doc.transition)]);
  rows.push(...restFields(fields, new Set(['summary', 'description'])));
  for (const [field, ops] of Object.entries(update)) {
    if (field !== 'comment') rows.push([`update.${field}`, valueHtml(ops)]);
  }
  for (const p of arr(doc.properties)) {
    if (isJsonObject(p)) rows.push([`property ${str(p.key)}`, valueHtml(p.value)]);
  }
  if (isJsonObject(doc.visibility)) rows.push(['visible to', valueHtml(`${str(doc.visibility.type)} ${str(doc.visibility.value)}`)]);
  const sections: Array<[string, string]> = [];
  if (fields.description !== undefined) sections.push(['Description', adfOrText(fields.description)]);
  if (doc.body !== undefined) sections.push(['Comment', adfOrText(doc.body)]);
  for (const c of arr(update.comment)) {
    if (isJsonObject(c) && isJsonObject(c.add)) sections.push(['Comment', adfOrText(c.add.body)]);
  }
  return { operation, title: typeof fields.summary === 'string' ? fields.summary : null, fields: rows, sections };
}

export function jiraPreview({ entry, document, label }: PreviewFile): KindPreview {
  return { html: ticketCard(label, jiraView(entry, document)) };
}
