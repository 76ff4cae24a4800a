/**
 * `<incident>-<n>.failed.json`, written by the CLI (outbox.ts, writeFailedDelivery) for a delivery that
 * failed for good: what was meant to go where, and why it did not. Not a kind: no target ever gets it.
 */
import { escapeHtml } from '../../../render/escape.js';
import { isJsonObject } from '../../../core/json-object.js';
import type { PreviewEntry } from './entry.js';
import { str } from './json-fields.js';
import { malformed } from './malformed.js';

export interface FailedDelivery {
  receiver: string;
  channel: string;
  incidentNumber: string | null;
  title: string | null;
  idempotencyKey: string;
  error: string;
  at: string;
}

/** `doc` is the record's parsed JSON. */
export function parseFailed(entry: PreviewEntry, doc: unknown): FailedDelivery {
  if (!isJsonObject(doc) || doc.action !== 'failed') throw malformed(entry, 'a failed-delivery record must be a JSON object with "action": "failed"', 'action');
  if (typeof doc.error !== 'string') throw malformed(entry, 'a failed-delivery record needs the "error" it failed with', 'error');
  const num = doc.incidentNumber;
  return {
    receiver: str(doc.receiver) || entry.receiver,
    channel: str(doc.channel),
    incidentNumber: (typeof num === 'number' && Number.isFinite(num)) || (typeof num === 'string' && num !== '') ? String(num) : null,
    title: typeof doc.title === 'string' && doc.title !== '' ? doc.title : null,
    idempotencyKey: str(doc.idempotencyKey),
    error: doc.error,
    at: str(doc.at),
  };
}

export function failedPreview(entry: PreviewEntry, document: unknown): { html: string; failure: FailedDelivery } {
  const f = parseFailed(entry, document);
  const rows: Array<[string, string]> = [
    ['Receiver', f.receiver],
    ['Channel', f.channel || '(not recorded)'],
    ['Failed at', f.at || '(not recorded)'],
    ['Idempotency key', f.idempotencyKey || '(not recorded)'],
  ];
  const html = `<div class="failed" role="alert"><div class="failed-head">Not delivered</div><div class="failed-reason">${escapeHtml(f.error)}</div>
<table class="ticket-fields"><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</tbody></table></div>`;
  return { html, failure: f };
}
