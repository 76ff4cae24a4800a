/**
 * ServiceNow Table API bodies (incident or any task table). Plain-text fields; render already made
 * "[code]" impossible in incident text. The incident key goes in correlation_id, the field ServiceNow
 * keeps for a third party's id, which is how the connector finds the ticket again.
 */
import type { ServicenowReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';
import { limitField } from '../truncate.js';

export const SERVICENOW_MAX_SHORT_DESCRIPTION = 160;
export const SERVICENOW_MAX_TEXT = 32_000;
/** close_notes is a 4000-character string on the incident table */
export const SERVICENOW_MAX_CLOSE_NOTES = 4000;
export const CORRELATION_DISPLAY = 'Microsoft Sentinel';

/** urgency and impact: 1 high, 2 medium, 3 low */
const LEVEL: Record<Severity, string> = { High: '1', Medium: '2', Low: '3', Informational: '3', Unknown: '3' };

function textPart(parts: Record<string, unknown>, name: string): string {
  const v = parts[name];
  if (typeof v !== 'string') {
    throw new KitError(`servicenow: the template must produce a "${name}" part (text)`, { kind: 'template', where: { field: name } });
  }
  return v;
}

export const buildServicenowPayload: PayloadBuilder<ServicenowReceiver> = (input): OutboundRequest => {
  const { receiver, step, rendered } = input;
  const truncated: string[] = [];
  const text = (part: string, field: string, max: number) => limitField(field, textPart(rendered.parts, part), max, truncated, { unit: 'utf16' });
  let body: Record<string, unknown>;
  switch (input.operation) {
    case 'create': {
      const level = LEVEL[step.incident.severity] ?? '3';
      body = {
        short_description: text('short_description', 'short_description', SERVICENOW_MAX_SHORT_DESCRIPTION).replace(/\s+/g, ' '),
        description: text('description', 'description', SERVICENOW_MAX_TEXT),
        urgency: level,
        impact: level,
        correlation_id: step.incidentKey,
        correlation_display: CORRELATION_DISPLAY,
        ...(receiver.assignmentGroup ? { assignment_group: receiver.assignmentGroup } : {}),
      };
      break;
    }
    case 'update':
      body = { work_notes: text('work_notes', 'work_notes', SERVICENOW_MAX_TEXT) };
      break;
    case 'resolve':
      body = {
        state: receiver.resolvedState,
        close_code: receiver.closeCode,
        close_notes: text('work_notes', 'close_notes', SERVICENOW_MAX_CLOSE_NOTES),
        work_notes: text('work_notes', 'work_notes', SERVICENOW_MAX_TEXT),
      };
      break;
    default:
      throw new KitError(`servicenow: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });
  }
  // the table name is validated by the receiver schema ([a-z0-9_]+); a record is addressed by its sys_id
  const table = `/api/now/table/${receiver.table}`;
  const create = input.operation === 'create';
  return {
    format: 'servicenow.json',
    method: create ? 'POST' : 'PATCH',
    path: create ? table : `${table}/${ticketSegment(input.ticket, '{sys_id}')}`,
    headers: { accept: 'application/json' },
    contentType: 'application/json',
    body: { json: body },
    truncated,
  };
};
