/**
 * A fake Freshservice (API v2) on loopback, keeping state as Freshservice does for the calls the kit makes:
 * create, the filter query, view (with `include=tags`), update, private notes and the conversations list,
 * behind an optional per-minute limit that answers 429 with Retry-After as the real one does.
 *
 * What it holds to, from the Freshservice API v2 reference (api.freshservice.com) and the
 * askasoft/pango SDK:
 *  - auth is Basic `<api key>:X`; anything else is 401
 *  - bodies are JSON; a field the endpoint does not know is a 400 "invalid_field"
 *  - status 2 Open, 3 Pending, 4 Resolved, 5 Closed; priority 1–4
 *  - a PUT with `tags` replaces the whole list
 *  - the filter takes `query="…"` in double quotes, string values in single quotes, at most 512
 *    characters, 30 tickets a page with the `total`; its tickets carry no tags (a view with include=tags
 *    does), and it matches a tag ignoring case. How soon it sees a new ticket is not documented, so the
 *    fake can lag (`filterLagMs`)
 *  - conversations are listed oldest first, `per_page` up to 100
 * The error bodies follow Freshservice's `{description, errors:[{field, message, code}]}` shape; their
 * wording was not captured from the live API.
 */
import type { Incident } from '../../../functions/core/model.js';
import type { RenderedMessage } from '../../../functions/render/types.js';
import { reply, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

/** A Freshservice message as render hands it over (HTML already escaped), built by hand so tests need no templates. */
export function renderedFreshservice(incident: Incident, overrides: Partial<Record<'subject' | 'description' | 'note', string>> = {}): RenderedMessage {
  return {
    kind: 'freshservice',
    template: 'ticket',
    parts: {
      subject: `Sentinel incident ${incident.number ?? incident.key}: ${incident.title}`,
      description: `<p><b>${incident.title}</b></p><p>${incident.description}</p>`,
      note: `<p><b>Owner changed to ${incident.owner.assignedTo ?? 'Unassigned'}</b></p><p>Status: ${incident.status}</p>`,
      ...overrides,
    },
  };
}

export interface FakeFreshserviceNote {
  id: number;
  body: string;
  private: boolean;
  created_at: string;
}

export interface FakeFreshserviceTicket {
  id: number;
  subject: string;
  description: string;
  email: string;
  status: number;
  priority: number;
  source: number;
  tags: string[];
  group_id: number | null;
  createdAt: number;
  notes: FakeFreshserviceNote[];
}

export interface FakeFreshserviceOptions {
  apiKey?: string;
  now?: () => number;
  /** tickets created less than this long ago are not in the filter's answers */
  filterLagMs?: number;
  /** the account's calls a minute; past it, 429 with Retry-After until the oldest call is a minute old */
  limitPerMinute?: number;
}

export interface FakeFreshservice {
  handler: FakeHandler;
  tickets: FakeFreshserviceTicket[];
  ticket(id: number | string): FakeFreshserviceTicket | undefined;
  /** tickets carrying exactly this tag, oldest first */
  withTag(tag: string): FakeFreshserviceTicket[];
  /** 429s the account limit answered */
  readonly refused: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const validation = (field: string, message: string, code = 'invalid_value'): FakeReply => reply(400, { description: 'Validation failed', errors: [{ field, message, code }] });
const notFound = () => reply(404, { code: 'access_denied', message: 'You are not authorized to perform this action.' });
const CREATE_FIELDS = new Set(['email', 'requester_id', 'subject', 'description', 'status', 'priority', 'source', 'tags', 'group_id', 'type', 'custom_fields', 'cc_emails']);
const UPDATE_FIELDS = new Set(['subject', 'description', 'status', 'priority', 'source', 'tags', 'group_id', 'type', 'custom_fields', 'responder_id']);
const NOTE_FIELDS = new Set(['body', 'private', 'notify_emails', 'incoming']);
const INCLUDES = new Set(['tags', 'conversations', 'requester', 'requested_for', 'stats', 'problem', 'assets', 'change', 'related_tickets']);
const FILTER = /^"tag:'([^'"\\]+)'"$/;
const plain = (html: string) => html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();

export function createFakeFreshservice(options: FakeFreshserviceOptions = {}): FakeFreshservice {
  const now = options.now ?? Date.now;
  const tickets: FakeFreshserviceTicket[] = [];
  const calls: number[] = [];
  let refused = 0;
  let nextId = 1;
  let nextNoteId = 5001;

  const find = (id: number | string) => tickets.find((t) => String(t.id) === String(id));
  const view = (t: FakeFreshserviceTicket, withTags: boolean) => ({
    id: t.id,
    subject: t.subject,
    description: t.description,
    description_text: plain(t.description),
    status: t.status,
    priority: t.priority,
    source: t.source,
    group_id: t.group_id,
    created_at: new Date(t.createdAt).toISOString(),
    ...(withTags ? { tags: t.tags } : {}),
  });

  function json(req: RecordedRequest, allowed: Set<string>): { ok: true; body: Record<string, unknown> } | { ok: false; reply: FakeReply } {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return { ok: false, reply: reply(415, { code: 'invalid_content_type', message: 'Content-Type header should have application/json' }) };
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return { ok: false, reply: reply(400, { code: 'invalid_json', message: 'Request body has invalid json format' }) };
    }
    if (!isObject(body)) return { ok: false, reply: reply(400, { code: 'invalid_json', message: 'Request body must be an object' }) };
    const unknown = Object.keys(body).find((k) => !allowed.has(k));
    if (unknown) return { ok: false, reply: validation(unknown, 'Unexpected/invalid field in request', 'invalid_field') };
    if (body.status !== undefined && ![2, 3, 4, 5].includes(body.status as number)) return { ok: false, reply: validation('status', 'It should be one of these values: 2,3,4,5') };
    if (body.priority !== undefined && ![1, 2, 3, 4].includes(body.priority as number)) return { ok: false, reply: validation('priority', 'It should be one of these values: 1,2,3,4') };
    if (body.tags !== undefined && (!Array.isArray(body.tags) || !body.tags.every((x) => typeof x === 'string'))) return { ok: false, reply: validation('tags', 'It should be an array of strings', 'datatype_mismatch') };
    return { ok: true, body };
  }

  function create(req: RecordedRequest): FakeReply {
    const parsed = json(req, CREATE_FIELDS);
    if (!parsed.ok) return parsed.reply;
    const b = parsed.body;
    if (typeof b.email !== 'string' && typeof b.requester_id !== 'number') return validation('requester_id', 'Please fill at least 1 of email, requester_id fields', 'missing_field');
    if (typeof b.subject !== 'string' || b.subject === '') return validation('subject', 'It should be a/an String', 'missing_field');
    if (typeof b.description !== 'string') return validation('description', 'It should be a/an String', 'missing_field');
    const t: FakeFreshserviceTicket = {
      id: nextId++,
      subject: b.subject,
      description: b.description,
      email: typeof b.email === 'string' ? b.email : '',
      status: typeof b.status === 'number' ? b.status : 2,
      priority: typeof b.priority === 'number' ? b.priority : 1,
      source: typeof b.source === 'number' ? b.source : 2,
      tags: Array.isArray(b.tags) ? [...(b.tags as string[])] : [],
      group_id: typeof b.group_id === 'number' ? b.group_id : null,
      createdAt: now(),
      notes: [],
    };
    tickets.push(t);
    return reply(201, { ticket: view(t, true) });
  }

  function filter(req: RecordedRequest): FakeReply {
    const query = req.query.get('query') ?? '';
    if (query.length > 512) return validation('query', 'The query should not exceed 512 characters', 'invalid_size');
    const m = FILTER.exec(query);
    if (!m) return validation('query', 'Given query is invalid: it must be in double quotes, strings in single quotes', 'invalid_value');
    const tag = m[1]!.toLowerCase();
    const lag = options.filterLagMs ?? 0;
    const hits = tickets.filter((t) => now() - t.createdAt >= lag && t.tags.some((x) => x.toLowerCase() === tag)).sort((a, b) => b.id - a.id);
    const page = Math.max(1, Number(req.query.get('page') ?? 1));
    return reply(200, { tickets: hits.slice((page - 1) * 30, page * 30).map((t) => view(t, false)), total: hits.length });
  }

  function update(req: RecordedRequest, t: FakeFreshserviceTicket): FakeReply {
    const parsed = json(req, UPDATE_FIELDS);
    if (!parsed.ok) return parsed.reply;
    const b = parsed.body;
    if (typeof b.status === 'number') t.status = b.status;
    if (typeof b.priority === 'number') t.priority = b.priority;
    if (Array.isArray(b.tags)) t.tags = [...(b.tags as string[])];
    if (typeof b.subject === 'string') t.subject = b.subject;
    return reply(200, { ticket: view(t, true) });
  }

  function note(req: RecordedRequest, t: FakeFreshserviceTicket): FakeReply {
    const parsed = json(req, NOTE_FIELDS);
    if (!parsed.ok) return parsed.reply;
    const b = parsed.body;
    if (typeof b.body !== 'string' || b.body === '') return validation('body', 'It should be a/an String', 'missing_field');
    if (b.private !== undefined && typeof b.private !== 'boolean') return validation('private', 'It should be a/an Boolean', 'datatype_mismatch');
    const n: FakeFreshserviceNote = { id: nextNoteId++, body: b.body, private: b.private !== false, created_at: new Date(now()).toISOString() };
    t.notes.push(n);
    return reply(201, { conversation: { ...n, body_text: plain(n.body), ticket_id: t.id, source: 2, incoming: false } });
  }

  function conversations(req: RecordedRequest, t: FakeFreshserviceTicket): FakeReply {
    const perPage = Number(req.query.get('per_page') ?? 30);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) return validation('per_page', 'It should be a Positive Integer less than or equal to 100');
    const page = Math.max(1, Number(req.query.get('page') ?? 1));
    const slice = t.notes.slice((page - 1) * perPage, page * perPage);
    const more = t.notes.length > page * perPage;
    return reply(
      200,
      { conversations: slice.map((n) => ({ ...n, body_text: plain(n.body), ticket_id: t.id, source: 2, incoming: false })) },
      more ? { link: `<${req.path}?page=${page + 1}&per_page=${perPage}>; rel="next"` } : {},
    );
  }

  /** the account limit: Freshservice counts every call of the minute */
  function overLimit(): FakeReply | null {
    const limit = options.limitPerMinute;
    if (limit === undefined) return null;
    const at = now();
    while (calls.length > 0 && calls[0]! <= at - 60_000) calls.shift();
    if (calls.length >= limit) {
      refused++;
      const waitS = Math.max(1, Math.ceil((calls[0]! + 60_000 - at) / 1000));
      return reply(429, { message: 'You have exceeded the limit of requests per minute' }, { 'retry-after': String(waitS), 'x-ratelimit-total': String(limit), 'x-ratelimit-remaining': '0' });
    }
    calls.push(at);
    return null;
  }

  const handler: FakeHandler = (req) => {
    if (options.apiKey !== undefined && req.headers.authorization !== `Basic ${Buffer.from(`${options.apiKey}:X`).toString('base64')}`) {
      return reply(401, { code: 'invalid_credentials', message: 'You have to be logged in to perform this action.' });
    }
    const limited = overLimit();
    if (limited) return limited;
    const { method, path } = req;
    if (path === '/api/v2/tickets' && method === 'POST') return create(req);
    if (path === '/api/v2/tickets/filter' && method === 'GET') return filter(req);
    const m = /^\/api\/v2\/tickets\/(\d+)(\/notes|\/conversations)?$/.exec(path);
    if (!m) return reply(404, { code: 'invalid_url', message: 'The requested URL was not found' });
    const t = find(m[1]!);
    if (!t) return notFound();
    if (m[2] === '/notes' && method === 'POST') return note(req, t);
    if (m[2] === '/conversations' && method === 'GET') return conversations(req, t);
    if (m[2] === undefined && method === 'GET') {
      const include = req.query.get('include');
      if (include !== null && !include.split(',').every((i) => INCLUDES.has(i))) return validation('include', `It should be one of these values: ${[...INCLUDES].join(',')}`);
      return reply(200, { ticket: view(t, include?.split(',').includes('tags') ?? false) });
    }
    if (m[2] === undefined && method === 'PUT') return update(req, t);
    return reply(405, { code: 'method_not_allowed', message: `${method} is not allowed here` });
  };

  return {
    handler,
    tickets,
    ticket: find,
    withTag: (tag) => tickets.filter((t) => t.tags.includes(tag)),
    get refused() {
      return refused;
    },
  };
}
