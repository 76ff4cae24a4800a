/**
 * Jira Cloud REST v3 as a ticket target: the small functions the ticket engine (`../tickets/engine.ts`)
 * calls, on the shared target client. The engine owns the order, the markers and the settle delay; this
 * file only knows Jira's endpoints and shapes. What is written to Jira (create, comment, transition) is the
 * payload builder's request (`./payload.ts`), the same one the outbox writes; the reads stay here.
 *
 *  find        POST /rest/api/3/search/jql by the label `sentinel-<key>` (oldest first), naming the issue
 *              this process created in `reconcileIssues` (read-after-write for that id; search is
 *              otherwise eventually consistent)
 *  create      POST /rest/api/3/issue
 *  hasComment  GET  …/comment?expand=properties, looking for the step's idempotency key in the
 *              `sentinel-playbook-kit` comment property; on a retry also the issue's property of that name,
 *              which the create carries (a lost create's retry finds its own issue and must not comment)
 *  comment     POST …/comment with that property
 *  transition  GET  …/transitions, the one whose name (or target status) is `doneTransition`, POST it with
 *              the comment in `update.comment` (one call, so no separate comment); none available and the
 *              issue's status category is `done` → already there
 *  reopen      (only with `reopenTransition`) the same, to a status whose category is not `done`
 */
import type { JiraReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import { basicAuth, checkEndpointUrl, createTargetClient, type SendResponse, type TargetClient } from '../http/index.js';
import { resolveSecret } from '../secrets.js';
import { sendArguments } from '../request.js';
import { payloadInputFor, type TicketContext, type TicketTarget, type TransitionOutcome } from '../tickets/engine.js';
import type { OutboundRequest, PayloadInput } from '../types.js';
import { buildJiraPayload, JIRA_COMMENT_PROPERTY, jiraIssuePath, jiraLabelFor, jiraTransitionRequest } from './payload.js';

/**
 * A create that failed after it was sent may still have made the issue. Atlassian documents the search
 * index delay only as "seconds to minutes"; two minutes covers the common case and costs little on a
 * rare failure.
 */
export const JIRA_SEARCH_SETTLE_MS = 120_000;

export interface JiraTargetOptions {
  receiverName: string;
  receiver: JiraReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /**
   * Transition (or target status) name that reopens a done issue when the incident is reactivated. Unset:
   * a reactivation reaches a done issue as a comment, as every other late update does.
   */
  reopenTransition?: string;
}

interface SearchResponse {
  issues?: Array<{ id?: unknown; key?: unknown; fields?: { status?: { statusCategory?: { key?: unknown } } } }>;
}
interface TransitionsResponse {
  transitions?: Array<{ id?: unknown; name?: unknown; to?: { name?: unknown; statusCategory?: { key?: unknown } } }>;
}
interface IssueResponse {
  fields?: { status?: { statusCategory?: { key?: unknown } } };
}
interface CommentsResponse {
  comments?: Array<{ properties?: Array<{ key?: unknown; value?: { idempotencyKey?: unknown } }> }>;
}

const PROJECT_KEY = /^[A-Z][A-Z0-9_]{1,9}$/;
const SAFE_LABEL = /^[a-z0-9-]+$/;
const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : undefined);

/** Builds the target for one delivery; secrets are resolved here, so a missing one fails before any request. */
export function openJiraTarget(options: JiraTargetOptions): TicketTarget {
  const { receiverName, receiver } = options;
  const env = options.env ?? process.env;
  const prefix = `receivers.${receiverName}`;
  if (receiver.baseUrl === undefined) {
    throw new KitError(`${prefix}.baseUrl is not set: this receiver delivers to the outbox, not to Jira`, {
      kind: 'config',
      where: { field: `${prefix}.baseUrl` },
    });
  }
  const baseUrl = checkEndpointUrl(receiver.baseUrl, `${prefix}.baseUrl`).href.replace(/\/+$/, '');
  const email = resolveSecret(receiver.email, env, `${prefix}.email`);
  const apiToken = resolveSecret(receiver.apiToken, env, `${prefix}.apiToken`);
  if (email === undefined || apiToken === undefined) {
    throw new KitError(`${prefix} needs both email and apiToken secret references for Basic auth`, {
      kind: 'config',
      where: { field: email === undefined ? `${prefix}.email` : `${prefix}.apiToken` },
    });
  }
  const client: TargetClient = createTargetClient({
    target: 'jira',
    baseUrl,
    field: `${prefix}.baseUrl`,
    auth: basicAuth(email, apiToken),
    timeoutMs: options.fetchTimeoutMs,
  });

  const call = (ctx: TicketContext, method: string, path: string, json?: unknown): Promise<SendResponse> =>
    client.send({ method, path, headers: { accept: 'application/json' }, json, signal: ctx.request.signal });
  /** a request the payload builder made, sent as it is (the client serialises its JSON) */
  const write = (ctx: TicketContext, request: OutboundRequest): Promise<SendResponse> => client.send(sendArguments(request, { signal: ctx.request.signal }));
  const ref = (ctx: TicketContext, id: string, key: string, state: TicketRef['state']): TicketRef => ({
    receiver: receiverName,
    incidentKey: ctx.request.step.incidentKey,
    id,
    key,
    url: `${baseUrl}/browse/${encodeURIComponent(key)}`,
    state,
  });
  // the builder marks a comment with the step's idempotency key: the engine's marker (ctx.marker) is made from it
  const input = (ctx: TicketContext, ticket: TicketRef | null, operation: PayloadInput['operation']): PayloadInput<JiraReceiver> =>
    payloadInputFor(ctx, receiverName, receiver, ticket, operation);

  /**
   * Finds the transition named `name` (or leading to a status of that name) and posts it with the
   * comment. None available: if the issue is already on the wanted side (`done` or not), nothing to move.
   */
  async function move(ticket: TicketRef, ctx: TicketContext, name: string, field: string, wantDone: boolean): Promise<TransitionOutcome> {
    const res = await call(ctx, 'GET', `${jiraIssuePath(ticket)}/transitions`);
    const transitions = res.json<TransitionsResponse>().transitions ?? [];
    const want = name.trim().toLowerCase();
    const match = transitions.find((t) => lower(t.name) === want) ?? transitions.find((t) => lower(t.to?.name) === want);
    if (match && typeof match.id === 'string') {
      await write(ctx, jiraTransitionRequest(input(ctx, ticket, wantDone ? 'resolve' : 'update'), match.id));
      return 'moved-with-comment';
    }
    const issue = await call(ctx, 'GET', `${jiraIssuePath(ticket)}?fields=status`);
    const done = issue.json<IssueResponse>().fields?.status?.statusCategory?.key === 'done';
    if (done === wantDone) return 'already-there';
    const names = transitions.map((t) => `"${String(t.name)}"${t.to?.name ? ` (to ${String(t.to.name)})` : ''}`).join(', ');
    throw new KitError(
      `jira: issue ${ticket.key ?? ticket.id} has no transition named "${name}" (${field}); available: ${names || 'none'}`,
      { kind: 'terminal', where: { field } },
    );
  }

  const reopenTransition = options.reopenTransition ?? options.receiver.reopenTransition;
  return {
    name: 'jira',
    noun: 'issue',
    label: 'Jira',
    settleMs: JIRA_SEARCH_SETTLE_MS,

    async find(ctx) {
      const label = jiraLabelFor(ctx.request.step.incidentKey);
      // both are ours and validated, but the guarantee "no attacker text in JQL" is checked here, where JQL is built
      if (!PROJECT_KEY.test(receiver.project) || !SAFE_LABEL.test(label)) {
        throw new KitError(`jira: refusing to build JQL from project "${receiver.project}"`, { kind: 'config' });
      }
      const known = ctx.createdHere?.id;
      const res = await call(ctx, 'POST', '/rest/api/3/search/jql', {
        jql: `project = "${receiver.project}" AND labels = "${label}" ORDER BY created ASC`,
        fields: ['summary', 'status'],
        maxResults: 1,
        ...(known === undefined ? {} : { reconcileIssues: [Number(known)] }),
      });
      const hit = res.json<SearchResponse>().issues?.[0];
      if (!hit) return null;
      if (typeof hit.id !== 'string' || typeof hit.key !== 'string') {
        throw new KitError('jira: search/jql returned an issue without id and key', { kind: 'terminal', statusCode: res.status });
      }
      // `labels = "…"` is an exact match, so the label is this incident's; the key must be the project's
      if (!hit.key.startsWith(`${receiver.project}-`)) {
        throw new KitError(`jira: search/jql returned ${hit.key}, which is not in project ${receiver.project}`, { kind: 'terminal', statusCode: res.status });
      }
      const done = hit.fields?.status?.statusCategory?.key === 'done';
      return ref(ctx, hit.id, hit.key, done ? 'resolved' : 'open');
    },

    async create(ctx) {
      const res = await write(ctx, buildJiraPayload(input(ctx, null, 'create')));
      const created = res.json<{ id?: unknown; key?: unknown }>();
      if (typeof created.id !== 'string' || typeof created.key !== 'string') {
        throw new KitError('jira: issue create answered without id and key', { kind: 'terminal', statusCode: res.status });
      }
      return ref(ctx, created.id, created.key, 'open');
    },

    async hasComment(ticket, ctx) {
      const res = await call(ctx, 'GET', `${jiraIssuePath(ticket)}/comment?orderBy=-created&maxResults=50&expand=properties`);
      const comments = res.json<CommentsResponse>().comments ?? [];
      const key = ctx.marker.idempotencyKey;
      if (comments.some((c) => (c.properties ?? []).some((p) => p.key === JIRA_COMMENT_PROPERTY && p.value?.idempotencyKey === key))) return true;
      // a retry may have found the issue its own lost create made: the create carries the key as an issue property
      if ((ctx.request.attempt ?? 1) <= 1) return false;
      const issue = await call(ctx, 'GET', `${jiraIssuePath(ticket)}?fields=labels&properties=${JIRA_COMMENT_PROPERTY}`);
      const property = issue.json<{ properties?: Record<string, { idempotencyKey?: unknown } | undefined> }>().properties?.[JIRA_COMMENT_PROPERTY];
      return property?.idempotencyKey === key;
    },

    async comment(ticket, ctx) {
      await write(ctx, buildJiraPayload(input(ctx, ticket, 'update')));
    },

    transition: (ticket, ctx) => move(ticket, ctx, receiver.doneTransition, `${prefix}.doneTransition`, true),

    ...(reopenTransition === undefined
      ? {}
      : { reopen: (ticket: TicketRef, ctx: TicketContext) => move(ticket, ctx, reopenTransition, `${prefix}.reopenTransition`, false) }),
  };
}
