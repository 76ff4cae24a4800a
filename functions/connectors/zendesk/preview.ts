/** A Zendesk ticket body as the ticket change it makes: public reply or internal note. */
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewEntry, PreviewFile } from '../outbox/preview/entry.js';
import { str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { plainTextHtml, restFields, ticketCard, type TicketOperation, type TicketView } from '../outbox/preview/ticket-card.js';
import { sandboxedHtml } from '../outbox/preview/frame.js';

function zendeskView(entry: PreviewEntry, doc: unknown): TicketView {
  if (!isJsonObject(doc) || !isJsonObject(doc.ticket)) throw malformed(entry, 'a Zendesk body must be {"ticket": {…}}', 'ticket');
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
  if (isJsonObject(t.comment)) {
    const label = t.comment.public === false ? 'Internal note' : 'Public reply';
    if (typeof t.comment.html_body === 'string') sections.push([label, sandboxedHtml(t.comment.html_body, 'Zendesk comment')]);
    else sections.push([label, plainTextHtml(t.comment.body)]);
  }
  return { operation, title: typeof t.subject === 'string' ? t.subject : null, fields: rows, sections };
}

export function zendeskPreview({ entry, document, label }: PreviewFile): KindPreview {
  return { html: ticketCard(label, zendeskView(entry, document)) };
}
