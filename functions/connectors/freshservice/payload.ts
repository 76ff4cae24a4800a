/**
 * Freshservice API v2 bodies: ticket create, a private note per update, status Resolved at the end.
 * description and note bodies are HTML escaped by render. The tag sentinel-<key> is what the
 * connector's filter query looks for (text custom fields cannot be filtered).
 */
import type { FreshserviceReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import { changedFieldRules, mappedFields, type FieldValue } from '../tickets/field-mapping.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';

export const FRESHSERVICE_MAX_SUBJECT_CHARS = 255;
export const FRESHSERVICE_STATUS_OPEN = 2;
export const FRESHSERVICE_STATUS_RESOLVED = 4;
/** source 2: Portal */
export const FRESHSERVICE_SOURCE = 2;

/** priority: 1 low, 2 medium, 3 high, 4 urgent */
const PRIORITY: Record<Severity, number> = { High: 3, Medium: 2, Low: 1, Informational: 1, Unknown: 2 };

function textPart(parts: Record<string, unknown>, name: string): string {
  const v = parts[name];
  if (typeof v !== 'string') {
    throw new KitError(`freshservice: the template must produce a "${name}" part`, { kind: 'template', where: { field: name } });
  }
  return v;
}

/** the filter query quotes values in single quotes, so the tag holds none */
export function freshserviceIncidentTag(incidentKey: string): string {
  return `sentinel-${incidentKey.replace(/[^A-Za-z0-9_.-]+/g, '-')}`;
}

/** what the kit writes itself: the requester, the text, the status, and the tag the ticket is found by */
const KIT_FIELDS = new Set(['email', 'subject', 'description', 'status', 'tags', 'custom_fields']);

/**
 * The receiver's `fields:` written into a ticket body: on create every mapped field, on the status PUT of a
 * resolve or reopen only those whose source changed with the step. An attribute the kit sets by default
 * (priority, source, group_id) takes the mapped value in its place; cf_… names go into custom_fields; the
 * kit's own are left alone (tags above all: a PUT with tags replaces the list the ticket is found by).
 */
function withFields(input: PayloadInput<FreshserviceReceiver>, body: Record<string, unknown>): Record<string, unknown> {
  const { receiver, step } = input;
  if (receiver.fields === undefined) return body;
  const rules = input.operation === 'create' ? receiver.fields : changedFieldRules(receiver.fields, step.changes);
  const custom: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries(mappedFields(rules, step.incident))) {
    if (name.startsWith('cf_')) custom[name] = value;
    else if (!KIT_FIELDS.has(name)) body[name] = value;
  }
  if (Object.keys(custom).length > 0) body.custom_fields = custom;
  return body;
}

export const buildFreshservicePayload: PayloadBuilder<FreshserviceReceiver> = (input): OutboundRequest => {
  const { receiver, step, rendered } = input;
  const truncated: string[] = [];
  const ticketPath = `/api/v2/tickets/${ticketSegment(input.ticket, '{id}')}`;
  let body: Record<string, unknown>;
  let method: OutboundRequest['method'] = 'POST';
  let path: string;
  switch (input.operation) {
    case 'create': {
      const subject = limitField('subject', textPart(rendered.parts, 'subject').replace(/\s+/g, ' ').trim(), FRESHSERVICE_MAX_SUBJECT_CHARS, truncated, { unit: 'utf16' });
      body = withFields(input, {
        email: receiver.requesterEmail,
        subject: subject || `Microsoft Sentinel incident ${step.incidentKey}`,
        description: textPart(rendered.parts, 'description'),
        status: FRESHSERVICE_STATUS_OPEN,
        priority: PRIORITY[step.incident.severity] ?? 2,
        source: FRESHSERVICE_SOURCE,
        tags: ['sentinel', freshserviceIncidentTag(step.incidentKey)],
        ...(receiver.groupId !== undefined ? { group_id: receiver.groupId } : {}),
      });
      path = '/api/v2/tickets';
      break;
    }
    case 'update':
      body = { body: textPart(rendered.parts, 'note'), private: true };
      path = `${ticketPath}/notes`;
      break;
    case 'resolve':
      body = withFields(input, { status: FRESHSERVICE_STATUS_RESOLVED });
      method = 'PUT';
      path = ticketPath;
      break;
    default:
      throw new KitError(`freshservice: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });
  }
  return { format: 'freshservice.json', method, path, headers: { accept: 'application/json' }, contentType: 'application/json', body: { json: body }, truncated };
};
