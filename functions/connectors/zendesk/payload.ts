/**
 * Zendesk Tickets API bodies. Comments go as html_body (HTML escaped by render) and are private:
 * incident details are for agents, not the ticket's requester. external_id holds the incident key,
 * the tag sentinel-<key> makes the ticket easy to find in views.
 */
import type { ZendeskReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import { changedFieldRules, mappedFields, type FieldValue } from '../tickets/field-mapping.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';

export const ZENDESK_MAX_SUBJECT_CHARS = 255;

const PRIORITY: Record<Severity, string> = { High: 'high', Medium: 'normal', Low: 'low', Informational: 'low', Unknown: 'normal' };

function textPart(parts: Record<string, unknown>, name: string): string {
  const v = parts[name];
  if (typeof v !== 'string') {
    throw new KitError(`zendesk: the template must produce a "${name}" part`, { kind: 'template', where: { field: name } });
  }
  return v;
}

/** Zendesk tags are lower-case and split on whitespace */
export function zendeskIncidentTag(incidentKey: string): string {
  return `sentinel-${incidentKey.toLowerCase().replace(/[^a-z0-9_\-/:.]+/g, '-')}`;
}

/** what the kit writes itself: how the ticket is found (external_id, the tag), its text and its status */
const KIT_FIELDS = new Set(['subject', 'raw_subject', 'comment', 'description', 'external_id', 'tags', 'status', 'via_followup_source_id', 'custom_fields']);

/**
 * The receiver's `fields:` written into the ticket: on create every mapped field, on a comment or solve
 * only those whose source changed with the step (so a ticket agents have since edited is not reset with
 * every comment). A property the kit sets by default (priority, type, group_id) takes the mapped value in
 * its place; a custom field id goes into custom_fields as {id, value}; the kit's own are left alone.
 */
function withFields(input: PayloadInput<ZendeskReceiver>, ticket: Record<string, unknown>): Record<string, unknown> {
  const { receiver, step } = input;
  if (receiver.fields === undefined) return ticket;
  const rules = input.operation === 'create' ? receiver.fields : changedFieldRules(receiver.fields, step.changes);
  const custom: Array<{ id: number; value: FieldValue }> = [];
  for (const [name, value] of Object.entries(mappedFields(rules, step.incident))) {
    if (/^[0-9]+$/.test(name)) custom.push({ id: Number(name), value });
    else if (!KIT_FIELDS.has(name)) ticket[name] = value;
  }
  if (custom.length > 0) ticket.custom_fields = custom;
  return ticket;
}

export const buildZendeskPayload: PayloadBuilder<ZendeskReceiver> = (input): OutboundRequest => {
  const { receiver, step, rendered } = input;
  const truncated: string[] = [];
  let ticket: Record<string, unknown>;
  switch (input.operation) {
    case 'create': {
      const subject = limitField('subject', textPart(rendered.parts, 'subject').replace(/\s+/g, ' ').trim(), ZENDESK_MAX_SUBJECT_CHARS, truncated, { unit: 'utf16' });
      ticket = {
        subject: subject || `Microsoft Sentinel incident ${step.incidentKey}`,
        comment: { html_body: textPart(rendered.parts, 'body'), public: false },
        external_id: step.incidentKey,
        tags: ['sentinel', zendeskIncidentTag(step.incidentKey)],
        priority: PRIORITY[step.incident.severity] ?? 'normal',
        type: 'incident',
        ...(receiver.groupId !== undefined ? { group_id: receiver.groupId } : {}),
      };
      break;
    }
    case 'update':
      ticket = { comment: { html_body: textPart(rendered.parts, 'comment'), public: false } };
      break;
    case 'resolve':
      ticket = { status: 'solved', comment: { html_body: textPart(rendered.parts, 'comment'), public: false } };
      break;
    default:
      throw new KitError(`zendesk: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });
  }
  withFields(input, ticket);
  const create = input.operation === 'create';
  return {
    format: 'zendesk.json',
    method: create ? 'POST' : 'PUT',
    path: create ? '/api/v2/tickets.json' : `/api/v2/tickets/${ticketSegment(input.ticket, '{id}')}.json`,
    headers: { accept: 'application/json' },
    contentType: 'application/json',
    body: { json: { ticket } },
    truncated,
  };
};
