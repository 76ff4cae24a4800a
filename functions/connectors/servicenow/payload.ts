/**
 * ServiceNow Table API bodies (incident, sn_si_incident or any task table). Plain-text fields. Journal
 * fields (work_notes, comments) render "[code]…[/code]" as HTML: render already replaced "[" in incident
 * text (the 'servicenow' dialect), and this builder neutralises a [code] tag that template text itself
 * might carry, so no path leads to one on the wire.
 *
 * The record is found again by correlation_id, the task field ServiceNow keeps for a third party's id:
 * the incident key qualified by its workspace (servicenowCorrelationIds). Every journal note ends with
 * the engine's marker token, so a retry can find the note an earlier try wrote (target.ts, hasComment);
 * the create carries a one-line note with the marker too, so a retry whose create answer was lost
 * recognises its own create and does not repeat its changes as a note.
 * The live target sends these same requests; its reads (query, journal, current state) are its own.
 */
import { createHash } from 'node:crypto';
import type { ServicenowReceiver } from './schema.js';
import type { DeliveryStep } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import { commentMarker } from '../tickets/marker.js';
import { changedFieldRules, mappedFields, type FieldValue } from '../tickets/field-mapping.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';

export const SERVICENOW_MAX_SHORT_DESCRIPTION = 160;
export const SERVICENOW_MAX_TEXT = 32_000;
/** close_notes is a 4000-character string on the incident table */
export const SERVICENOW_MAX_CLOSE_NOTES = 4000;
/**
 * correlation_id's length is not documented (task.correlation_id is 100 in the instances we know);
 * the ids the kit makes stay under it, and anything longer is replaced by a hash.
 */
export const SERVICENOW_MAX_CORRELATION_ID = 100;
export const CORRELATION_DISPLAY = 'Microsoft Sentinel';

/** urgency and impact: 1 high, 2 medium, 3 low */
const LEVEL: Record<Severity, string> = { High: '1', Medium: '2', Low: '3', Informational: '3', Unknown: '3' };

/** what may go into an encoded query unescaped: no "^" (condition separator), no "=" or spaces */
const SAFE_CORRELATION = /^[A-Za-z0-9._:-]+$/;

function safeCorrelation(value: string): string {
  if (SAFE_CORRELATION.test(value) && value.length <= SERVICENOW_MAX_CORRELATION_ID) return value;
  return `h:${createHash('sha256').update(value).digest('hex').slice(0, 40)}`;
}

/**
 * The correlation_id values this incident's record may carry, the one to create with first.
 *
 * One ServiceNow instance often serves several workspaces or tenants, and an XDR incident id (3101) is
 * only unique within its tenant: the Microsoft Sentinel ServiceNow app had duplicate records until it
 * put the workspace into the id. So: `ws:<workspaceId>:<key>` when the workspace is known (Sentinel
 * events), else `tenant:<tenantId>:<key>` (Graph carries the tenant, not the workspace), else the bare
 * key. An incident first seen through Graph and later through Sentinel gains its workspace, so the
 * tenant form stays a candidate: the record made under it is still found. The bare key is never a
 * fallback for a qualified incident, since in a shared instance it may be another tenant's record.
 * Workspace and tenant ids come from the event: anything that is not a plain id is hashed.
 */
export function servicenowCorrelationIds(step: Pick<DeliveryStep, 'incident' | 'incidentKey'>): string[] {
  const { workspaceId, tenantId } = step.incident.ids;
  const key = step.incidentKey;
  const ids: string[] = [];
  if (workspaceId) ids.push(safeCorrelation(`ws:${workspaceId}:${key}`));
  if (tenantId) ids.push(safeCorrelation(`tenant:${tenantId}:${key}`));
  if (ids.length === 0) ids.push(safeCorrelation(key));
  return ids;
}

export function servicenowCorrelationId(step: Pick<DeliveryStep, 'incident' | 'incidentKey'>): string {
  return servicenowCorrelationIds(step)[0] as string;
}

/** The receiver's state mapping with the incident table's defaults filled in. */
export interface ServicenowStates {
  /** set on resolve */
  resolved: string;
  /** set on reactivation; undefined: a reactivation is a note, the record stays resolved */
  reopen: string | undefined;
  /** states in which the record counts as resolved; always holds `resolved` */
  done: string[];
  /** sent with the resolve when set */
  closeCode: string | undefined;
}

/** incident's out-of-box states: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled */
const INCIDENT_STATES = { resolved: '6', reopen: '2', done: ['6', '7', '8'], closeCode: 'Resolved by caller' };

export function servicenowStates(receiver: ServicenowReceiver): ServicenowStates {
  const incident = receiver.table === 'incident';
  const resolved = receiver.resolvedState ?? (incident ? INCIDENT_STATES.resolved : undefined);
  if (resolved === undefined) {
    // the receiver schema refuses this; a hand-built receiver may not have been through it
    throw new KitError(`servicenow: table ${receiver.table} needs resolvedState`, { kind: 'config', where: { field: 'resolvedState' } });
  }
  const done = [...new Set([...(receiver.doneStates ?? (incident ? INCIDENT_STATES.done : [])), resolved])];
  return {
    resolved,
    reopen: receiver.reopenState ?? (incident ? INCIDENT_STATES.reopen : undefined),
    done,
    closeCode: receiver.closeCode ?? (incident ? INCIDENT_STATES.closeCode : undefined),
  };
}

/** "[code]" / "[/code]" in any case (spaces too, to be safe) lose their "[" to a look-alike */
export function neutraliseCodeTags(s: string): string {
  return s.replace(/\[(?=\s*\/?\s*code\s*\])/gi, '\uFF3B');
}

function textPart(parts: Record<string, unknown>, name: string): string {
  const v = parts[name];
  if (typeof v !== 'string') {
    throw new KitError(`servicenow: the template must produce a "${name}" part (text)`, { kind: 'template', where: { field: name } });
  }
  return v;
}

type BuildInput = PayloadInput<ServicenowReceiver>;

/** what the kit writes itself and a `fields:` entry never replaces (how the record is found, its text, its state) */
const KIT_FIELDS = new Set(['correlation_id', 'correlation_display', 'short_description', 'description', 'state', 'close_notes', 'work_notes', 'comments']);
/**
 * The receiver's `fields:` written into a body: a field the kit sets by default (urgency, impact,
 * assignment_group, close_code) keeps its place and takes the mapped value, others are added at the end,
 * the kit's own are left alone. On create every mapped field; on a note, resolve or reopen only those whose
 * source changed with the step, so a record people have since edited is not reset with every note.
 * close_code belongs to the resolve: it is written there (whatever changed) and nowhere else.
 */
function withFields(input: BuildInput, json: Record<string, unknown>): Record<string, unknown> {
  const { receiver, step } = input;
  if (receiver.fields === undefined) return json;
  const all = mappedFields(receiver.fields, step.incident);
  const fields: Record<string, FieldValue> =
    input.operation === 'create' ? { ...all } : mappedFields(changedFieldRules(receiver.fields, step.changes), step.incident);
  delete fields.close_code;
  if (input.operation === 'resolve' && all.close_code !== undefined) fields.close_code = all.close_code;
  for (const [name, value] of Object.entries(fields)) if (!KIT_FIELDS.has(name)) json[name] = value;
  return json;
}

function texts(input: BuildInput, truncated: string[]) {
  const text = (part: string, field: string, max: number) =>
    limitField(field, neutraliseCodeTags(textPart(input.rendered.parts, part)), max, truncated, { unit: 'utf16' });
  const field = input.receiver.noteField;
  /** the changes as a journal note, ending with the marker a retry looks for */
  const note = (): string => {
    const { token } = commentMarker(input.step.idempotencyKey);
    const suffix = `\n\n${token}`;
    return `${text('work_notes', field, SERVICENOW_MAX_TEXT - suffix.length)}${suffix}`;
  };
  /**
   * The create's own journal line: ServiceNow stores it as a journal entry, so a retry whose create answer
   * was lost finds the step's marker on the record it made and adds no note repeating the create.
   */
  const createNote = (): string =>
    `Created by Sentinel Playbook Kit for incident ${neutraliseCodeTags(input.step.incidentKey.slice(0, 200))}. ${commentMarker(input.step.idempotencyKey).token}`;
  return { text, note, createNote, field };
}

function tableRequest(input: BuildInput, method: 'POST' | 'PATCH', json: Record<string, unknown>, truncated: string[]): OutboundRequest {
  // the table name is validated by the receiver schema ([a-z0-9_]+); a record is addressed by its sys_id
  const table = `/api/now/table/${input.receiver.table}`;
  return {
    format: 'servicenow.json',
    method,
    path: method === 'POST' ? table : `${table}/${ticketSegment(input.ticket, '{sys_id}')}`,
    headers: { accept: 'application/json' },
    contentType: 'application/json',
    body: { json },
    truncated,
  };
}

/** PATCH {state: reopenState, <note>}: a reactivated incident's record back to work, with the changes */
export function servicenowReopenRequest(input: BuildInput): OutboundRequest {
  const truncated: string[] = [];
  const { reopen } = servicenowStates(input.receiver);
  if (reopen === undefined) throw new KitError(`servicenow: table ${input.receiver.table} has no reopenState`, { kind: 'config', where: { field: 'reopenState' } });
  const { note, field } = texts(input, truncated);
  return tableRequest(input, 'PATCH', withFields(input, { state: reopen, [field]: note() }), truncated);
}

export const buildServicenowPayload: PayloadBuilder<ServicenowReceiver> = (input): OutboundRequest => {
  const { receiver, step } = input;
  const truncated: string[] = [];
  const { text, note, createNote, field } = texts(input, truncated);
  switch (input.operation) {
    case 'create': {
      const level = LEVEL[step.incident.severity] ?? '3';
      return tableRequest(
        input,
        'POST',
        withFields(input, {
          short_description: text('short_description', 'short_description', SERVICENOW_MAX_SHORT_DESCRIPTION).replace(/\s+/g, ' '),
          description: text('description', 'description', SERVICENOW_MAX_TEXT),
          urgency: level,
          impact: level,
          correlation_id: servicenowCorrelationId(step),
          correlation_display: CORRELATION_DISPLAY,
          ...(receiver.assignmentGroup ? { assignment_group: receiver.assignmentGroup } : {}),
          [field]: createNote(),
        }),
        truncated,
      );
    }
    case 'update':
      return tableRequest(input, 'PATCH', withFields(input, { [field]: note() }), truncated);
    case 'resolve': {
      const states = servicenowStates(receiver);
      return tableRequest(
        input,
        'PATCH',
        withFields(input, {
          state: states.resolved,
          ...(states.closeCode === undefined ? {} : { close_code: states.closeCode }),
          close_notes: text('work_notes', 'close_notes', SERVICENOW_MAX_CLOSE_NOTES),
          [field]: note(),
        }),
        truncated,
      );
    }
    default:
      throw new KitError(`servicenow: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });
  }
};
