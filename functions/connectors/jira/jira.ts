/**
 * Jira Cloud REST v3: one issue per incident, found again by the label `sentinel-<key>`.
 *
 * Why a duplicate should not appear, and the windows where it still could:
 *  - The kit's own ticket store (ledger first, invariant 3) is the primary record. When it knows
 *    the issue, Jira is not searched at all.
 *  - Otherwise the connector searches by label before it creates. Jira's search/jql is eventually
 *    consistent: an issue created seconds ago may be missing from the index (seconds to minutes).
 *    Search therefore cannot protect a create-retry on its own; the ticket store does.
 *  - The remaining window is between Jira's 201 and the ticket-store write: a crash or lost
 *    response there, followed by a retry inside the index delay, creates a second issue. Two things
 *    shrink it: `onTicketCreated` lets the pipeline persist the ticket the moment Jira returns 201
 *    (before the resolve call of a create+resolve step, whose failure would otherwise lose it), and
 *    the connector remembers the ids it created in this process and names them in `reconcileIssues`,
 *    which makes search read-after-write for those ids. A create whose response was lost (5xx,
 *    timeout, reset after sending) is re-queued no sooner than JIRA_SEARCH_SETTLE_MS, so its retry
 *    searches an index that has caught up. What is left: a process crash between Jira's 201 and the
 *    ticket-store write, retried by another instance before the index shows the issue, or an index
 *    slower than JIRA_SEARCH_SETTLE_MS after a lost response.
 *
 * Every call is one attempt; failures are classified KitErrors and the pipeline re-queues.
 * No in-call retries, also not for the read-only search and transitions lookups.
 */
import type { ReceiverOf } from '../../core/config-schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import { basicAuth, checkEndpointUrl, createTargetClient, type SendResponse, type TargetClient } from '../http/index.js';
import { resolveSecret } from '../secrets.js';
import { operationsFor, type Connector, type DeliveryRequest, type DeliveryResult } from '../types.js';
import { JIRA_COMMENT_PROPERTY, jiraCommentBody, jiraCreateBody, jiraLabelFor, jiraTransitionBody } from './payload.js';

export interface JiraConnectorOptions {
  receiverName: string;
  receiver: ReceiverOf<'jira'>;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /**
   * Called right after Jira answers 201 to a create, before any other call of the same delivery.
   * Wire the ticket store here; an error thrown here fails the delivery (it will be retried).
   */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

/** How many created issue ids this process remembers for `reconcileIssues` (Jira accepts at most 50 per search; we send one). */
const REMEMBERED_CREATES = 1000;

interface SearchResponse {
  issues?: Array<{ id?: unknown; key?: unknown; fields?: { status?: { statusCategory?: { key?: unknown } } } }>;
}
interface TransitionsResponse {
  transitions?: Array<{ id?: unknown; name?: unknown; to?: { name?: unknown } }>;
}
interface IssueResponse {
  fields?: { status?: { statusCategory?: { key?: unknown } } };
}

/**
 * A create that failed after it was sent (5xx, timeout, reset) may still have made the issue, and we
 * never learnt its id. Its retry must not come back before Jira's search index has caught up, or the
 * search-before-create is blind and a second issue appears. Atlassian documents the delay only as
 * "seconds to minutes"; two minutes covers the common case and costs little on a rare failure.
 */
export const JIRA_SEARCH_SETTLE_MS = 120_000;

function settleBeforeRetry(err: unknown): unknown {
  if (!(err instanceof KitError) || err.kind !== 'retryable') return err;
  return new KitError(`${err.message} (the issue may exist already; retry after Jira's search index settles)`, {
    kind: err.kind,
    statusCode: err.statusCode,
    cause: err.cause,
    retryAfterMs: Math.max(err.retryAfterMs ?? 0, JIRA_SEARCH_SETTLE_MS),
  });
}

const PROJECT_KEY = /^[A-Z][A-Z0-9_]{1,9}$/;
const SAFE_LABEL = /^[a-z0-9-]+$/;

export function createJiraConnector(options: JiraConnectorOptions): Connector {
  const { receiverName, receiver } = options;
  const createdHere = new Map<string, string>();

  function connection() {
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
    return { baseUrl, client };
  }

  return {
    async deliver(request: DeliveryRequest): Promise<DeliveryResult> {
      const { step } = request;
      if (step.stepType !== 'ticket') {
        throw new KitError(`jira: receiver ${receiverName} only takes ticket steps, got a ${step.stepType} step`, { kind: 'validation' });
      }
      const conn = connection();
      const call = (method: string, path: string, json?: unknown): Promise<SendResponse> =>
        conn.client.send({ method, path, headers: { accept: 'application/json' }, json, signal: request.signal });
      const issuePath = (t: TicketRef) => `/rest/api/3/issue/${encodeURIComponent(t.key ?? t.id)}`;
      const ref = (id: string, key: string, state: TicketRef['state']): TicketRef => ({
        receiver: receiverName,
        incidentKey: step.incidentKey,
        id,
        key,
        url: `${conn.baseUrl}/browse/${encodeURIComponent(key)}`,
        state,
      });

      async function findByLabel(): Promise<TicketRef | null> {
        const label = jiraLabelFor(step.incidentKey);
        // both are ours and validated, but the guarantee "no attacker text in JQL" is checked here, where JQL is built
        if (!PROJECT_KEY.test(receiver.project) || !SAFE_LABEL.test(label)) {
          throw new KitError(`jira: refusing to build JQL from project "${receiver.project}"`, { kind: 'config' });
        }
        const known = createdHere.get(step.incidentKey);
        const res = await call('POST', '/rest/api/3/search/jql', {
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
        const done = hit.fields?.status?.statusCategory?.key === 'done';
        return ref(hit.id, hit.key, done ? 'resolved' : 'open');
      }

      async function create(): Promise<TicketRef> {
        let res: SendResponse;
        try {
          res = await call('POST', '/rest/api/3/issue', jiraCreateBody({ ...payloadInput(request), operation: 'create', ticket: null }));
        } catch (err) {
          throw settleBeforeRetry(err);
        }
        const created = res.json<{ id?: unknown; key?: unknown }>();
        if (typeof created.id !== 'string' || typeof created.key !== 'string') {
          throw new KitError('jira: issue create answered without id and key', { kind: 'terminal', statusCode: res.status });
        }
        if (createdHere.size >= REMEMBERED_CREATES) createdHere.delete(createdHere.keys().next().value as string);
        createdHere.set(step.incidentKey, created.id);
        const ticket = ref(created.id, created.key, 'open');
        // Jira has the issue now: failing this delivery over our own bookkeeping would create it again.
        // The pipeline stores the returned ticket again (with retries) once the delivery completes.
        await options.onTicketCreated?.(ticket).catch(() => undefined);
        return ticket;
      }

      /**
       * Any try may be a retry in disguise (the host redelivers after a crash with the same attempt number),
       * so look for this step's comment before adding it: one GET buys "never a second comment".
       */
      async function alreadyCommented(ticket: TicketRef): Promise<boolean> {
        const res = await call('GET', `${issuePath(ticket)}/comment?orderBy=-created&maxResults=50&expand=properties`);
        const comments = res.json<{ comments?: Array<{ properties?: Array<{ key?: unknown; value?: { idempotencyKey?: unknown } }> }> }>().comments ?? [];
        return comments.some((c) => (c.properties ?? []).some((p) => p.key === JIRA_COMMENT_PROPERTY && p.value?.idempotencyKey === step.idempotencyKey));
      }

      async function comment(ticket: TicketRef): Promise<void> {
        if (await alreadyCommented(ticket)) return;
        await call('POST', `${issuePath(ticket)}/comment`, jiraCommentBody(request.rendered.parts, [], step.idempotencyKey));
      }

      async function resolve(ticket: TicketRef): Promise<TicketRef> {
        const res = await call('GET', `${issuePath(ticket)}/transitions`);
        const transitions = res.json<TransitionsResponse>().transitions ?? [];
        const want = receiver.doneTransition.trim().toLowerCase();
        const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : undefined);
        const match =
          transitions.find((t) => lower(t.name) === want) ?? transitions.find((t) => lower(t.to?.name) === want);
        if (!match || typeof match.id !== 'string') {
          // already done (closed twice, or a retry after a transition whose ledger write was lost): no transition
          // to make, but the changes still belong on the ticket, as a comment (idempotent through its property)
          const issue = await call('GET', `${issuePath(ticket)}?fields=status`);
          if (issue.json<IssueResponse>().fields?.status?.statusCategory?.key === 'done') {
            await comment(ticket);
            return { ...ticket, state: 'resolved' };
          }
          const names = transitions.map((t) => `"${String(t.name)}"${t.to?.name ? ` (to ${String(t.to.name)})` : ''}`).join(', ');
          throw new KitError(
            `jira: issue ${ticket.key ?? ticket.id} has no transition named "${receiver.doneTransition}" (receivers.${receiverName}.doneTransition); available: ${names || 'none'}`,
            { kind: 'terminal', where: { field: `receivers.${receiverName}.doneTransition` } },
          );
        }
        await call('POST', `${issuePath(ticket)}/transitions`, jiraTransitionBody(request.rendered.parts, match.id, [], step.idempotencyKey));
        return { ...ticket, state: 'resolved' };
      }

      let ticket = request.existingTicket;
      if (!ticket) ticket = await findByLabel();
      let action: DeliveryResult['action'] = 'updated';
      for (const op of operationsFor(step, ticket)) {
        if (op === 'create') {
          ticket = await create();
          action = 'created';
        } else if (op === 'update' && ticket) {
          await comment(ticket);
          action = 'updated';
        } else if (op === 'resolve' && ticket) {
          ticket = await resolve(ticket);
          action = 'resolved';
        } else {
          throw new KitError(`jira: cannot ${op} without a ticket`, { kind: 'validation' });
        }
      }
      return { action, ticket, outbox: null };
    },
  };

  function payloadInput(request: DeliveryRequest) {
    return { step: request.step, receiverName, receiver, rendered: request.rendered };
  }
}
