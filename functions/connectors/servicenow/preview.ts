/** A ServiceNow Table API body as the incident change it makes, state and levels named. */
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewEntry, PreviewFile } from '../outbox/preview/entry.js';
import { str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { plainTextHtml, restFields, ticketCard, type TicketOperation, type TicketView } from '../outbox/preview/ticket-card.js';

const SN_STATES: Record<string, string> = { '1': 'New', '2': 'In Progress', '3': 'On Hold', '6': 'Resolved', '7': 'Closed', '8': 'Canceled' };
const SN_LEVELS: Record<string, string> = { '1': 'High', '2': 'Medium', '3': 'Low' };

function servicenowView(entry: PreviewEntry, doc: unknown): TicketView {
  if (!isJsonObject(doc)) throw malformed(entry, 'a ServiceNow body must be a JSON object');
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

export function servicenowPreview({ entry, document, label }: PreviewFile): KindPreview {
  return { html: ticketCard(label, servicenowView(entry, document)) };
}
