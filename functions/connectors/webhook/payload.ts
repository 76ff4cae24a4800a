/**
 * The body a webhook receiver gets: one incident-change document (document.ts), built from the step
 * and the incident alone, so a retry sends the same bytes. The template adds only the `note` text,
 * which lands in one JSON string: whatever a SOC lead writes there, the document stays valid.
 *
 * Incident text is data here, not markup: every string is cleaned of control, bidi and lone-surrogate
 * characters (render/escape.ts cleanText), cut to the schema's limits, and JSON-escaped by the one
 * serialisation (request.ts). A receiver that shows it in HTML or markdown escapes it there.
 *
 * The signature and its timestamp are per attempt, so they are not here: the live connector's auth
 * policy adds them over the exact bytes sent (signing.ts). The idempotency key is a plain header.
 */
import type { WebhookReceiver } from './schema.js';
import { WEBHOOK_DEFAULT_MAX_BODY_BYTES } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { Incident } from '../../core/model.js';
import { KIT_NAME, distinctExclusionMatches, templateContext, type TemplateContext } from '../../render/context.js';
import { cleanText } from '../../render/escape.js';
import { KIT_VERSION } from '../http/user-agent.js';
import { jsonBytes } from '../request.js';
import { truncate } from '../truncate.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { DOCUMENT_LIMITS, INCIDENT_CHANGE_SCHEMA_VERSION, INCIDENT_CHANGE_TYPE, type IncidentChangeDocument } from './document.js';

export const WEBHOOK_IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const WEBHOOK_KIT_IDEMPOTENCY_HEADER = 'X-SPK-Idempotency-Key';

/** Cuts to the limits (scaled by `factor` when the body is over the receiver's size) and remembers what it cut. */
class Cutter {
  readonly cut = new Set<string>();
  constructor(readonly factor: number) {}

  private scaled(max: number, floor: number): number {
    return Math.max(floor, Math.floor(max * this.factor));
  }

  text(field: string, value: string, max: number): string {
    const t = truncate(cleanText(value), this.scaled(max, 16), { unit: 'utf16' });
    if (t.truncated) this.cut.add(field);
    return t.value;
  }

  nullable(field: string, value: string | null, max: number = DOCUMENT_LIMITS.text): string | null {
    return value === null ? null : this.text(field, value, max);
  }

  list<T, U>(field: string, values: readonly T[], max: number, each: (value: T) => U): U[] {
    const keep = this.scaled(max, 1);
    if (values.length > keep) this.cut.add(field);
    return values.slice(0, keep).map(each);
  }

  items(field: string, values: readonly string[], max: number): string[] {
    return this.list(field, values, max, (v) => this.text(field, v, DOCUMENT_LIMITS.item));
  }
}

/** ISO 8601 UTC with milliseconds, or null for what is not a time (the schema's date-time) */
function isoTime(value: string | null): string | null {
  if (value === null) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  const iso = new Date(at).toISOString();
  // years past 9999 come out as "+010000-…", which no date-time parser takes
  return /^\d{4}-/.test(iso) ? iso : null;
}

/** an http(s) link whole, or none: a cut URL leads somewhere else */
function link(url: string | null): string | null {
  if (url === null) return null;
  const cleaned = cleanText(url);
  return cleaned.length <= DOCUMENT_LIMITS.text && /^https?:\/\//i.test(cleaned) && URL.canParse(cleaned) ? cleaned : null;
}

function incidentOf(incident: Incident, ctx: TemplateContext, c: Cutter): IncidentChangeDocument['incident'] {
  const number = incident.number;
  return {
    key: c.text('incident.key', incident.key, DOCUMENT_LIMITS.text),
    number: typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : null,
    title: c.text('incident.title', incident.title, DOCUMENT_LIMITS.title),
    description: c.text('incident.description', incident.description, DOCUMENT_LIMITS.description),
    severity: incident.severity,
    status: incident.status,
    owner: {
      assignedTo: c.nullable('incident.owner', incident.owner.assignedTo),
      userPrincipalName: c.nullable('incident.owner', incident.owner.userPrincipalName),
      email: c.nullable('incident.owner', incident.owner.email),
      kind: incident.owner.kind,
    },
    classification: c.nullable('incident.classification', incident.classification),
    classificationReason: c.nullable('incident.classificationReason', incident.classificationReason),
    determination: c.nullable('incident.determination', incident.determination),
    classificationComment: c.nullable('incident.classificationComment', incident.classificationComment),
    provider: c.nullable('incident.provider', incident.provider),
    tags: c.items('incident.tags', incident.tags, DOCUMENT_LIMITS.tags),
    // the context's links: http(s) only, as every other kind shows them
    links: { defender: link(ctx.incident.links.defender), sentinel: link(ctx.incident.links.sentinel) },
    ids: {
      xdrIncidentId: c.nullable('incident.ids', incident.ids.xdrIncidentId),
      sentinelName: c.nullable('incident.ids', incident.ids.sentinelName),
      sentinelArmId: c.nullable('incident.ids', incident.ids.sentinelArmId),
      tenantId: c.nullable('incident.ids', incident.ids.tenantId),
      workspaceId: c.nullable('incident.ids', incident.ids.workspaceId),
    },
    createdAt: isoTime(incident.createdAt),
    updatedAt: isoTime(incident.updatedAt),
    alerts: {
      count: Number.isSafeInteger(incident.alerts.count) && incident.alerts.count >= 0 ? incident.alerts.count : 0,
      titles: c.items('incident.alerts.titles', incident.alerts.titles, DOCUMENT_LIMITS.alertTitles),
      products: c.items('incident.alerts.products', incident.alerts.products, DOCUMENT_LIMITS.products),
      tactics: c.items('incident.alerts.tactics', incident.alerts.tactics, DOCUMENT_LIMITS.tactics),
    },
    devices: c.list('incident.devices', incident.devices, DOCUMENT_LIMITS.entities, (d) => ({
      name: c.text('incident.devices', d.name, DOCUMENT_LIMITS.item),
      id: c.nullable('incident.devices', d.id, DOCUMENT_LIMITS.item),
    })),
    users: c.list('incident.users', incident.users, DOCUMENT_LIMITS.entities, (u) => ({
      name: c.text('incident.users', u.name, DOCUMENT_LIMITS.item),
      userPrincipalName: c.nullable('incident.users', u.userPrincipalName, DOCUMENT_LIMITS.item),
    })),
    groups: c.items('incident.groups', incident.groups, DOCUMENT_LIMITS.entities),
  };
}

function noteOf(rendered: unknown): string | null {
  if (rendered === undefined) return null;
  if (typeof rendered !== 'string') {
    throw new KitError('webhook: the template\'s "note" part must be text', { kind: 'template', where: { field: 'note' } });
  }
  const note = cleanText(rendered).trim();
  return note === '' ? null : note;
}

function documentOf(input: PayloadInput<WebhookReceiver>, ctx: TemplateContext, note: string | null, factor: number): IncidentChangeDocument {
  const { step } = input;
  const c = new Cutter(factor);
  const document: IncidentChangeDocument = {
    schemaVersion: INCIDENT_CHANGE_SCHEMA_VERSION,
    type: INCIDENT_CHANGE_TYPE,
    idempotencyKey: step.idempotencyKey,
    time: ctx.now,
    source: { name: KIT_NAME, version: KIT_VERSION, receiver: input.receiverName },
    playbooks: step.playbook.split('+').filter((p) => p !== ''),
    moment: ctx.moment,
    manualActionRequired: step.guidanceOnly,
    exclusionMatches: c.items('exclusionMatches', distinctExclusionMatches(step.exclusionMatches), DOCUMENT_LIMITS.exclusionMatches),
    // every change stays, whatever the size: their ids are what a receiver dedupes on
    changes: step.changes.map((change, i) => ({
      id: change.id,
      kind: change.kind,
      from: c.nullable('changes', change.from),
      to: c.nullable('changes', change.to),
      summary: c.text('changes', ctx.changes[i]?.summary ?? '', DOCUMENT_LIMITS.text),
    })),
    incident: incidentOf(step.incident, ctx, c),
    note: note === null ? null : c.text('note', note, DOCUMENT_LIMITS.note),
    truncated: [],
  };
  document.truncated = [...c.cut];
  return document;
}

/** Below this share of the limits a document that still does not fit is refused rather than cut to nothing. */
const MIN_FACTOR = 1 / 64;

export const buildWebhookPayload: PayloadBuilder<WebhookReceiver> = (input): OutboundRequest => {
  if (input.operation !== 'send') {
    throw new KitError(`webhook: operation "${input.operation}" does not apply to a notifier`, { kind: 'validation' });
  }
  const { step, receiver } = input;
  if (!/^[0-9a-f]{64}$/.test(step.idempotencyKey)) {
    // the key goes into a header and is what the receiver dedupes on: only the kit's own sha256 hex
    throw new KitError('webhook: the step\'s idempotency key is not a sha256 hex digest', { kind: 'validation' });
  }
  const note = noteOf(input.rendered.parts.note);
  const ctx = templateContext(step, { receiverName: input.receiverName, ticket: null });
  const maxBytes = receiver.maxBodyBytes ?? WEBHOOK_DEFAULT_MAX_BODY_BYTES;

  // measured once; a document over the receiver's limit is rebuilt with every limit halved, and measured again
  let factor = 1;
  let document = documentOf(input, ctx, note, factor);
  let bytes = jsonBytes(document);
  while (bytes > maxBytes && factor > MIN_FACTOR) {
    factor /= 2;
    document = documentOf(input, ctx, note, factor);
    bytes = jsonBytes(document);
  }
  if (bytes > maxBytes) {
    throw new KitError(`webhook: the incident-change document is ${bytes} bytes after truncation; the receiver's maxBodyBytes is ${maxBytes}`, {
      kind: 'template',
      where: { field: 'maxBodyBytes' },
    });
  }
  return {
    format: 'webhook.json',
    method: 'POST',
    // the URL is the endpoint (and may carry its own secret): the request goes to it as it is
    path: '',
    headers: { ...receiver.headers, [WEBHOOK_IDEMPOTENCY_HEADER]: step.idempotencyKey, [WEBHOOK_KIT_IDEMPOTENCY_HEADER]: step.idempotencyKey },
    contentType: 'application/json',
    body: { json: document },
    truncated: document.truncated,
  };
};
