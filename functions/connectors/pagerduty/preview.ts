/** A PagerDuty Events API v2 event as the alert it raises, acknowledges or resolves; the routing key never shown. */
import { escapeHtml } from '../../render/escape.js';
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewEntry, PreviewFile } from '../outbox/preview/entry.js';
import { arr, oneOf, str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { restFields, ticketCard, type TicketView } from '../outbox/preview/ticket-card.js';
import { linkHtml } from '../outbox/preview/markup.js';

function pagerdutyView(entry: PreviewEntry, doc: unknown): TicketView {
  if (!isJsonObject(doc)) throw malformed(entry, 'a PagerDuty event must be a JSON object');
  const operation = oneOf(doc.event_action, ['trigger', 'acknowledge', 'resolve'] as const);
  if (!operation) throw malformed(entry, 'event_action must be trigger, acknowledge or resolve', 'event_action');
  const payload = isJsonObject(doc.payload) ? doc.payload : {};
  const rows: Array<[string, string]> = [];
  if (doc.routing_key !== undefined) rows.push(['routing_key', '<em class="muted">hidden (it is the credential)</em>']);
  rows.push(...restFields(doc, new Set(['routing_key', 'event_action', 'payload', 'links', 'images', 'client_url'])));
  rows.push(...restFields(payload, new Set(['summary', 'custom_details'])));
  if (isJsonObject(payload.custom_details)) rows.push(...restFields(payload.custom_details, new Set(), 'details.'));
  if (doc.client_url !== undefined) rows.push(['client_url', linkHtml(doc.client_url, escapeHtml(str(doc.client_url)))]);
  const sections: Array<[string, string]> = [];
  const links = arr(doc.links).filter(isJsonObject);
  if (links.length) {
    sections.push(['Links', `<ul>${links.map((l) => `<li>${linkHtml(l.href, escapeHtml(str(l.text) || str(l.href)))}</li>`).join('')}</ul>`]);
  }
  const images = arr(doc.images).filter(isJsonObject);
  if (images.length) {
    sections.push(['Images (not loaded)', `<ul>${images.map((i) => `<li>${linkHtml(i.href ?? i.src, escapeHtml(str(i.alt) || str(i.src)))}</li>`).join('')}</ul>`]);
  }
  return { operation, title: typeof payload.summary === 'string' ? payload.summary : null, fields: rows, sections };
}

/** Hides the PagerDuty routing key (the integration's credential) in the raw view too. */
export function hideRoutingKey({ entry, document: doc }: PreviewFile): string {
  // a body that is not JSON has no routing key to find; shown as is
  if (isJsonObject(doc) && typeof doc.routing_key === 'string' && doc.routing_key.length > 0) {
    return entry.body.split(doc.routing_key).join('«routing_key hidden»');
  }
  return entry.body;
}

export function pagerdutyPreview({ entry, document, label }: PreviewFile): KindPreview {
  return { html: ticketCard(label, pagerdutyView(entry, document)) };
}
