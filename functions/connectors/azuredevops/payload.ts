/**
 * Azure DevOps work item JSON Patch documents (Content-Type application/json-patch+json). Description
 * and History are HTML, escaped by render. The tag "sentinel-<key>" is what the connector's WIQL
 * query looks for, so it is built from the incident key alone. The live target (target.ts) sends the
 * create as `adoLiveCreate` (the create built here, then a System.History line carrying the creating
 * step's marker) and its changes to an existing work item as `adoGuardedPatch`: the same operations
 * behind a `test /rev`, the comment carrying the engine's marker.
 */
import type { AzuredevopsReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { escapeHtml } from '../../render/escape.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import { changedFieldRules, mappedFields, type FieldValue } from '../tickets/field-mapping.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';

export const ADO_MAX_TITLE_CHARS = 255;
/** naming-restrictions.md: a tag is at most 400 characters and holds no "," or ";" */
export const ADO_MAX_TAG_CHARS = 400;

/** Microsoft.VSTS.Common.Priority: 1 (highest) … 4 */
const PRIORITY: Record<Severity, number> = { High: 1, Medium: 2, Low: 3, Informational: 4, Unknown: 4 };

type PatchOp = { op: 'add' | 'replace' | 'test'; path: string; value: unknown };

/** what the kit writes itself: how the work item is found (the tag), its text, its state and comments */
const KIT_FIELDS = new Set(['system.title', 'system.description', 'system.tags', 'system.state', 'system.history']);

/**
 * The receiver's `fields:` for this request: on create every mapped field; on a comment or state change
 * only those whose source changed with the step, so a work item people have since edited is not reset
 * with every comment.
 */
function fieldValues(input: PayloadInput<AzuredevopsReceiver>, create: boolean): Record<string, FieldValue> {
  const { receiver, step } = input;
  if (receiver.fields === undefined) return {};
  if (create) return mappedFields(receiver.fields, step.incident);
  return mappedFields(changedFieldRules(receiver.fields, step.changes), step.incident);
}

/**
 * `add /fields/<name>` for each mapped field (names are reference names, checked by the schema; Azure
 * DevOps compares them ignoring case): one the ops already set (the kit's Priority, AreaPath) takes the
 * mapped value in its place, so the order stays the kit's; the others follow, in the receiver's order; the
 * kit's own fields are never touched.
 */
function withFieldOps(ops: PatchOp[], fields: Record<string, FieldValue>): PatchOp[] {
  for (const [name, value] of Object.entries(fields)) {
    if (KIT_FIELDS.has(name.toLowerCase())) continue;
    const path = `/fields/${name}`;
    const same = ops.find((o) => o.path.toLowerCase() === path.toLowerCase());
    if (same) same.value = value;
    else ops.push({ op: 'add', path, value });
  }
  return ops;
}

function textPart(parts: Record<string, unknown>, name: string): string {
  const v = parts[name];
  if (typeof v !== 'string') {
    throw new KitError(`azuredevops: the template must produce a "${name}" part`, { kind: 'template', where: { field: name } });
  }
  return v;
}

/** "sentinel-<key>": separators and whitespace would split or break the tag, so they become "-" */
export function adoIncidentTag(incidentKey: string): string {
  return `sentinel-${incidentKey.replace(/[,;\s]+/g, '-')}`.slice(0, ADO_MAX_TAG_CHARS);
}

/** REST 7.1, relative to the organization URL (https://dev.azure.com/<org>) */
export const ADO_API_VERSION = '7.1';

/** create: POST …/workitems/$<type> (the "$" is literal); update and resolve: PATCH …/workitems/<id> */
function workItemPath(receiver: AzuredevopsReceiver, item: string): string {
  return `/${encodeURIComponent(receiver.project)}/_apis/wit/workitems/${item}?api-version=${ADO_API_VERSION}`;
}

function historyOp(parts: Record<string, unknown>, marker?: string): PatchOp {
  const html = textPart(parts, 'comment');
  return { op: 'add', path: '/fields/System.History', value: marker === undefined ? html : `${html}${adoMarkerHtml(marker)}` };
}

function patchRequest(input: PayloadInput<AzuredevopsReceiver>, ops: PatchOp[], truncated: string[]): OutboundRequest {
  const create = input.operation === 'create';
  return {
    format: 'ado.json',
    method: create ? 'POST' : 'PATCH',
    path: workItemPath(input.receiver, create ? `$${encodeURIComponent(input.receiver.workItemType)}` : ticketSegment(input.ticket, '{id}')),
    headers: { accept: 'application/json' },
    contentType: 'application/json-patch+json',
    body: { json: ops },
    truncated,
  };
}

/**
 * The comment marker as the last paragraph of a discussion comment. The target looks for it at the very
 * end of a comment's text: incident text inside the comment is always followed by the kit's own footer
 * and this marker, so a marker copied into an incident field cannot pass for one.
 */
export function adoMarkerHtml(marker: string): string {
  return `<p>${escapeHtml(marker)}</p>`;
}

/** the create's ops: the kit's fields in a stable order, then the mapped ones */
function createOps(input: PayloadInput<AzuredevopsReceiver>, truncated: string[]): PatchOp[] {
  const { receiver, step, rendered } = input;
  const title = limitField('title', textPart(rendered.parts, 'title').replace(/\s+/g, ' ').trim(), ADO_MAX_TITLE_CHARS, truncated, { unit: 'utf16' });
  const ops: PatchOp[] = [
    { op: 'add', path: '/fields/System.Title', value: title || `Microsoft Sentinel incident ${step.incidentKey}` },
    { op: 'add', path: '/fields/System.Description', value: textPart(rendered.parts, 'description') },
    { op: 'add', path: '/fields/System.Tags', value: `sentinel; ${adoIncidentTag(step.incidentKey)}` },
    { op: 'add', path: '/fields/Microsoft.VSTS.Common.Priority', value: PRIORITY[step.incident.severity] ?? 4 },
  ];
  if (receiver.areaPath) ops.push({ op: 'add', path: '/fields/System.AreaPath', value: receiver.areaPath });
  return withFieldOps(ops, fieldValues(input, true));
}

export const buildAzuredevopsPayload: PayloadBuilder<AzuredevopsReceiver> = (input): OutboundRequest => {
  const { receiver, rendered } = input;
  const truncated: string[] = [];
  let ops: PatchOp[];
  switch (input.operation) {
    case 'create':
      ops = createOps(input, truncated);
      break;
    case 'update':
      ops = [...withFieldOps([], fieldValues(input, false)), historyOp(rendered.parts)];
      break;
    case 'resolve':
      ops = [{ op: 'add', path: '/fields/System.State', value: receiver.doneState }, ...withFieldOps([], fieldValues(input, false)), historyOp(rendered.parts)];
      break;
    default:
      throw new KitError(`azuredevops: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });
  }
  return patchRequest(input, ops, truncated);
};

/** What a live change to an existing work item is guarded by and carries. */
export interface AdoGuardedChange {
  /** the work item revision it was read at: `test /rev` makes Azure DevOps refuse the patch (412) if it moved on */
  rev: number;
  /** the engine's comment marker, appended to the comment */
  marker: string;
  /** the state to move to, spelled as the work item type spells it (looked up by name); absent: comment only */
  state?: string;
}

/**
 * The PATCH a live delivery sends to an existing work item: `test /rev` first (JSON Patch is applied
 * atomically, so a work item changed since it was read takes none of it), then the state if it moves,
 * then the mapped fields whose source changed with the step, then the comment with the marker. The
 * outbox writes the unguarded `buildAzuredevopsPayload` body, as it cannot know the revision.
 */
export function adoGuardedPatch(input: PayloadInput<AzuredevopsReceiver>, change: AdoGuardedChange): OutboundRequest {
  const ops: PatchOp[] = [{ op: 'test', path: '/rev', value: change.rev }];
  if (change.state !== undefined) ops.push({ op: 'add', path: '/fields/System.State', value: change.state });
  ops.push(...withFieldOps([], fieldValues(input, false)), historyOp(input.rendered.parts, change.marker));
  return patchRequest({ ...input, operation: change.state === undefined ? 'update' : 'resolve' }, ops, []);
}

/** The live create's System.History: one short line ending with the creating step's marker. */
export function adoCreateHistory(marker: string): string {
  return `<p>Created from Microsoft Sentinel.</p>${adoMarkerHtml(marker)}`;
}

/**
 * The POST a live delivery sends to create a work item: the builder's create (same ops, same order), then
 * System.History with a short line ending with the creating step's marker. Azure DevOps makes a History
 * value on create the work item's first comment, so when the create's answer is lost, the retry finds the
 * work item by its tag, reads that comment, and adds no comment repeating what the create wrote. The
 * outbox writes the builder's body, without it.
 */
export function adoLiveCreate(input: PayloadInput<AzuredevopsReceiver>, marker: string): OutboundRequest {
  const truncated: string[] = [];
  const ops = [...createOps(input, truncated), { op: 'add' as const, path: '/fields/System.History', value: adoCreateHistory(marker) }];
  return patchRequest({ ...input, operation: 'create' }, ops, truncated);
}
