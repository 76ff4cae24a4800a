/** A Freshservice ticket or note body as the ticket change it makes, status and priority named. */
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewEntry, PreviewFile } from '../outbox/preview/entry.js';
import { str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { restFields, ticketCard, type TicketOperation, type TicketView } from '../outbox/preview/ticket-card.js';
import { sandboxedHtml } from '../outbox/preview/frame.js';

const FS_STATUS: Record<string, string> = { '2': 'Open', '3': 'Pending', '4': 'Resolved', '5': 'Closed' };
const FS_PRIORITY: Record<string, string> = { '1': 'Low', '2': 'Medium', '3': 'High', '4': 'Urgent' };

function freshserviceView(entry: PreviewEntry, doc: unknown): TicketView {
  if (!isJsonObject(doc)) throw malformed(entry, 'a Freshservice body must be a JSON object');
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

export function freshservicePreview({ entry, document, label }: PreviewFile): KindPreview {
  return { html: ticketCard(label, freshserviceView(entry, document)) };
}
