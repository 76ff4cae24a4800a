/**
 * PagerDuty Events API v2 (POST /v2/enqueue). dedup_key "sentinel-<key>" makes a repeated trigger land
 * on the same alert, so a retry never pages twice. PagerDuty shows nothing as markup: text only needs
 * to fit. The routing key is the credential and travels in the body, so the builder never holds it:
 * the request names the slot (`credential`: routing_key, from the receiver's routingKey reference), a
 * live sender fills it from the resolved secret (request.ts `sendArguments`), and the outbox writes
 * PAGERDUTY_ROUTING_KEY_STAND_IN there, which is plainly not a key.
 */
import { createHash } from 'node:crypto';
import type { PagerdutyReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { CUSTOMER, DEFENDER_EXPERTS, type Incident, type Severity } from '../../core/model.js';
import { describeChange, distinctExclusionMatches } from '../../render/context.js';
import { humanWords } from '../../render/words.js';
import { jsonBytes } from '../request.js';
import { mappedFields, type FieldValue } from '../tickets/field-mapping.js';
import type { CredentialSlot, OutboundRequest, PayloadBuilder } from '../types.js';
import { limitField, truncate } from '../truncate.js';

export const PAGERDUTY_MAX_SUMMARY_CHARS = 1024;
export const PAGERDUTY_MAX_DEDUP_KEY_CHARS = 255;
export const PAGERDUTY_MAX_EVENT_BYTES = 512 * 1024;
/** what the outbox and `spk render` show as routing_key: a string the Events API schema accepts, never a key */
export const PAGERDUTY_ROUTING_KEY_STAND_IN = '<routing-key>';
/** an Events API v2 integration key is 32 characters: the size check leaves room for the field */
const ROUTING_KEY_ROOM = Buffer.byteLength(`"routing_key":"${'0'.repeat(32)}",`, 'utf8');

export const PAGERDUTY_ROUTING_KEY: CredentialSlot = { in: 'json', field: 'routing_key', from: 'routingKey', standIn: PAGERDUTY_ROUTING_KEY_STAND_IN };

const SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  High: 'critical',
  Medium: 'error',
  Low: 'warning',
  Informational: 'info',
  Unknown: 'info',
};

/** "sentinel-<key>", hashed when the key would not fit in 255 characters */
export function pagerdutyDedupKey(incidentKey: string): string {
  const key = `sentinel-${incidentKey}`;
  return key.length <= PAGERDUTY_MAX_DEDUP_KEY_CHARS ? key : `sentinel-${createHash('sha256').update(incidentKey).digest('hex')}`;
}

const isHttp = (u: string | null): u is string => typeof u === 'string' && /^https?:\/\//i.test(u);

function links(incident: Incident): Array<{ href: string; text: string }> {
  const out: Array<{ href: string; text: string }> = [];
  if (isHttp(incident.links.defender)) out.push({ href: incident.links.defender, text: 'Open in Microsoft Defender' });
  if (isHttp(incident.links.sentinel)) out.push({ href: incident.links.sentinel, text: 'Open in Microsoft Sentinel' });
  return out;
}

/**
 * An update acknowledges when Defender Experts have just taken the incident (someone is on it) and
 * triggers otherwise: a hand-back to the customer or "Awaiting Customer Action" must page.
 */
function updateAction(step: Parameters<PayloadBuilder>[0]['step']): 'trigger' | 'acknowledge' {
  const owner = step.incident.owner.assignedTo?.toLowerCase();
  const handedToExperts = step.changes.length > 0 && step.changes.every((c) => c.kind === 'owner' && c.to?.toLowerCase() === DEFENDER_EXPERTS.toLowerCase());
  const waitingForCustomer = owner === CUSTOMER.toLowerCase() || step.incident.tags.some((t) => /awaiting customer action/i.test(t));
  return handedToExperts && !waitingForCustomer && !step.guidanceOnly ? 'acknowledge' : 'trigger';
}

/** payload fields a mapped value replaces; summary, source and timestamp stay the kit's; any other name is a custom detail */
const PAYLOAD_FIELDS = new Set(['severity', 'component', 'group', 'class']);
const KIT_PAYLOAD_FIELDS = new Set(['summary', 'source', 'timestamp', 'custom_details']);

function customDetails(input: Parameters<PayloadBuilder>[0], descriptionChars: number, mapped: Record<string, FieldValue>): Record<string, unknown> {
  const { incident } = input.step;
  const details: Record<string, unknown> = {
    incident_number: incident.number,
    incident_key: incident.key,
    title: truncate(incident.title, 2000, { unit: 'runes' }).value,
    severity: incident.severity,
    status: incident.status,
    owner: incident.owner.assignedTo,
    // responders read custom_details in the PagerDuty UI: words, not API names
    classification: incident.classification === null ? null : humanWords(incident.classification),
    determination: incident.determination === null ? null : humanWords(incident.determination),
    tags: incident.tags,
    alerts: incident.alerts.count,
    alert_titles: incident.alerts.titles.slice(0, 20),
    devices: incident.devices.slice(0, 50).map((d) => d.name),
    users: incident.users.slice(0, 50).map((u) => u.userPrincipalName ?? u.name),
    changes: input.step.changes.map((c) => ({ kind: c.kind, from: c.from, to: c.to, summary: describeChange(c) })),
    manual_action_required: input.step.guidanceOnly,
    exclusion_matches: distinctExclusionMatches(input.step.exclusionMatches),
    playbook: input.step.playbook,
    description: truncate(incident.description, descriptionChars, { unit: 'runes' }).value,
  };
  // the receiver's extra details follow the kit's, which win
  for (const [name, value] of Object.entries(mapped)) {
    if (!PAYLOAD_FIELDS.has(name) && !KIT_PAYLOAD_FIELDS.has(name) && !Object.hasOwn(details, name)) details[name] = value;
  }
  return details;
}

export const buildPagerdutyPayload: PayloadBuilder<PagerdutyReceiver> = (input): OutboundRequest => {
  const { receiver, step, rendered } = input;
  const truncated: string[] = [];
  // always the incident's key, never the ticket's id: a ticket the outbox made ("outbox-<key>") or one
  // stored before the receiver went live names no alert, and an event under it would open or resolve nothing
  const dedupKey = pagerdutyDedupKey(step.incidentKey);
  let event: Record<string, unknown>;
  const action = input.operation === 'create' ? 'trigger' : input.operation === 'update' ? updateAction(step) : input.operation === 'resolve' ? 'resolve' : null;
  if (action === null) throw new KitError(`pagerduty: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });

  if (action === 'trigger') {
    const raw = rendered.parts.summary;
    if (typeof raw !== 'string') throw new KitError('pagerduty: the template must produce a "summary" part', { kind: 'template', where: { field: 'summary' } });
    const summary = limitField('summary', raw.replace(/\s+/g, ' ').trim(), PAGERDUTY_MAX_SUMMARY_CHARS, truncated, { unit: 'utf16' });
    const timestamp = step.incident.updatedAt && !Number.isNaN(Date.parse(step.incident.updatedAt)) ? new Date(step.incident.updatedAt).toISOString() : undefined;
    // every trigger carries the whole payload, so every trigger carries every mapped field
    const mapped = mappedFields(receiver.fields, step.incident);
    const text = (name: string): string | undefined => (mapped[name] === undefined ? undefined : String(mapped[name]));
    const component = text('component') ?? step.incident.provider;
    const build = (descriptionChars: number) => ({
      event_action: action,
      dedup_key: dedupKey,
      payload: {
        summary: summary || `Microsoft Sentinel incident ${step.incidentKey}`,
        source: receiver.source,
        severity: text('severity') ?? SEVERITY[step.incident.severity] ?? 'info',
        ...(timestamp ? { timestamp } : {}),
        ...(component ? { component } : {}),
        group: text('group') ?? 'Microsoft Sentinel',
        class: text('class') ?? step.changes[0]?.kind ?? 'incident',
        custom_details: customDetails(input, descriptionChars, mapped),
      },
      links: links(step.incident),
      client: 'Sentinel Playbook Kit',
      ...(links(step.incident)[0] ? { client_url: links(step.incident)[0]!.href } : {}),
    });
    let descriptionChars = 20_000;
    event = build(descriptionChars);
    // measured once; an event over the limit is measured again after each halving of the description
    let bytes = jsonBytes(event) + ROUTING_KEY_ROOM;
    while (bytes > PAGERDUTY_MAX_EVENT_BYTES && descriptionChars > 0) {
      descriptionChars = Math.floor(descriptionChars / 2);
      event = build(descriptionChars);
      bytes = jsonBytes(event) + ROUTING_KEY_ROOM;
      if (!truncated.includes('custom_details')) truncated.push('custom_details');
    }
    if (bytes > PAGERDUTY_MAX_EVENT_BYTES) {
      throw new KitError(`pagerduty: the event is larger than ${PAGERDUTY_MAX_EVENT_BYTES} bytes`, { kind: 'template', where: { field: 'custom_details' } });
    }
  } else {
    // an action and a dedup_key of at most 255 characters: nothing to measure
    event = { event_action: action, dedup_key: dedupKey };
  }
  // the path is the Events API's, relative to the receiver's eventsUrl (default https://events.pagerduty.com; see events-url.ts)
  return {
    format: 'pagerduty.json',
    method: 'POST',
    path: '/v2/enqueue',
    headers: {},
    contentType: 'application/json',
    body: { json: event },
    truncated,
    credential: PAGERDUTY_ROUTING_KEY,
  };
};
