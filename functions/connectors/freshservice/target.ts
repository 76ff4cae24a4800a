/**
 * Freshservice API v2 as a ticket target: the small functions the ticket engine (`../tickets/engine.ts`)
 * calls, on the shared target client behind the receiver's per-minute budget (`./rate-limit.ts`). What is
 * written (create, note, status) is the payload builder's request (`./payload.ts`, the same one the outbox
 * writes) with the engine's marker token added to the HTML; the reads stay here.
 *
 *  find        GET /api/v2/tickets/filter?query="tag:'sentinel-<key>'" (text custom fields cannot be
 *              filtered, tags can). Whether the filter sees a ticket created a moment ago is not documented,
 *              so an in-doubt create waits FRESHSERVICE_FILTER_SETTLE_MS, and a ticket this process created
 *              is read by id instead. A hit counts only when its tags hold the tag exactly (the filter may
 *              match ignoring case); the oldest such ticket wins
 *  create      POST /api/v2/tickets with the tag
 *  hasComment  GET  /api/v2/tickets/{id}/conversations, looking for the marker token in the notes (and, on a
 *              retry, in the description: a create whose answer was lost carries its step's marker there)
 *  comment     POST /api/v2/tickets/{id}/notes {body, private:true}
 *  transition  GET the ticket; Resolved (4) or Closed (5) → already there; else PUT {status:4} → moved, and
 *              the engine adds the note
 *  reopen      GET the ticket; Resolved or Closed → PUT {status:2} → moved; otherwise already there
 *
 * Updates never send `tags`: Freshservice's PUT replaces the whole list, and the tag is how the ticket is found.
 */
import type { FreshserviceReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { basicAuth, checkEndpointUrl, createTargetClient, type HttpPolicy, type SendResponse, type TargetClient } from '../http/index.js';
import { resolveSecret } from '../secrets.js';
import { sendArguments } from '../request.js';
import { payloadInputFor, type TicketContext, type TicketTarget, type TransitionOutcome } from '../tickets/engine.js';
import type { OutboundRequest, PayloadInput } from '../types.js';
import { buildFreshservicePayload, FRESHSERVICE_STATUS_OPEN, FRESHSERVICE_STATUS_RESOLVED, freshserviceIncidentTag } from './payload.js';

/**
 * Freshservice does not document when the filter API sees a new ticket; like Jira's search it is assumed to
 * lag, and two minutes is cheap on the rare in-doubt create.
 */
export const FRESHSERVICE_FILTER_SETTLE_MS = 120_000;
export const FRESHSERVICE_STATUS_CLOSED = 5;
/** the filter API's limit on the query, quotes included */
const MAX_QUERY_CHARS = 512;
/** the filter answers 30 a page; an incident has one ticket, a few when someone copied it by hand */
const MAX_FILTER_PAGES = 5;
const CONVERSATIONS_PER_PAGE = 100;
/** notes are listed oldest first; a redelivered step's note is recent, but a busy ticket may have many */
const MAX_CONVERSATION_PAGES = 20;

export interface FreshserviceTargetOptions {
  receiverName: string;
  receiver: FreshserviceReceiver;
  /** the receiver's call budget (`minuteBudget(...).policy`), shared by its deliveries */
  budget: HttpPolicy;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  now?: () => number;
}

interface Ticket {
  id: string;
  status: number;
  tags: string[] | null;
  description: string | null;
}

function ticketOf(raw: unknown, what: string, status: number): Ticket {
  const t = isJsonObject(raw) ? raw : {};
  if (typeof t.id !== 'number' || !Number.isSafeInteger(t.id) || typeof t.status !== 'number') {
    throw new KitError(`freshservice: ${what} answered without a ticket id and status`, { kind: 'terminal', statusCode: status });
  }
  const tags = Array.isArray(t.tags) ? t.tags.filter((x): x is string => typeof x === 'string') : null;
  return { id: String(t.id), status: t.status, tags, description: typeof t.description === 'string' ? t.description : null };
}

const resolvedStatus = (status: number) => status === FRESHSERVICE_STATUS_RESOLVED || status === FRESHSERVICE_STATUS_CLOSED;

/** Builds the target for one delivery; secrets are resolved here, so a missing one fails before any request. */
export function openFreshserviceTarget(options: FreshserviceTargetOptions): TicketTarget {
  const { receiverName, receiver } = options;
  const env = options.env ?? process.env;
  const prefix = `receivers.${receiverName}`;
  if (receiver.baseUrl === undefined) {
    throw new KitError(`${prefix}.baseUrl is not set: this receiver delivers to the outbox, not to Freshservice`, { kind: 'config', where: { field: `${prefix}.baseUrl` } });
  }
  const baseUrl = checkEndpointUrl(receiver.baseUrl, `${prefix}.baseUrl`).href.replace(/\/+$/, '');
  const apiKey = resolveSecret(receiver.apiKey, env, `${prefix}.apiKey`);
  if (apiKey === undefined) {
    throw new KitError(`${prefix} needs an apiKey secret reference (the key is the Basic user, "X" the password)`, { kind: 'config', where: { field: `${prefix}.apiKey` } });
  }
  const client: TargetClient = createTargetClient({
    target: 'freshservice',
    baseUrl,
    field: `${prefix}.baseUrl`,
    auth: basicAuth(apiKey, 'X'),
    policies: [options.budget],
    // the key is the Basic *user*, which basicAuth does not list as a secret
    secrets: [apiKey],
    timeoutMs: options.fetchTimeoutMs,
    ...(options.now ? { now: options.now } : {}),
  });

  const call = (ctx: TicketContext, path: string): Promise<SendResponse> =>
    client.send({ method: 'GET', path, headers: { accept: 'application/json' }, signal: ctx.request.signal });
  const write = (ctx: TicketContext, request: OutboundRequest): Promise<SendResponse> => client.send(sendArguments(request, { signal: ctx.request.signal }));
  const ref = (ctx: TicketContext, t: Ticket): TicketRef => ({
    receiver: receiverName,
    incidentKey: ctx.request.step.incidentKey,
    id: t.id,
    key: `#INC-${t.id}`,
    url: `${baseUrl}/a/tickets/${t.id}`,
    state: resolvedStatus(t.status) ? 'resolved' : 'open',
  });
  const input = (ctx: TicketContext, ticket: TicketRef | null, operation: PayloadInput['operation']): PayloadInput<FreshserviceReceiver> =>
    payloadInputFor(ctx, receiverName, receiver, ticket, operation);
  const tagOf = (ctx: TicketContext) => freshserviceIncidentTag(ctx.request.step.incidentKey);

  /** The builder's request with the marker token as a paragraph of its own at the end of an HTML field. */
  function marked(ctx: TicketContext, request: OutboundRequest, field: 'description' | 'body'): OutboundRequest {
    const body = 'json' in request.body && isJsonObject(request.body.json) ? request.body.json : null;
    const html = body?.[field];
    if (!body || typeof html !== 'string') throw new KitError(`freshservice: the payload builder made no ${field}`, { kind: 'validation' });
    return { ...request, body: { json: { ...body, [field]: `${html}\n<p>${ctx.marker.token}</p>` } } };
  }

  async function show(ctx: TicketContext, id: string, include?: 'tags'): Promise<Ticket> {
    const res = await call(ctx, `/api/v2/tickets/${encodeURIComponent(id)}${include ? `?include=${include}` : ''}`);
    return ticketOf(res.json<{ ticket?: unknown }>().ticket, `GET ticket ${id}`, res.status);
  }

  /** whether the ticket really carries the incident's tag: the filter's word alone is not proof */
  async function carriesTag(ctx: TicketContext, t: Ticket): Promise<Ticket | null> {
    const full = t.tags === null ? await show(ctx, t.id, 'tags') : t;
    return (full.tags ?? []).includes(tagOf(ctx)) ? full : null;
  }

  async function filtered(ctx: TicketContext): Promise<Ticket[]> {
    const tag = tagOf(ctx);
    const query = `"tag:'${tag}'"`;
    // the builder's tag holds no quote; checked where the query is built, since a quote would end the value
    if (/['"\\]/.test(tag) || query.length > MAX_QUERY_CHARS) throw new KitError(`freshservice: cannot filter by the tag "${tag.slice(0, 40)}"`, { kind: 'terminal' });
    const all: Ticket[] = [];
    for (let page = 1; page <= MAX_FILTER_PAGES; page++) {
      const res = await call(ctx, `/api/v2/tickets/filter?query=${encodeURIComponent(query)}&page=${page}`);
      const body = res.json<{ tickets?: unknown; total?: unknown }>();
      if (!Array.isArray(body.tickets)) throw new KitError('freshservice: the filter answered without "tickets"', { kind: 'terminal', statusCode: res.status });
      all.push(...body.tickets.map((t) => ticketOf(t, 'the filter', res.status)));
      const total = typeof body.total === 'number' ? body.total : all.length;
      if (body.tickets.length === 0 || all.length >= total) break;
    }
    return all.sort((a, b) => Number(a.id) - Number(b.id));
  }

  async function noteHasMarker(ctx: TicketContext, id: string): Promise<boolean> {
    const token = ctx.marker.token;
    for (let page = 1; page <= MAX_CONVERSATION_PAGES; page++) {
      const res = await call(ctx, `/api/v2/tickets/${encodeURIComponent(id)}/conversations?page=${page}&per_page=${CONVERSATIONS_PER_PAGE}`);
      const list = res.json<{ conversations?: unknown }>().conversations;
      if (!Array.isArray(list)) throw new KitError('freshservice: the conversations list answered without "conversations"', { kind: 'terminal', statusCode: res.status });
      if (list.some((c) => isJsonObject(c) && [c.body, c.body_text].some((b) => typeof b === 'string' && b.includes(token)))) return true;
      if (list.length < CONVERSATIONS_PER_PAGE) return false;
    }
    return false;
  }

  async function setStatus(ctx: TicketContext, ticket: TicketRef, status: number): Promise<void> {
    const built = buildFreshservicePayload(input(ctx, ticket, 'resolve'));
    const json = 'json' in built.body && isJsonObject(built.body.json) ? built.body.json : {};
    // the status and the mapped fields that changed with it; never `tags`: a PUT with tags would replace the
    // ticket's tags, the one thing it is found by
    const { tags: _never, ...fields } = json;
    await write(ctx, { ...built, body: { json: { ...fields, status } } });
  }

  return {
    name: 'freshservice',
    noun: 'ticket',
    label: 'Freshservice',
    settleMs: FRESHSERVICE_FILTER_SETTLE_MS,

    async find(ctx) {
      const known = ctx.createdHere;
      if (known) {
        // read-after-write for what this process made: by id, not through the filter
        const mine = await carriesTag(ctx, await show(ctx, known.id, 'tags'));
        if (mine) return ref(ctx, mine);
      }
      for (const hit of await filtered(ctx)) {
        const verified = await carriesTag(ctx, hit);
        if (verified) return ref(ctx, verified);
      }
      return null;
    },

    async create(ctx) {
      const res = await write(ctx, marked(ctx, buildFreshservicePayload(input(ctx, null, 'create')), 'description'));
      return ref(ctx, ticketOf(res.json<{ ticket?: unknown }>().ticket, 'ticket create', res.status));
    },

    async hasComment(ticket, ctx) {
      if (await noteHasMarker(ctx, ticket.id)) return true;
      // a first try cannot have created the ticket itself, so only a retry looks at the description too
      if (ctx.request.attempt === 1) return false;
      return ((await show(ctx, ticket.id)).description ?? '').includes(ctx.marker.token);
    },

    async comment(ticket, ctx) {
      await write(ctx, marked(ctx, buildFreshservicePayload(input(ctx, ticket, 'update')), 'body'));
    },

    async transition(ticket, ctx): Promise<TransitionOutcome> {
      if (resolvedStatus((await show(ctx, ticket.id)).status)) return 'already-there';
      await setStatus(ctx, ticket, FRESHSERVICE_STATUS_RESOLVED);
      return 'moved';
    },

    async reopen(ticket, ctx): Promise<TransitionOutcome> {
      if (!resolvedStatus((await show(ctx, ticket.id)).status)) return 'already-there';
      await setStatus(ctx, ticket, FRESHSERVICE_STATUS_OPEN);
      return 'moved';
    },
  };
}
