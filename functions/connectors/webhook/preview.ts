/**
 * An incident-change document as the SOAR will read it: what happened (the changes), to which incident,
 * what the automation may do (manual action required or not), the note, and the keys it routes and
 * dedupes on. Every value is escaped; only http(s) links become links.
 */
import { escapeHtml } from '../../render/escape.js';
import { isJsonObject, type JsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewFile } from '../outbox/preview/entry.js';
import { arr, str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { linkHtml, valueHtml } from '../outbox/preview/markup.js';
import { plainTextHtml } from '../outbox/preview/ticket-card.js';
import { INCIDENT_CHANGE_SCHEMA_VERSION, INCIDENT_CHANGE_TYPE } from './document.js';

const obj = (v: unknown): JsonObject => (isJsonObject(v) ? v : {});

function fieldsHtml(rows: Array<[string, string]>): string {
  return `<table class="ticket-fields"><tbody>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

function section(label: string, html: string): string {
  return `<div class="ticket-section"><div class="ticket-section-label">${escapeHtml(label)}</div>${html}</div>`;
}

export function webhookPreview({ entry, document: doc, label }: PreviewFile): KindPreview {
  if (!isJsonObject(doc)) throw malformed(entry, 'a webhook body must be a JSON object');
  if (doc.schemaVersion !== INCIDENT_CHANGE_SCHEMA_VERSION || doc.type !== INCIDENT_CHANGE_TYPE) {
    throw malformed(entry, `not an incident-change document (type "${INCIDENT_CHANGE_TYPE}", schemaVersion "${INCIDENT_CHANGE_SCHEMA_VERSION}")`, 'schemaVersion');
  }
  const incident = obj(doc.incident);
  const owner = obj(incident.owner);
  const links = obj(incident.links);

  const rows: Array<[string, string]> = [
    ['moment', valueHtml(doc.moment)],
    ['incident', `${valueHtml(incident.number ?? incident.key)} <span class="muted">(key ${escapeHtml(str(incident.key))})</span>`],
    ['severity', valueHtml(incident.severity)],
    ['status', valueHtml(incident.status)],
    ['owner', valueHtml(owner.assignedTo ?? null)],
  ];
  if (incident.classification !== null && incident.classification !== undefined) rows.push(['classification', valueHtml(incident.classification)]);
  rows.push(['playbooks', valueHtml(arr(doc.playbooks))], ['Idempotency-Key', `<code>${escapeHtml(str(doc.idempotencyKey))}</code>`], ['time', valueHtml(doc.time)]);

  const sections: string[] = [];
  if (doc.manualActionRequired === true) {
    sections.push(section('Manual action required', `<div class="plain">Automate nothing: ${valueHtml(arr(doc.exclusionMatches))}</div>`));
  }
  const changes = arr(doc.changes).filter(isJsonObject);
  sections.push(
    section(
      'Changes',
      `<ul>${changes.map((c) => `<li>${escapeHtml(str(c.summary))} <span class="muted">${escapeHtml(str(c.id))}</span></li>`).join('')}</ul>`,
    ),
  );
  if (typeof doc.note === 'string' && doc.note !== '') sections.push(section('Note', plainTextHtml(doc.note)));
  const shownLinks = [
    ['Open in Microsoft Defender', links.defender],
    ['Open in Microsoft Sentinel', links.sentinel],
  ].filter(([, url]) => typeof url === 'string');
  if (shownLinks.length) sections.push(section('Links', `<ul>${shownLinks.map(([text, url]) => `<li>${linkHtml(url, escapeHtml(String(text)))}</li>`).join('')}</ul>`));
  const truncated = arr(doc.truncated);
  if (truncated.length) sections.push(section('Cut to fit', valueHtml(truncated)));

  const title = `<div class="ticket-title">${escapeHtml(str(incident.title))}</div>`;
  const head = `<div class="ticket-head"><span class="op op-create">POST</span> <span class="ticket-system">${label}</span> <span class="muted">incident-change v${INCIDENT_CHANGE_SCHEMA_VERSION}, signed</span></div>`;
  return { html: `<div class="ticket">${head}${title}${fieldsHtml(rows)}${sections.join('')}</div>` };
}
