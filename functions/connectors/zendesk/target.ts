/**
 * Zendesk Support (Tickets API v2) as a ticket target: the small functions the ticket engine
 * (`../tickets/engine.ts`) calls, on the shared target client. What is written (create, comment, solve) is
 * the payload builder's request (`./payload.ts`, the same one the outbox writes) with the engine's marker
 * token appended to the private comment; the reads stay here.
 *
 *  find        GET  /api/v2/tickets.json?external_id=<key>: a database list, read-after-write, so no
 *              settle delay. external_id is not unique and the match may ignore case, so every hit's
 *              external_id must equal the key exactly; of those the oldest one that is not closed wins,
 *              else the newest closed one (see "closed" below)
 *  create      POST /api/v2/tickets.json with `Idempotency-Key` = the step's key: a repeat within Zendesk's
 *              window (2 h) gets the original answer back instead of a second ticket
 *  hasComment  GET  /api/v2/tickets/{id}/comments.json?sort_order=desc, looking for the marker token
 *  comment     PUT  /api/v2/tickets/{id}.json {ticket:{comment:{html_body, public:false}}}
 *  transition  GET the ticket; solved or closed → already there; else PUT {status:"solved", comment}
 *  reopen      GET the ticket; solved → PUT {status:"open", comment}; not resolved → already there
 *
 * Closed tickets. Zendesk closes a solved ticket by itself after a few days and a closed ticket is
 * read-only (a PUT answers 422). Whatever the kit must still write about the incident goes to its
 * follow-up: the oldest ticket with the same external_id that is not closed, created when there is none
 * with `via_followup_source_id` = the closed ticket (Zendesk links the two), the same external_id, the
 * changes and then the description, and the step's Idempotency-Key. It is created open, unless the incident
 * is closed (a late change), when it is created solved: it records the change without opening work.
 * The kit's ticket store keeps pointing at the closed ticket, and every later call follows it again.
 */
import type { ZendeskReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { basicAuth, checkEndpointUrl, createTargetClient, type SendResponse, type TargetClient } from '../http/index.js';
import { resolveSecret } from '../secrets.js';
import { sendArguments } from '../request.js';
import { payloadInputFor, type TicketContext, type TicketTarget, type TransitionOutcome } from '../tickets/engine.js';
import type { OutboundRequest, PayloadInput } from '../types.js';
import { buildZendeskPayload } from './payload.js';

/** The external_id list is a database query: a ticket is listed the moment its create answers. */
export const ZENDESK_SETTLE_MS = 0;
/** Zendesk's own limit on an Idempotency-Key; the kit's step keys (64 hex) are far below it. */
const MAX_IDEMPOTENCY_KEY = 255;

export interface ZendeskTargetOptions {
  receiverName: string;
  receiver: ZendeskReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
}

type Status = 'new' | 'open' | 'pending' | 'hold' | 'solved' | 'closed';
const STATUSES = new Set<string>(['new', 'open', 'pending', 'hold', 'solved', 'closed']);
interface Ticket {
  id: string;
  status: Status;
  externalId: string | null;
  createdAt: string;
}

function ticketOf(raw: unknown, what: string, status: number): Ticket {
  const t = isJsonObject(raw) ? raw : {};
  const id = typeof t.id === 'number' && Number.isSafeInteger(t.id) ? String(t.id) : null;
  const s = typeof t.status === 'string' ? t.status.toLowerCase() : '';
  if (id === null || !STATUSES.has(s)) throw new KitError(`zendesk: ${what} answered without a ticket id and status`, { kind: 'terminal', statusCode: status });
  return { id, status: s as Status, externalId: typeof t.external_id === 'string' ? t.external_id : null, createdAt: typeof t.created_at === 'string' ? t.created_at : '' };
}

const resolvedStatus = (s: Status) => s === 'solved' || s === 'closed';
const byAge = (a: Ticket, b: Ticket) => (a.createdAt === b.createdAt ? Number(a.id) - Number(b.id) : a.createdAt < b.createdAt ? -1 : 1);

/** Builds the target for one delivery; secrets are resolved here, so a missing one fails before any request. */
export function openZendeskTarget(options: ZendeskTargetOptions): TicketTarget {
  const { receiverName, receiver } = options;
  const env = options.env ?? process.env;
  const prefix = `receivers.${receiverName}`;
  if (receiver.baseUrl === undefined) {
    throw new KitError(`${prefix}.baseUrl is not set: this receiver delivers to the outbox, not to Zendesk`, { kind: 'config', where: { field: `${prefix}.baseUrl` } });
  }
  const baseUrl = checkEndpointUrl(receiver.baseUrl, `${prefix}.baseUrl`).href.replace(/\/+$/, '');
  const email = resolveSecret(receiver.email, env, `${prefix}.email`);
  const apiToken = resolveSecret(receiver.apiToken, env, `${prefix}.apiToken`);
  if (email === undefined || apiToken === undefined) {
    throw new KitError(`${prefix} needs both email and apiToken secret references for Zendesk's {email}/token:{apiToken} Basic auth`, {
      kind: 'config',
      where: { field: email === undefined ? `${prefix}.email` : `${prefix}.apiToken` },
    });
  }
  const client: TargetClient = createTargetClient({
    target: 'zendesk',
    baseUrl,
    field: `${prefix}.baseUrl`,
    auth: basicAuth(`${email}/token`, apiToken),
    timeoutMs: options.fetchTimeoutMs,
  });

  const call = (ctx: TicketContext, method: string, path: string): Promise<SendResponse> =>
    conflictsRetry(client.send({ method, path, headers: { accept: 'application/json' }, signal: ctx.request.signal }));
  const write = (ctx: TicketContext, request: OutboundRequest): Promise<SendResponse> =>
    conflictsRetry(client.send(sendArguments(request, { signal: ctx.request.signal })));
  const ref = (ctx: TicketContext, t: Ticket): TicketRef => ({
    receiver: receiverName,
    incidentKey: ctx.request.step.incidentKey,
    id: t.id,
    key: `#${t.id}`,
    url: `${baseUrl}/agent/tickets/${t.id}`,
    state: resolvedStatus(t.status) ? 'resolved' : 'open',
  });
  const input = (ctx: TicketContext, ticket: TicketRef | null, operation: PayloadInput['operation']): PayloadInput<ZendeskReceiver> =>
    payloadInputFor(ctx, receiverName, receiver, ticket, operation);
  const idRef = (ctx: TicketContext, id: string): TicketRef => ({ receiver: receiverName, incidentKey: ctx.request.step.incidentKey, id, key: `#${id}`, url: null, state: 'open' });

  /** The builder's request with its `ticket` object changed: the marker on the comment, and `extra` fields. */
  function marked(ctx: TicketContext, request: OutboundRequest, extra: Record<string, unknown> = {}, html?: string): OutboundRequest {
    const body = 'json' in request.body && isJsonObject(request.body.json) && isJsonObject(request.body.json.ticket) ? request.body.json.ticket : null;
    const comment = body && isJsonObject(body.comment) ? body.comment : null;
    if (!body || !comment || typeof comment.html_body !== 'string') throw new KitError('zendesk: the payload builder made no ticket comment', { kind: 'validation' });
    // a paragraph of its own: Zendesk keeps the text of html_body, so the token can be found in what it gives back
    const withToken = { ...comment, html_body: `${html ?? comment.html_body}\n<p>${ctx.marker.token}</p>` };
    return { ...request, body: { json: { ticket: { ...body, comment: withToken, ...extra } } } };
  }

  async function show(ctx: TicketContext, id: string): Promise<Ticket> {
    const res = await call(ctx, 'GET', `/api/v2/tickets/${encodeURIComponent(id)}.json`);
    return ticketOf(res.json<{ ticket?: unknown }>().ticket, `GET ticket ${id}`, res.status);
  }

  /** The incident's tickets, oldest first: only those whose external_id is exactly the key. */
  async function listed(ctx: TicketContext): Promise<Ticket[]> {
    const key = ctx.request.step.incidentKey;
    const res = await call(ctx, 'GET', `/api/v2/tickets.json?external_id=${encodeURIComponent(key)}`);
    const tickets = res.json<{ tickets?: unknown }>().tickets;
    if (!Array.isArray(tickets)) throw new KitError('zendesk: the ticket list answered without "tickets"', { kind: 'terminal', statusCode: res.status });
    return tickets.map((t) => ticketOf(t, 'the ticket list', res.status)).filter((t) => t.externalId === key).sort(byAge);
  }

  /** Per delivery: where the writes for a closed ticket go (its follow-up), null while it has none. */
  const redirect = new Map<string, Ticket | null>();

  /** The ticket to write to for `ticket`: itself unless closed, else its follow-up (null: none yet). */
  async function writable(ctx: TicketContext, ticket: TicketRef): Promise<Ticket | null> {
    if (redirect.has(ticket.id)) return redirect.get(ticket.id) ?? null;
    const t = await show(ctx, ticket.id);
    if (t.status !== 'closed') return t;
    const followUp = (await listed(ctx)).find((x) => x.status !== 'closed') ?? null;
    redirect.set(ticket.id, followUp);
    return followUp;
  }

  async function hasMarker(ctx: TicketContext, id: string): Promise<boolean> {
    const res = await call(ctx, 'GET', `/api/v2/tickets/${encodeURIComponent(id)}/comments.json?sort_order=desc`);
    const comments = res.json<{ comments?: unknown }>().comments;
    const token = ctx.marker.token;
    return Array.isArray(comments) && comments.some((c) => isJsonObject(c) && [c.html_body, c.body, c.plain_body].some((b) => typeof b === 'string' && b.includes(token)));
  }

  async function put(ctx: TicketContext, id: string, status?: 'solved' | 'open'): Promise<void> {
    const operation = status === 'solved' ? 'resolve' : 'update';
    await write(ctx, marked(ctx, buildZendeskPayload(input(ctx, idRef(ctx, id), operation)), status === 'open' ? { status } : {}));
  }

  /** A new ticket for the incident. `source`: the closed ticket it follows up (Zendesk links them). */
  async function post(ctx: TicketContext, source: Ticket | null, status?: 'open' | 'solved'): Promise<Ticket> {
    const key = ctx.request.step.idempotencyKey;
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) throw new KitError('zendesk: the step key does not fit an Idempotency-Key', { kind: 'validation' });
    const built = buildZendeskPayload(input(ctx, null, 'create'));
    let request = marked(ctx, built);
    if (source) {
      const parts = ctx.request.rendered.parts;
      const changes = typeof parts.comment === 'string' ? parts.comment : '';
      const description = typeof parts.body === 'string' ? parts.body : '';
      const { tags: _inherited, ...rest } = (built.body as { json: { ticket: Record<string, unknown> } }).json.ticket;
      // without `tags` Zendesk copies the closed ticket's, agents' tags included
      request = marked(ctx, { ...built, body: { json: { ticket: rest } } }, { via_followup_source_id: Number(source.id), ...(status ? { status } : {}) }, `${changes}\n${description}`);
    }
    request = { ...request, headers: { ...request.headers, 'idempotency-key': key } };
    try {
      const res = await write(ctx, request);
      return ticketOf(res.json<{ ticket?: unknown }>().ticket, 'ticket create', res.status);
    } catch (err) {
      // the same key with another body: an earlier try of this step created a ticket (its render differed)
      if (!(err instanceof KitError && err.statusCode === 400 && /IdempotentRequestError/.test(err.message))) throw err;
      const found = (await listed(ctx)).find((t) => t.status !== 'closed');
      if (found) return found;
      throw new KitError(`zendesk: Idempotency-Key of step ${key.slice(0, 16)}… was used for another request and no ticket with external_id ${ctx.request.step.incidentKey} can be found`, {
        kind: 'terminal',
        statusCode: 400,
      });
    }
  }

  /** Changes for a ticket that Zendesk has closed go to its follow-up, created when there is none. */
  async function commentClosed(ctx: TicketContext, ticket: TicketRef): Promise<void> {
    const followUp = await writable(ctx, ticket);
    if (followUp) {
      if (!(await hasMarker(ctx, followUp.id))) await put(ctx, followUp.id);
      return;
    }
    const closed: Ticket = { id: ticket.id, status: 'closed', externalId: ctx.request.step.incidentKey, createdAt: '' };
    redirect.set(ticket.id, await post(ctx, closed, ctx.request.step.incident.status === 'Closed' ? 'solved' : 'open'));
  }

  return {
    name: 'zendesk',
    noun: 'ticket',
    label: 'Zendesk',
    settleMs: ZENDESK_SETTLE_MS,

    async find(ctx) {
      const tickets = await listed(ctx);
      const hit = tickets.find((t) => t.status !== 'closed') ?? tickets[tickets.length - 1];
      return hit ? ref(ctx, hit) : null;
    },

    async create(ctx) {
      return ref(ctx, await post(ctx, null));
    },

    async hasComment(ticket, ctx) {
      if (await hasMarker(ctx, ticket.id)) return true;
      const followUp = redirect.get(ticket.id);
      return followUp ? hasMarker(ctx, followUp.id) : false;
    },

    async comment(ticket, ctx) {
      if (redirect.has(ticket.id)) return commentClosed(ctx, ticket);
      try {
        await put(ctx, ticket.id);
      } catch (err) {
        // 422 is also a bad body or the 5,000-comment limit: only a closed ticket is followed up
        if (!(err instanceof KitError && err.statusCode === 422) || (await show(ctx, ticket.id)).status !== 'closed') throw err;
        await commentClosed(ctx, ticket);
      }
    },

    async transition(ticket, ctx): Promise<TransitionOutcome> {
      const t = await writable(ctx, ticket);
      // closed with no follow-up: nothing can move; the engine's comment records the close on a solved follow-up
      if (!t || resolvedStatus(t.status)) return 'already-there';
      await put(ctx, t.id, 'solved');
      return 'moved-with-comment';
    },

    async reopen(ticket, ctx): Promise<TransitionOutcome> {
      const t = await writable(ctx, ticket);
      if (!t) {
        redirect.set(ticket.id, await post(ctx, { id: ticket.id, status: 'closed', externalId: null, createdAt: '' }, 'open'));
        return 'moved-with-comment';
      }
      if (t.status !== 'solved') return 'already-there';
      await put(ctx, t.id, 'open');
      return 'moved-with-comment';
    },
  };
}

/**
 * Zendesk answers 409 when another request changed the same ticket at that moment: nothing was written,
 * so the step is worth another try, unlike the other 4xx.
 */
async function conflictsRetry(pending: Promise<SendResponse>): Promise<SendResponse> {
  try {
    return await pending;
  } catch (err) {
    if (!(err instanceof KitError) || err.statusCode !== 409) throw err;
    throw new KitError(`${err.message} (the ticket was being changed by another request; retrying)`, { kind: 'retryable', statusCode: 409, cause: err.cause });
  }
}
