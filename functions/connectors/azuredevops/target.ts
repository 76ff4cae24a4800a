/**
 * Azure DevOps Work Items (REST 7.1) as a ticket target: the small functions the ticket engine
 * (`../tickets/engine.ts`) calls, on the shared target client. What is written (create, comment, state
 * change) is the payload builder's JSON Patch (`./payload.ts`); the reads stay here.
 *
 *  find        POST {project}/_apis/wit/wiql: `[System.Tags] CONTAINS 'sentinel-<key>'`, then
 *              GET  {project}/_apis/wit/workitems?ids=… (plus the work item this process created, by id);
 *              CONTAINS is not an exact tag match, so System.Tags (a "; "-separated list) must hold the
 *              tag itself. The oldest such work item wins.
 *  create      POST {project}/_apis/wit/workitems/$<type> (JSON Patch, the tag in System.Tags, and a
 *              System.History line ending with the step's marker: its first comment, so a retry after a
 *              lost answer finds the work item by its tag and the step's marker on it)
 *  hasComment  GET  …/workItems/{id}/comments (newest first): a comment whose text ends with the marker
 *  comment     GET the work item's rev, PATCH [test /rev, add System.History (comment + marker)]
 *  transition  GET  {project}/_apis/wit/workitemtypes/{type}/states for the done state by name; PATCH
 *              [test /rev, System.State, System.History] (one call: `moved-with-comment`); a work item
 *              already in a Completed or Removed state is already there
 *  reopen      the same, to `reopenState` or the type's first InProgress (else Proposed) state
 *
 * A 412 or 409 on a PATCH means the work item changed between our read and our write (`test /rev`
 * failed): nothing of the patch was applied, so the step is re-queued as a `conflict` and its retry reads
 * the comments and the revision again. A change is never dropped, and never applied twice.
 */
import type { AzuredevopsReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import {
  basicAuth,
  checkEndpointUrl,
  createTargetClient,
  successThatFailed,
  type HttpPolicy,
  type ResponseCheck,
  type SendResponse,
  type TargetClient,
} from '../http/index.js';
import { resolveSecret } from '../secrets.js';
import { sendArguments } from '../request.js';
import { payloadInputFor, type TicketContext, type TicketTarget, type TransitionOutcome } from '../tickets/engine.js';
import type { OutboundRequest, PayloadInput } from '../types.js';
import { ADO_API_VERSION, adoGuardedPatch, adoIncidentTag, adoLiveCreate } from './payload.js';

/**
 * A create that failed after it was sent may still have made the work item. WIQL reads the work item
 * store, and in practice sees a new work item at once, but Microsoft documents no read-after-write
 * guarantee: half a minute costs little on a rare failure.
 */
export const ADO_WIQL_SETTLE_MS = 30_000;
/** the Comments API is still a preview in 7.1 */
export const ADO_COMMENTS_API_VERSION = '7.1-preview.4';
/** comments per page (the API's maximum) and pages read, newest first, before a marker counts as absent */
const COMMENTS_PAGE = 200;
const COMMENT_PAGES = 5;
/** work items one WIQL answer may name; GET workitems?ids= takes up to 200 */
const WIQL_TOP = 200;
/** state categories of a work item that is finished (https://learn.microsoft.com/azure/devops/boards/work-items/workflow-and-state-categories) */
const DONE_CATEGORIES = new Set(['completed', 'removed']);

export interface AzuredevopsTargetOptions {
  receiverName: string;
  receiver: AzuredevopsReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /** the managed-identity policy, kept by the connector so its token outlives one delivery; used when the receiver has no `pat` */
  entraAuth: () => HttpPolicy;
}

interface WorkItem {
  id?: unknown;
  rev?: unknown;
  fields?: Record<string, unknown>;
}
interface WorkItemState {
  name?: unknown;
  category?: unknown;
}
interface CommentList {
  comments?: Array<{ text?: unknown; isDeleted?: unknown }>;
  continuationToken?: unknown;
}

const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : '');

/** ADO wraps collections as {count, value}; the published swagger shows a bare array. Either is read. */
function collection<T>(res: SendResponse, what: string): T[] {
  const body = res.json<unknown>();
  const list = Array.isArray(body) ? body : (body as { value?: unknown } | null)?.value;
  if (!Array.isArray(list)) throw new KitError(`azuredevops: ${what} answered without a list`, { kind: 'terminal', statusCode: res.status });
  return list as T[];
}

/** System.Tags is "tag1; tag2"; Azure DevOps treats tags case-insensitively */
export function adoHasTag(tags: unknown, tag: string): boolean {
  return typeof tags === 'string' && tags.split(';').some((t) => lower(t) === lower(tag));
}

/** Whether a comment, read as text (tags dropped, the marker's own characters decoded), ends with the marker. */
function commentEndsWith(html: string, marker: string): boolean {
  const text = html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#91;|&lsqb;/gi, '[')
    .replace(/&#93;|&rsqb;/gi, ']')
    .replace(/&nbsp;|\s+/gi, ' ')
    .trim();
  return text.endsWith(marker);
}

/**
 * Azure DevOps answers a request it could not authenticate (an expired or wrong PAT, a token it does not
 * accept) on some GETs and POSTs with 203 and its HTML sign-in page instead of a 401
 * (MicrosoftDocs/vsts-rest-api-specs #97, azure-devops-auth-samples #52). Taken as success, that page
 * would read as "no work item found" and make a duplicate.
 */
export const azuredevopsCheck: ResponseCheck = (res, ctx) => {
  const type = res.headers.get('content-type') ?? '';
  if (res.status === 203 || /text\/html/i.test(type)) {
    throw successThatFailed(res, ctx, 'auth', 'Azure DevOps answered with a sign-in page: the credential was not accepted; check the receiver\'s PAT or the identity\'s access to the organization');
  }
};

/** Builds the target for one delivery; secrets are resolved here, so a missing one fails before any request. */
export function openAzuredevopsTarget(options: AzuredevopsTargetOptions): TicketTarget {
  const { receiverName, receiver } = options;
  const env = options.env ?? process.env;
  const prefix = `receivers.${receiverName}`;
  if (receiver.organizationUrl === undefined) {
    throw new KitError(`${prefix}.organizationUrl is not set: this receiver delivers to the outbox, not to Azure DevOps`, {
      kind: 'config',
      where: { field: `${prefix}.organizationUrl` },
    });
  }
  const orgUrl = checkEndpointUrl(receiver.organizationUrl, `${prefix}.organizationUrl`).href.replace(/\/+$/, '');
  const pat = resolveSecret(receiver.pat, env, `${prefix}.pat`);
  const client: TargetClient = createTargetClient({
    target: 'azuredevops',
    baseUrl: orgUrl,
    field: `${prefix}.organizationUrl`,
    // a PAT is Basic auth with an empty user name; without one, the Function App's identity
    auth: pat === undefined ? options.entraAuth() : basicAuth('', pat),
    check: azuredevopsCheck,
    timeoutMs: options.fetchTimeoutMs,
  });

  const project = `/${encodeURIComponent(receiver.project)}`;
  const api = (path: string, query = '', version = ADO_API_VERSION) => `${project}/_apis/wit/${path}?${query}${query ? '&' : ''}api-version=${version}`;
  const call = (ctx: TicketContext, method: string, path: string, json?: unknown): Promise<SendResponse> =>
    client.send({ method, path, headers: { accept: 'application/json' }, json, signal: ctx.request.signal });
  const write = (ctx: TicketContext, request: OutboundRequest): Promise<SendResponse> => client.send(sendArguments(request, { signal: ctx.request.signal }));
  const input = (ctx: TicketContext, ticket: TicketRef | null, operation: PayloadInput['operation']): PayloadInput<AzuredevopsReceiver> =>
    payloadInputFor(ctx, receiverName, receiver, ticket, operation);
  const ref = (ctx: TicketContext, id: number, state: TicketRef['state']): TicketRef => ({
    receiver: receiverName,
    incidentKey: ctx.request.step.incidentKey,
    id: String(id),
    key: null,
    url: `${orgUrl}${project}/_workitems/edit/${id}`,
    state,
  });

  // one delivery reads a type's states at most once (find, then transition or reopen)
  const states = new Map<string, Promise<WorkItemState[]>>();
  function statesOf(ctx: TicketContext, type: string): Promise<WorkItemState[]> {
    const key = lower(type);
    let list = states.get(key);
    if (!list) {
      list = call(ctx, 'GET', api(`workitemtypes/${encodeURIComponent(type)}/states`)).then((res) => collection<WorkItemState>(res, `the states of ${type}`));
      list.catch(() => states.delete(key));
      states.set(key, list);
    }
    return list;
  }
  const categoryOf = (list: WorkItemState[], state: unknown) => lower(list.find((s) => lower(s.name) === lower(state))?.category);
  const isDone = (list: WorkItemState[], state: unknown) => DONE_CATEGORIES.has(categoryOf(list, state)) || lower(state) === lower(receiver.doneState);
  const typeOf = (item: WorkItem) => (typeof item.fields?.['System.WorkItemType'] === 'string' ? (item.fields['System.WorkItemType'] as string) : receiver.workItemType);

  async function read(ticket: TicketRef, ctx: TicketContext): Promise<{ rev: number; state: unknown; type: string }> {
    const res = await call(ctx, 'GET', api(`workitems/${encodeURIComponent(ticket.id)}`, 'fields=System.State,System.WorkItemType'));
    const item = res.json<WorkItem>();
    if (typeof item.rev !== 'number') throw new KitError(`azuredevops: work item ${ticket.id} answered without a rev`, { kind: 'terminal', statusCode: res.status });
    return { rev: item.rev, state: item.fields?.['System.State'], type: typeOf(item) };
  }

  /** a PATCH behind `test /rev`: a work item that moved on since it was read is a conflict, re-read on the retry */
  async function guarded(ctx: TicketContext, request: OutboundRequest, ticket: TicketRef): Promise<void> {
    try {
      await write(ctx, request);
    } catch (err) {
      if (err instanceof KitError && (err.statusCode === 412 || err.statusCode === 409)) {
        throw new KitError(`azuredevops: work item ${ticket.id} changed since it was read (HTTP ${err.statusCode}); nothing was applied, the retry reads it again`, {
          kind: 'conflict',
          statusCode: err.statusCode,
          cause: err,
        });
      }
      throw err;
    }
  }

  function stateNamed(list: WorkItemState[], name: string, type: string, field: string): string {
    const found = list.find((s) => lower(s.name) === lower(name));
    if (typeof found?.name === 'string') return found.name;
    const names = list.map((s) => `"${String(s.name)}" (${String(s.category)})`).join(', ');
    throw new KitError(`azuredevops: work item type ${type} has no state named "${name}" (${field}); its states: ${names || 'none'}`, {
      kind: 'terminal',
      where: { field },
    });
  }

  function reopenStateOf(list: WorkItemState[], type: string): string {
    if (receiver.reopenState !== undefined) return stateNamed(list, receiver.reopenState, type, `${prefix}.reopenState`);
    const open = list.find((s) => lower(s.category) === 'inprogress') ?? list.find((s) => lower(s.category) === 'proposed');
    if (typeof open?.name === 'string') return open.name;
    throw new KitError(`azuredevops: work item type ${type} has no InProgress or Proposed state to reopen to; set ${prefix}.reopenState`, {
      kind: 'terminal',
      where: { field: `${prefix}.reopenState` },
    });
  }

  /** moves the work item to a state (with the comment, in one guarded PATCH) unless it is on the wanted side already */
  async function move(ticket: TicketRef, ctx: TicketContext, wantDone: boolean): Promise<TransitionOutcome> {
    const item = await read(ticket, ctx);
    const list = await statesOf(ctx, item.type);
    if (isDone(list, item.state) === wantDone) return 'already-there';
    const state = wantDone ? stateNamed(list, receiver.doneState, item.type, `${prefix}.doneState`) : reopenStateOf(list, item.type);
    const request = adoGuardedPatch(input(ctx, ticket, wantDone ? 'resolve' : 'update'), { rev: item.rev, marker: ctx.marker.token, state });
    await guarded(ctx, request, ticket);
    return 'moved-with-comment';
  }

  return {
    name: 'azuredevops',
    noun: 'work item',
    label: 'Azure DevOps',
    settleMs: ADO_WIQL_SETTLE_MS,

    async find(ctx) {
      const tag = adoIncidentTag(ctx.request.step.incidentKey);
      // the tag is the only value in the query, and a WIQL string literal escapes ' by doubling it
      const query = `SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Tags] CONTAINS '${tag.replace(/'/g, "''")}' ORDER BY [System.Id] ASC`;
      const res = await call(ctx, 'POST', api('wiql', `$top=${WIQL_TOP}`), { query });
      const listed = res.json<{ workItems?: Array<{ id?: unknown }> }>().workItems ?? [];
      // the work item this process created is read by id too: a hint that costs nothing if WIQL lags
      const known = Number(ctx.createdHere?.id);
      const ids = [...new Set([...(Number.isInteger(known) && known > 0 ? [known] : []), ...listed.map((w) => w.id)])]
        .filter((id): id is number => typeof id === 'number' && Number.isInteger(id) && id > 0)
        .slice(0, WIQL_TOP);
      if (ids.length === 0) return null;
      // WIQL's `@project` already keeps other projects out (comparing System.TeamProject here would
      // miss every hit of a receiver that names its project by id); the tag is what must be exact
      const fields = 'System.Id,System.State,System.Tags,System.WorkItemType';
      const items = await call(ctx, 'GET', api('workitems', `ids=${ids.join(',')}&fields=${fields}&errorPolicy=omit`));
      const mine = collection<WorkItem | null>(items, 'GET workitems')
        .filter((w): w is WorkItem & { id: number } => typeof w?.id === 'number' && adoHasTag(w.fields?.['System.Tags'], tag))
        .sort((a, b) => a.id - b.id);
      const hit = mine[0];
      if (!hit) {
        if (listed.length >= WIQL_TOP) {
          throw new KitError(`azuredevops: WIQL named ${listed.length} work items containing "${tag}" and none carries it exactly; cannot tell whether one exists`, { kind: 'terminal' });
        }
        return null;
      }
      const done = isDone(await statesOf(ctx, typeOf(hit)), hit.fields?.['System.State']);
      return ref(ctx, hit.id, done ? 'resolved' : 'open');
    },

    async create(ctx) {
      const res = await write(ctx, adoLiveCreate(input(ctx, null, 'create'), ctx.marker.token));
      const created = res.json<WorkItem>();
      if (typeof created.id !== 'number') {
        throw new KitError('azuredevops: work item create answered without an id', { kind: 'terminal', statusCode: res.status });
      }
      return ref(ctx, created.id, 'open');
    },

    async hasComment(ticket, ctx) {
      let token: string | undefined;
      for (let page = 0; page < COMMENT_PAGES; page++) {
        const query = `$top=${COMMENTS_PAGE}&order=desc${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`;
        const res = await call(ctx, 'GET', api(`workItems/${encodeURIComponent(ticket.id)}/comments`, query, ADO_COMMENTS_API_VERSION));
        const list = res.json<CommentList>();
        if ((list.comments ?? []).some((c) => c.isDeleted !== true && typeof c.text === 'string' && commentEndsWith(c.text, ctx.marker.token))) return true;
        token = typeof list.continuationToken === 'string' && list.continuationToken !== '' ? list.continuationToken : undefined;
        if (!token) return false;
      }
      return false;
    },

    async comment(ticket, ctx) {
      const item = await read(ticket, ctx);
      await guarded(ctx, adoGuardedPatch(input(ctx, ticket, 'update'), { rev: item.rev, marker: ctx.marker.token }), ticket);
    },

    transition: (ticket, ctx) => move(ticket, ctx, true),
    reopen: (ticket, ctx) => move(ticket, ctx, false),
  };
}
