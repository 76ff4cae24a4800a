/**
 * Zendesk Tickets API bodies. Comments go as html_body (HTML escaped by render) and are private:
 * incident details are for agents, not the ticket's requester. external_id holds the incident key,
 * the tag sentinel-<key> makes the ticket easy to find in views.
 */
import type { ZendeskReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';
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
