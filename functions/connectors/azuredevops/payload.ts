/**
 * Azure DevOps work item JSON Patch documents (Content-Type application/json-patch+json). Description
 * and History are HTML, escaped by render. The tag "sentinel-<key>" is what the connector's WIQL
 * query looks for, so it is built from the incident key alone.
 */
import type { AzuredevopsReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { Severity } from '../../core/model.js';
import { ticketSegment } from '../request.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';
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
      ops = [{ op: 'add', path: '/fields/System.History', value: textPart(rendered.parts, 'comment') }];
      break;
    case 'resolve':
      ops = [
        { op: 'add', path: '/fields/System.State', value: receiver.doneState },
        { op: 'add', path: '/fields/System.History', value: textPart(rendered.parts, 'comment') },
      ];
      break;
    default:
      throw new KitError(`azuredevops: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });
  }
  const create = input.operation === 'create';
  return {
    format: 'ado.json',
    method: create ? 'POST' : 'PATCH',
    path: workItemPath(receiver, create ? `$${encodeURIComponent(receiver.workItemType)}` : ticketSegment(input.ticket, '{id}')),
    headers: { accept: 'application/json' },
    contentType: 'application/json-patch+json',
    body: { json: ops },
    truncated,
  };
};
