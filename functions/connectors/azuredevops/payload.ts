/**
 * Azure DevOps work item JSON Patch documents (Content-Type application/json-patch+json). Description
 * and History are HTML, escaped by render. The tag "sentinel-<key>" is what the connector's WIQL
 * query looks for, so it is built from the incident key alone. The live target (target.ts) sends the
 * create as built here and its changes to an existing work item as `adoGuardedPatch`: the same
 * operations behind a `test /rev`, the comment carrying the engine's marker.
 */
import type { AzuredevopsReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { escapeHtml } from '../../render/escape.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';

export const ADO_MAX_TITLE_CHARS = 255;
/** naming-restrictions.md: a tag is at most 400 characters and holds no "," or ";" */
export const ADO_MAX_TAG_CHARS = 400;

/** Microsoft.VSTS.Common.Priority: 1 (highest) … 4 */
const PRIORITY: Record<Severity, number> = { High: 1, Medium: 2, Low: 3, Informational: 4, Unknown: 4 };

type PatchOp = { op: 'add' | 'replace' | 'test'; path: string; value: unknown };

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

export const buildAzuredevopsPayload: PayloadBuilder<AzuredevopsReceiver> = (input): OutboundRequest => {
  const { receiver, step, rendered } = input;
  const truncated: string[] = [];
  let ops: PatchOp[];
  switch (input.operation) {
    case 'create': {
      const title = limitField('title', textPart(rendered.parts, 'title').replace(/\s+/g, ' ').trim(), ADO_MAX_TITLE_CHARS, truncated, { unit: 'utf16' });
      ops = [
        { op: 'add', path: '/fields/System.Title', value: title || `Microsoft Sentinel incident ${step.incidentKey}` },
        { op: 'add', path: '/fields/System.Description', value: textPart(rendered.parts, 'description') },
        { op: 'add', path: '/fields/System.Tags', value: `sentinel; ${adoIncidentTag(step.incidentKey)}` },
        { op: 'add', path: '/fields/Microsoft.VSTS.Common.Priority', value: PRIORITY[step.incident.severity] ?? 4 },
      ];
      if (receiver.areaPath) ops.push({ op: 'add', path: '/fields/System.AreaPath', value: receiver.areaPath });
      break;
    }
    case 'update':
      ops = [historyOp(rendered.parts)];
      break;
    case 'resolve':
      ops = [{ op: 'add', path: '/fields/System.State', value: receiver.doneState }, historyOp(rendered.parts)];
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
 * then the comment with the marker. The outbox writes the unguarded `buildAzuredevopsPayload` body, as
 * it cannot know the revision.
 */
export function adoGuardedPatch(input: PayloadInput<AzuredevopsReceiver>, change: AdoGuardedChange): OutboundRequest {
  const ops: PatchOp[] = [{ op: 'test', path: '/rev', value: change.rev }];
  if (change.state !== undefined) ops.push({ op: 'add', path: '/fields/System.State', value: change.state });
  ops.push(historyOp(input.rendered.parts, change.marker));
  return patchRequest({ ...input, operation: change.state === undefined ? 'update' : 'resolve' }, ops, []);
}
