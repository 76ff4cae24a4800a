/**
 * A fake Azure DevOps organization (Work Item Tracking REST 7.1) for one project: the endpoints the kit
 * uses, keeping state like the real service (revisions, states by work item type, tags as a "; " list,
 * the discussion as comments) and refusing what the real one refuses: a wrong api-version (comments are
 * a 7.1 preview), a JSON Patch without `application/json-patch+json`, a failed `test /rev` (412), a state
 * the type does not have, an unknown project, a bad credential (401, or 203 with a sign-in page).
 *
 * WIQL `[System.Tags] CONTAINS` is matched as a substring here, the loosest reading, so the kit has to
 * prove the exact tag itself; `wiqlLagMs` hides new work items from WIQL (not from reads by id).
 */
import type { RenderedMessage } from '../../../functions/render/types.js';
import { reply, routes, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

/** What render hands an Azure DevOps connector (HTML already escaped), for tests that do not render templates. */
export function renderedAdo(comment = '<p>Owner changed to Defender Experts; status Active.</p>', title = 'Sentinel incident 3177: Multi-stage incident'): RenderedMessage {
  return { kind: 'azuredevops', template: 'ticket', parts: { title, description: '<p><b>Multi-stage incident</b></p>', comment } };
}

export type FakeAdoCategory = 'Proposed' | 'InProgress' | 'Resolved' | 'Completed' | 'Removed';
export interface FakeAdoState {
  name: string;
  category: FakeAdoCategory;
}

/** the Basic process: Issue and Task */
export const BASIC_STATES: FakeAdoState[] = [
  { name: 'To Do', category: 'Proposed' },
  { name: 'Doing', category: 'InProgress' },
  { name: 'Done', category: 'Completed' },
];
/** the Agile process: Task */
export const AGILE_TASK_STATES: FakeAdoState[] = [
  { name: 'New', category: 'Proposed' },
  { name: 'Active', category: 'InProgress' },
  { name: 'Closed', category: 'Completed' },
  { name: 'Removed', category: 'Removed' },
];

export interface FakeAdoOptions {
  project: string;
  /** work item types and their states, in workflow order; default { Task: BASIC_STATES } */
  types?: Record<string, FakeAdoState[]>;
  /** accepted as Basic base64(":" + pat) */
  pat?: string;
  /** accepted as Bearer <token> (an Entra token) */
  bearerToken?: string;
  /** how a request without an accepted credential is answered: 401 (default) or 203 with the sign-in page */
  refuseWith?: 401 | 203;
  /** work items created less than this long ago are not in WIQL answers */
  wiqlLagMs?: number;
  now?: () => number;
}

export interface FakeAdoComment {
  id: number;
  text: string;
  createdAt: number;
}
export interface FakeAdoWorkItem {
  id: number;
  rev: number;
  type: string;
  fields: Record<string, unknown>;
  comments: FakeAdoComment[];
  createdAt: number;
}

export interface FakeAzureDevOps {
  handler: FakeHandler;
  workItems: FakeAdoWorkItem[];
  /** work items whose System.Tags hold exactly this tag */
  withTag(tag: string): FakeAdoWorkItem[];
  workItem(id: number | string): FakeAdoWorkItem | undefined;
  /** the category of a work item's current state */
  categoryOf(item: FakeAdoWorkItem): FakeAdoCategory | undefined;
  /** someone else changes the work item (a new revision), as a person in the web UI would */
  edit(id: number, fields: Record<string, unknown>): void;
}

/** Azure DevOps' error body: {$id, innerException, message, typeName, typeKey, errorCode, eventId} */
function adoError(status: number, message: string, typeKey: string): FakeReply {
  return reply(status, { $id: '1', innerException: null, message, typeName: `Microsoft.VisualStudio.Services.WebApi.${typeKey}, Microsoft.VisualStudio.Services.WebApi`, typeKey, errorCode: 0, eventId: 3000 });
}

const SIGN_IN_PAGE = '<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in to your account</body></html>';
const lower = (s: string) => s.trim().toLowerCase();
const splitTags = (tags: unknown) => (typeof tags === 'string' ? tags.split(';').map((t) => t.trim()).filter(Boolean) : []);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function createFakeAzureDevOps(options: FakeAdoOptions): FakeAzureDevOps {
  const types = options.types ?? { Task: BASIC_STATES };
  const now = options.now ?? Date.now;
  const workItems: FakeAdoWorkItem[] = [];
  let nextId = 1;
  let nextCommentId = 1000;
  let base = 'http://127.0.0.1';

  const statesOf = (type: string) => Object.entries(types).find(([t]) => lower(t) === lower(type))?.[1];
  const find = (id: number | string) => workItems.find((w) => w.id === Number(id));
  const categoryOf = (w: FakeAdoWorkItem) => statesOf(w.type)?.find((s) => s.name === w.fields['System.State'])?.category;
  const url = (w: FakeAdoWorkItem) => `${base}/${encodeURIComponent(options.project)}/_apis/wit/workItems/${w.id}`;
  const json = (w: FakeAdoWorkItem, only?: string[]) => ({
    id: w.id,
    rev: w.rev,
    fields: only ? Object.fromEntries(Object.entries(w.fields).filter(([k]) => only.includes(k))) : { ...w.fields },
    url: url(w),
  });
  const noItem = (id: string) => adoError(404, `TF401232: Work item ${id} does not exist, or you do not have permissions to read it.`, 'WorkItemUnauthorizedAccessException');

  function guard(req: RecordedRequest): FakeReply | null {
    if (req.headers.host) base = `http://${req.headers.host}`;
    const auth = req.headers.authorization ?? '';
    const ok =
      (options.pat !== undefined && auth === `Basic ${Buffer.from(`:${options.pat}`).toString('base64')}`) ||
      (options.bearerToken !== undefined && auth === `Bearer ${options.bearerToken}`);
    if (!ok) return options.refuseWith === 203 ? reply(203, SIGN_IN_PAGE, { 'content-type': 'text/html; charset=utf-8' }) : reply(401, 'Access Denied: the Personal Access Token used has expired.', { 'content-type': 'text/plain' });
    const segment = decodeURIComponent(req.path.split('/')[1] ?? '');
    if (lower(segment) !== lower(options.project)) return adoError(404, `TF200016: The following project does not exist: ${segment}.`, 'ProjectDoesNotExistException');
    return null;
  }

  /** the api-version the route wants; a preview resource refuses its version without -preview */
  function version(req: RecordedRequest, wanted: string): FakeReply | null {
    const v = req.query.get('api-version');
    if (v === wanted) return null;
    if (v === null) return adoError(400, `No api-version was supplied for the "${req.method}" request. The version must be supplied either as part of the Accept header or as a query parameter.`, 'VssVersionNotSpecifiedException');
    if (wanted.includes('-preview') && v === wanted.replace(/-preview.*$/, '')) {
      return adoError(400, `The requested version "${v}" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests.`, 'VssInvalidPreviewVersionException');
    }
    return adoError(400, `The fake only serves api-version=${wanted} here, got "${v}".`, 'VssVersionOutOfRangeException');
  }

  function body(req: RecordedRequest, contentType: string): { ok: true; value: unknown } | { ok: false; reply: FakeReply } {
    const ct = req.headers['content-type'] ?? '';
    if (!ct.toLowerCase().startsWith(contentType)) {
      return { ok: false, reply: adoError(415, `The request indicated a Content-Type of "${ct}" for method type "${req.method}" which is not supported. Valid content types for this method are: ${contentType}.`, 'VssRequestContentTypeNotSupportedException') };
    }
    try {
      return { ok: true, value: JSON.parse(req.body) };
    } catch {
      return { ok: false, reply: adoError(400, 'Value cannot be null. Parameter name: document', 'ArgumentNullException') };
    }
  }

  /** applies JSON Patch operations to a copy; the real service is all-or-nothing too */
  function apply(item: FakeAdoWorkItem, ops: unknown, creating: boolean): FakeReply | { fields: Record<string, unknown>; history: string | null } {
    if (!Array.isArray(ops) || ops.length === 0) return adoError(400, 'You must pass a valid patch document in the body of the request.', 'VssPropertyValidationException');
    const fields = { ...item.fields };
    let history: string | null = null;
    for (const op of ops) {
      if (!isObject(op) || typeof op.path !== 'string' || !['add', 'replace', 'test'].includes(String(op.op))) {
        return adoError(400, 'The patch operation is not valid: each needs "op" (add, replace, test) and a "path".', 'VssPropertyValidationException');
      }
      if (op.op === 'test') {
        if (creating) return adoError(400, 'Test operations are not valid on a create.', 'VssPropertyValidationException');
        const current = op.path === '/rev' ? item.rev : op.path.startsWith('/fields/') ? fields[op.path.slice(8)] : undefined;
        if (current !== op.value) return adoError(412, `Test operation failed for path ${op.path}: the value is ${JSON.stringify(current)}, not ${JSON.stringify(op.value)}.`, 'WorkItemRevisionMismatchException');
        continue;
      }
      if (!op.path.startsWith('/fields/')) return adoError(400, `The path ${op.path} is not supported by the fake.`, 'VssPropertyValidationException');
      const field = op.path.slice(8);
      if (field === 'System.History') {
        if (typeof op.value !== 'string') return adoError(400, 'System.History must be a string.', 'RuleValidationException');
        history = op.value;
      } else fields[field] = op.value;
    }
    const title = fields['System.Title'];
    if (typeof title !== 'string' || title.trim() === '') return adoError(400, 'TF401320: Rule Error for field Title. Error code: Required, HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty.', 'RuleValidationException');
    if (title.length > 255) return adoError(400, 'TF401320: Rule Error for field Title. Error code: InvalidTooLong.', 'RuleValidationException');
    const states = statesOf(item.type) ?? [];
    if (!states.some((s) => s.name === fields['System.State'])) {
      return adoError(400, `TF401320: Rule Error for field State. Error code: Required, HasValues, LimitedToValues, AllowsOldValue, InvalidListValue. "${String(fields['System.State'])}" is not a state of ${item.type}.`, 'RuleValidationException');
    }
    const tags = splitTags(fields['System.Tags']);
    if (tags.some((t) => t.length > 400 || t.includes(','))) return adoError(400, 'TF401320: Rule Error for field Tags. A tag is at most 400 characters and holds no comma.', 'RuleValidationException');
    if (fields['System.Tags'] !== undefined) fields['System.Tags'] = tags.join('; ');
    const priority = fields['Microsoft.VSTS.Common.Priority'];
    if (priority !== undefined && !(Number.isInteger(priority) && (priority as number) >= 1 && (priority as number) <= 4)) {
      return adoError(400, 'TF401320: Rule Error for field Priority. Error code: InvalidListValue.', 'RuleValidationException');
    }
    for (const f of ['System.Description']) if (fields[f] !== undefined && typeof fields[f] !== 'string') return adoError(400, `${f} must be a string.`, 'RuleValidationException');
    return { fields, history };
  }

  function commit(item: FakeAdoWorkItem, change: { fields: Record<string, unknown>; history: string | null }): void {
    item.fields = change.fields;
    item.rev += 1;
    item.fields['System.Rev'] = item.rev;
    if (change.history !== null && change.history !== '') item.comments.push({ id: nextCommentId++, text: change.history, createdAt: now() });
  }

  const table = {
    'POST /:project/_apis/wit/workitems/:type': (req: RecordedRequest, params: Record<string, string>) => {
      const v = version(req, '7.1');
      if (v) return v;
      const raw = params.type ?? '';
      const type = raw.startsWith('$') ? Object.keys(types).find((t) => lower(t) === lower(raw.slice(1))) : undefined;
      if (!type) return adoError(404, `TF201077: Work item type ${raw} does not exist in project ${options.project} (the type is written $<type>).`, 'WorkItemTypeNotFoundException');
      const b = body(req, 'application/json-patch+json');
      if (!b.ok) return b.reply;
      const draft: FakeAdoWorkItem = { id: nextId, rev: 0, type, fields: { 'System.WorkItemType': type, 'System.TeamProject': options.project, 'System.State': statesOf(type)![0]!.name }, comments: [], createdAt: now() };
      const change = apply(draft, b.value, true);
      if ('status' in change) return change;
      nextId += 1;
      commit(draft, change);
      draft.fields['System.Id'] = draft.id;
      workItems.push(draft);
      return reply(200, json(draft));
    },

    'PATCH /:project/_apis/wit/workitems/:id': (req: RecordedRequest, params: Record<string, string>) => {
      const v = version(req, '7.1');
      if (v) return v;
      const item = find(params.id ?? '');
      if (!item) return noItem(params.id ?? '');
      const b = body(req, 'application/json-patch+json');
      if (!b.ok) return b.reply;
      const change = apply(item, b.value, false);
      if ('status' in change) return change;
      commit(item, change);
      return reply(200, json(item));
    },

    'GET /:project/_apis/wit/workitems/:id': (req: RecordedRequest, params: Record<string, string>) => {
      const v = version(req, '7.1');
      if (v) return v;
      const item = find(params.id ?? '');
      if (!item) return noItem(params.id ?? '');
      const only = req.query.get('fields')?.split(',');
      return reply(200, json(item, only));
    },

    'GET /:project/_apis/wit/workitems': (req: RecordedRequest) => {
      const v = version(req, '7.1');
      if (v) return v;
      const ids = (req.query.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0 || ids.some((i) => !/^\d+$/.test(i))) return adoError(400, 'The ids parameter must be a comma-separated list of work item ids.', 'ArgumentException');
      if (ids.length > 200) return adoError(400, 'At most 200 work items can be read at once.', 'ArgumentException');
      const only = req.query.get('fields')?.split(',');
      const omit = req.query.get('errorPolicy') === 'omit';
      const value = ids.map((i) => find(i));
      const missing = ids.find((_, n) => value[n] === undefined);
      if (missing !== undefined && !omit) return noItem(missing);
      return reply(200, { count: value.length, value: value.map((w) => (w ? json(w, only) : null)) });
    },

    'POST /:project/_apis/wit/wiql': (req: RecordedRequest) => {
      const v = version(req, '7.1');
      if (v) return v;
      const b = body(req, 'application/json');
      if (!b.ok) return b.reply;
      const query = isObject(b.value) ? b.value.query : undefined;
      const m = typeof query === 'string'
        ? /^SELECT \[System\.Id\] FROM WorkItems WHERE \[System\.TeamProject\] = @project AND \[System\.Tags\] CONTAINS '((?:[^']|'')*)' ORDER BY \[System\.Id\] ASC$/.exec(query)
        : null;
      // the fake reads only the one query the kit may send; anything else is a bug in the kit
      if (!m) return adoError(400, `TF51006: The query statement is not understood by the fake: ${String(query)}`, 'WiqlSyntaxException');
      const needle = lower(m[1]!.replace(/''/g, "'"));
      const top = Number(req.query.get('$top') ?? 20000);
      const t = now();
      const hits = workItems.filter((w) => t - w.createdAt >= (options.wiqlLagMs ?? 0) && lower(String(w.fields['System.Tags'] ?? '')).includes(needle));
      return reply(200, {
        queryType: 'flat',
        queryResultType: 'workItem',
        asOf: new Date(t).toISOString(),
        columns: [{ referenceName: 'System.Id', name: 'ID', url: `${base}/_apis/wit/fields/System.Id` }],
        sortColumns: [{ field: { referenceName: 'System.Id', name: 'ID' }, descending: false }],
        workItems: hits.slice(0, top).map((w) => ({ id: w.id, url: url(w) })),
      });
    },

    'GET /:project/_apis/wit/workItems/:id/comments': (req: RecordedRequest, params: Record<string, string>) => {
      const v = version(req, '7.1-preview.4');
      if (v) return v;
      const item = find(params.id ?? '');
      if (!item) return noItem(params.id ?? '');
      const top = Math.min(Number(req.query.get('$top') ?? 200), 200);
      const ordered = req.query.get('order') === 'desc' ? [...item.comments].reverse() : item.comments;
      const token = req.query.get('continuationToken');
      const start = token ? Number(Buffer.from(token, 'base64').toString('utf8')) : 0;
      const page = ordered.slice(start, start + top);
      const more = start + top < ordered.length;
      return reply(200, {
        totalCount: item.comments.length,
        count: page.length,
        comments: page.map((c) => ({ workItemId: item.id, id: c.id, version: 1, text: c.text, createdDate: new Date(c.createdAt).toISOString(), isDeleted: false, url: `${url(item)}/comments/${c.id}` })),
        ...(more ? { continuationToken: Buffer.from(String(start + top)).toString('base64') } : {}),
      });
    },

    'GET /:project/_apis/wit/workitemtypes/:type/states': (req: RecordedRequest, params: Record<string, string>) => {
      const v = version(req, '7.1');
      if (v) return v;
      const states = statesOf(params.type ?? '');
      if (!states) return adoError(404, `TF201077: Work item type ${params.type ?? ''} does not exist.`, 'WorkItemTypeNotFoundException');
      const colors: Record<FakeAdoCategory, string> = { Proposed: 'b2b2b2', InProgress: '007acc', Resolved: 'ff9d00', Completed: '339933', Removed: 'ffffff' };
      return reply(200, { count: states.length, value: states.map((s) => ({ name: s.name, color: colors[s.category], category: s.category })) });
    },
  };

  const routed = routes(table);
  return {
    handler: (req, params) => guard(req) ?? routed(req, params),
    workItems,
    withTag: (tag) => workItems.filter((w) => splitTags(w.fields['System.Tags']).some((t) => lower(t) === lower(tag))),
    workItem: find,
    categoryOf,
    edit(id, fields) {
      const item = find(id);
      if (!item) throw new Error(`fake ADO: no work item ${id}`);
      const { 'System.History': history, ...rest } = fields;
      commit(item, { fields: { ...item.fields, ...rest }, history: typeof history === 'string' ? history : null });
    },
  };
}
