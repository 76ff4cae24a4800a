/**
 * A fake Zendesk Support (Tickets API v2) on loopback, keeping state as Zendesk does for the calls the kit
 * makes: create (with Idempotency-Key replay), list by external_id, show, update with a comment or a
 * status, list comments. Faults come from the building blocks in test/helpers/fake-server.ts.
 *
 * What it holds to, from the Zendesk Support API reference (developer.zendesk.com):
 *  - auth is Basic `{email}/token:{api_token}`; anything else is 401
 *  - a request with a body must be JSON `{"ticket": {...}}`; a create needs a comment (its description)
 *  - `Idempotency-Key` on a create: the same key and body within 2 hours get the first answer again, with
 *    `x-idempotency-lookup: hit`; the same key with another body is a 400 IdempotentRequestError
 *  - external_id is not unique, and this fake matches it ignoring case (as a case-insensitive database
 *    collation would), so a client must check the value it gets back
 *  - a closed ticket is read-only: any update is a 422; `via_followup_source_id` names the closed ticket a
 *    new one follows up, and the new one takes its tags when the create sends none
 *  - an agent's private comment leaves the status as it is; at most 5,000 comments a ticket
 * The error bodies follow Zendesk's `{error, description, details}` shape; their exact wording was not
 * captured from the live API.
 */
import { createHash } from 'node:crypto';
import type { Incident } from '../../../functions/core/model.js';
import type { RenderedMessage } from '../../../functions/render/types.js';
import { reply, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

/** A Zendesk message as render hands it over (HTML already escaped), built by hand so tests need no templates. */
export function renderedZendesk(incident: Incident, overrides: Partial<Record<'subject' | 'body' | 'comment', string>> = {}): RenderedMessage {
  return {
    kind: 'zendesk',
    template: 'ticket',
    parts: {
      subject: `Sentinel incident ${incident.number ?? incident.key}: ${incident.title}`,
      body: `<p><b>${incident.title}</b></p><p>${incident.description}</p>`,
      comment: `<p><b>Owner changed to ${incident.owner.assignedTo ?? 'Unassigned'}</b></p><p>Status: ${incident.status}</p>`,
      ...overrides,
    },
  };
}

export type FakeZendeskStatus = 'new' | 'open' | 'pending' | 'hold' | 'solved' | 'closed';

export interface FakeZendeskComment {
  id: number;
  html_body: string;
  public: boolean;
  created_at: string;
}

export interface FakeZendeskTicket {
  id: number;
  subject: string;
  status: FakeZendeskStatus;
  external_id: string | null;
  tags: string[];
  priority: string | null;
  type: string | null;
  group_id: number | null;
  via_followup_source_id: number | null;
  created_at: string;
  comments: FakeZendeskComment[];
}

export interface FakeZendeskOptions {
  email?: string;
  apiToken?: string;
  /** clock for created_at and the idempotency window; tests move it instead of sleeping */
  now?: () => number;
  /** how long an Idempotency-Key is remembered; Zendesk keeps them 2 hours */
  idempotencyWindowMs?: number;
}

export interface FakeZendesk {
  handler: FakeHandler;
  tickets: FakeZendeskTicket[];
  ticket(id: number | string): FakeZendeskTicket | undefined;
  /** tickets whose external_id is exactly this, oldest first */
  withExternalId(externalId: string): FakeZendeskTicket[];
  /** what happens when Zendesk's automation closes a solved ticket */
  close(id: number | string): void;
  /** creates answered from the idempotency store rather than made */
  replays: number;
}

export const ZENDESK_IDEMPOTENCY_WINDOW_MS = 2 * 60 * 60_000;
const STATUSES = new Set<string>(['new', 'open', 'pending', 'hold', 'solved', 'closed']);
const MAX_COMMENTS = 5000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const error = (status: number, errorName: string, description: string, details?: Record<string, unknown>): FakeReply =>
  reply(status, { error: errorName, description, ...(details ? { details } : {}) });
const invalid = (field: string, description: string) => error(422, 'RecordInvalid', 'Record validation errors', { [field]: [{ description }] });
const notFound = () => error(404, 'RecordNotFound', 'Not found');
const plain = (html: string) => html.replace(/<[^>]*>/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();

export function createFakeZendesk(options: FakeZendeskOptions = {}): FakeZendesk {
  const now = options.now ?? Date.now;
  const windowMs = options.idempotencyWindowMs ?? ZENDESK_IDEMPOTENCY_WINDOW_MS;
  const tickets: FakeZendeskTicket[] = [];
  const remembered = new Map<string, { hash: string; at: number; answer: FakeReply }>();
  let nextId = 101;
  let nextCommentId = 9001;
  let base = 'http://127.0.0.1';
  const state = { replays: 0 };

  const find = (id: number | string) => tickets.find((t) => String(t.id) === String(id).replace(/\.json$/, ''));
  const view = (t: FakeZendeskTicket) => {
    const { comments, ...fields } = t;
    return { url: `${base}/api/v2/tickets/${t.id}.json`, ...fields, description: comments[0] ? plain(comments[0].html_body) : '', updated_at: fields.created_at };
  };
  const commentView = (c: FakeZendeskComment) => ({ id: c.id, type: 'Comment', html_body: c.html_body, body: plain(c.html_body), plain_body: plain(c.html_body), public: c.public, created_at: c.created_at });

  /** parses `{"ticket": {...}}` and checks its comment, the part of the shape the kit's writes depend on */
  function ticketBody(req: RecordedRequest, needComment: boolean): { ok: true; ticket: Record<string, unknown> } | { ok: false; reply: FakeReply } {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return { ok: false, reply: error(415, 'UnsupportedMediaType', 'Content-Type must be application/json') };
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body);
    } catch {
      return { ok: false, reply: error(400, 'InvalidJSON', 'The request body is not valid JSON') };
    }
    if (!isObject(parsed) || !isObject(parsed.ticket)) return { ok: false, reply: error(400, 'InvalidParameter', 'ticket parameter is missing or not an object') };
    const t = parsed.ticket;
    if (t.comment !== undefined) {
      const c = t.comment;
      if (!isObject(c) || (typeof c.body !== 'string' && typeof c.html_body !== 'string')) return { ok: false, reply: invalid('comment', 'Comment: needs a body or html_body') };
      if (c.public !== undefined && typeof c.public !== 'boolean') return { ok: false, reply: invalid('comment', 'Comment: public must be a boolean') };
    } else if (needComment) return { ok: false, reply: invalid('description', 'Description: cannot be blank') };
    if (t.status !== undefined && (typeof t.status !== 'string' || !STATUSES.has(t.status))) return { ok: false, reply: invalid('status', `Status: ${String(t.status)} is not valid`) };
    if (t.tags !== undefined && (!Array.isArray(t.tags) || !t.tags.every((x) => typeof x === 'string' && !/\s/.test(x)))) return { ok: false, reply: invalid('tags', 'Tags: must be words') };
    return { ok: true, ticket: t };
  }

  function addComment(t: FakeZendeskTicket, c: Record<string, unknown>): void {
    const html = typeof c.html_body === 'string' ? c.html_body : String(c.body);
    t.comments.push({ id: nextCommentId++, html_body: html, public: c.public !== false, created_at: new Date(now()).toISOString() });
  }

  function create(req: RecordedRequest): FakeReply {
    const parsed = ticketBody(req, true);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.ticket;
    const sourceId = typeof body.via_followup_source_id === 'number' ? body.via_followup_source_id : null;
    const source = sourceId === null ? undefined : find(sourceId);
    if (sourceId !== null && !source) return invalid('via_followup_source_id', 'Follow-up source: ticket not found');
    // Zendesk: "only works with closed tickets. It has no effect with other tickets"
    const followUp = source && source.status === 'closed' ? source : undefined;
    const ticket: FakeZendeskTicket = {
      id: nextId++,
      subject: typeof body.subject === 'string' ? body.subject : '',
      status: typeof body.status === 'string' && body.status !== 'closed' ? (body.status as FakeZendeskStatus) : 'new',
      external_id: typeof body.external_id === 'string' ? body.external_id : null,
      tags: Array.isArray(body.tags) ? [...new Set(body.tags as string[])] : followUp ? [...followUp.tags] : [],
      priority: typeof body.priority === 'string' ? body.priority : null,
      type: typeof body.type === 'string' ? body.type : null,
      group_id: typeof body.group_id === 'number' ? body.group_id : null,
      via_followup_source_id: followUp ? followUp.id : null,
      created_at: new Date(now()).toISOString(),
      comments: [],
    };
    addComment(ticket, body.comment as Record<string, unknown>);
    tickets.push(ticket);
    return reply(201, { ticket: view(ticket), audit: { ticket_id: ticket.id, events: [] } }, { location: `${base}/api/v2/tickets/${ticket.id}.json` });
  }

  /** Zendesk's Idempotency-Key: the first answer again for the same key and body within the window */
  function idempotentCreate(req: RecordedRequest): FakeReply {
    const raw = req.headers['idempotency-key'];
    const key = typeof raw === 'string' ? raw : undefined;
    if (key === undefined) return create(req);
    if (key.length > 255) return error(400, 'InvalidParameter', 'Idempotency-Key must be at most 255 characters');
    const hash = createHash('sha256').update(req.body).digest('hex');
    const seen = remembered.get(key);
    if (seen && now() - seen.at < windowMs) {
      if (seen.hash !== hash) return error(400, 'IdempotentRequestError', 'The Idempotency-Key was already used with a different request body');
      state.replays++;
      return { ...seen.answer, headers: { ...seen.answer.headers, 'x-idempotency-lookup': 'hit' } };
    }
    const answer = create(req);
    // only what was made is remembered: a refused create may be sent again once fixed
    if (answer.status === 201) remembered.set(key, { hash, at: now(), answer });
    return { ...answer, headers: { ...answer.headers, 'x-idempotency-lookup': 'miss' } };
  }

  function list(req: RecordedRequest): FakeReply {
    const externalId = req.query.get('external_id');
    const hits = externalId === null ? tickets : tickets.filter((t) => t.external_id !== null && t.external_id.toLowerCase() === externalId.toLowerCase());
    const page = hits.slice(0, 100);
    return reply(200, { tickets: page.map(view), next_page: null, previous_page: null, count: hits.length });
  }

  function update(req: RecordedRequest, id: string): FakeReply {
    const t = find(id);
    if (!t) return notFound();
    const parsed = ticketBody(req, false);
    if (!parsed.ok) return parsed.reply;
    if (t.status === 'closed') return invalid('status', 'Status: closed prevents ticket update');
    const body = parsed.ticket;
    if (body.comment !== undefined && t.comments.length >= MAX_COMMENTS) return invalid('comment', 'Comment: ticket has reached the comment limit');
    if (body.status === 'closed' && t.status !== 'solved') return invalid('status', 'Status: closed requires the ticket to be solved first');
    if (body.comment !== undefined) addComment(t, body.comment as Record<string, unknown>);
    if (typeof body.status === 'string') t.status = body.status as FakeZendeskStatus;
    if (Array.isArray(body.tags)) t.tags = [...new Set(body.tags as string[])];
    return reply(200, { ticket: view(t), audit: { ticket_id: t.id, events: [] } });
  }

  function comments(req: RecordedRequest, id: string): FakeReply {
    const t = find(id);
    if (!t) return notFound();
    const order = req.query.get('sort_order') ?? 'asc';
    if (order !== 'asc' && order !== 'desc') return error(400, 'InvalidParameter', 'sort_order must be asc or desc');
    const all = order === 'desc' ? [...t.comments].reverse() : t.comments;
    return reply(200, { comments: all.slice(0, 100).map(commentView), next_page: all.length > 100 ? `${base}/api/v2/tickets/${t.id}/comments.json?page=2` : null, previous_page: null, count: all.length });
  }

  const handler: FakeHandler = (req) => {
    if (req.headers.host) base = `http://${req.headers.host}`;
    if (options.email !== undefined && options.apiToken !== undefined) {
      const expected = `Basic ${Buffer.from(`${options.email}/token:${options.apiToken}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return reply(401, { error: "Couldn't authenticate you" });
    }
    const path = req.path;
    if (path === '/api/v2/tickets.json' || path === '/api/v2/tickets') {
      if (req.method === 'POST') return idempotentCreate(req);
      if (req.method === 'GET') return list(req);
      return error(405, 'MethodNotAllowed', `${req.method} is not allowed here`);
    }
    const one = /^\/api\/v2\/tickets\/(\d+)(?:\.json)?$/.exec(path);
    if (one) {
      const t = find(one[1]!);
      if (req.method === 'GET') return t ? reply(200, { ticket: view(t) }) : notFound();
      if (req.method === 'PUT') return update(req, one[1]!);
      return error(405, 'MethodNotAllowed', `${req.method} is not allowed here`);
    }
    const cs = /^\/api\/v2\/tickets\/(\d+)\/comments(?:\.json)?$/.exec(path);
    if (cs && req.method === 'GET') return comments(req, cs[1]!);
    return error(404, 'InvalidEndpoint', 'Not found');
  };

  return {
    handler,
    tickets,
    ticket: find,
    withExternalId: (externalId) => tickets.filter((t) => t.external_id === externalId),
    close(id) {
      const t = find(id);
      if (!t) throw new Error(`no ticket ${id}`);
      t.status = 'closed';
    },
    get replays() {
      return state.replays;
    },
  };
}
