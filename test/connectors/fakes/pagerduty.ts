/**
 * A fake PagerDuty on loopback, keeping state as PagerDuty does for the calls the kit makes: the Events API
 * v2 (`POST /v2/enqueue`: trigger, acknowledge, resolve by dedup_key) and the REST calls of the optional
 * notes (`GET /incidents?incident_key=…`, `GET`/`POST /incidents/{id}/notes`). Faults come from the building
 * blocks in test/helpers/fake-server.ts. One server can serve both APIs (their paths do not overlap).
 *
 * What it holds to (PagerDuty/api-schema: reference/events-v2 and the REST
 * openapiv3.json):
 *  - the routing key is in the body, 32 alphanumeric characters, and names an integration on a service;
 *    anything else is a 400 "invalid event" with PagerDuty's wording ("Invalid routing key", "Length of
 *    'routing_key' is incorrect (should be 32 characters)"); there is no 401 on the Events API
 *  - a trigger needs payload.summary (≤ 1,024 characters), payload.source and a severity of
 *    critical/error/warning/info; dedup_key ≤ 255 and required unless triggering; the event ≤ 512 KB
 *  - a trigger with the dedup_key of an open alert (triggered or acknowledged) on the same service is
 *    deduplicated into it (appended to its log, the latest payload shown); with no open alert it raises a
 *    new alert and a new incident; acknowledge/resolve of an alert that is not open are accepted (202) and
 *    change nothing. Answer: 202 {"status":"success","message":"Event processed","dedup_key":…}
 *  - REST: `Authorization: Token token=<key>`, else 401 {"error":{"message":"Authentication failed","code":2006}};
 *    the incident list covers one month unless date_range=all, and an incident raised less than
 *    `processingLagMs` ago is not listed yet (events are processed asynchronously); a note needs a `From`
 *    header naming a user of the account, at most 2000 notes an incident
 * Stricter than PagerDuty on purpose: unknown top-level event fields are refused, so a builder slip shows.
 */
import type { Incident } from '../../../functions/core/model.js';
import type { RenderedMessage } from '../../../functions/render/types.js';
import { reply, routes, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

/** A PagerDuty message as render hands it over (one summary line), built by hand so tests need no templates. */
export function renderedPagerduty(incident: Incident, summary = `Sentinel incident ${incident.number ?? incident.key} (${incident.severity}): ${incident.title}`): RenderedMessage {
  return { kind: 'pagerduty', template: 'ticket', parts: { summary } };
}

export type FakePagerdutyStatus = 'triggered' | 'acknowledged' | 'resolved';

export interface FakePagerdutyEvent {
  action: 'trigger' | 'acknowledge' | 'resolve';
  body: Record<string, unknown>;
  at: number;
}

export interface FakePagerdutyAlert {
  dedupKey: string;
  serviceId: string;
  status: FakePagerdutyStatus;
  /** the latest trigger's payload: what the alert shows */
  payload: Record<string, unknown>;
  links: unknown[];
  /** every event that reached this alert, in order (its log) */
  log: FakePagerdutyEvent[];
  incident: FakePagerdutyIncident;
}

export interface FakePagerdutyIncident {
  id: string;
  number: number;
  incidentKey: string;
  serviceId: string;
  status: FakePagerdutyStatus;
  title: string;
  createdAt: number;
  notes: Array<{ id: string; content: string; from: string }>;
}

export interface FakePagerdutyOptions {
  /** routing key (integration key) → the id of the service its integration is on */
  integrations: Record<string, string>;
  /** REST API keys the account accepts */
  apiTokens?: string[];
  /** emails of the account's users (the From header of a note) */
  users?: string[];
  /** an incident raised less than this long ago is not listed by GET /incidents */
  processingLagMs?: number;
  /** PagerDuty does not echo the routing key; this fake can, to prove errors never carry it */
  echoRoutingKey?: boolean;
  now?: () => number;
}

export interface FakePagerduty {
  handler: FakeHandler;
  alerts: FakePagerdutyAlert[];
  incidents: FakePagerdutyIncident[];
  /** the alerts raised under a dedup key, oldest first */
  alertsFor(dedupKey: string): FakePagerdutyAlert[];
  /** the incidents raised under a dedup key, oldest first */
  incidentsFor(dedupKey: string): FakePagerdutyIncident[];
  /** every event accepted with a 202, in order */
  accepted: Array<Record<string, unknown>>;
}

const MAX_EVENT_BYTES = 512 * 1024;
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);
const ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const EVENT_FIELDS = new Set(['routing_key', 'event_action', 'dedup_key', 'payload', 'client', 'client_url', 'links', 'images']);
const PAYLOAD_FIELDS = new Set(['summary', 'source', 'severity', 'timestamp', 'component', 'group', 'class', 'custom_details']);
const MONTH_MS = 30 * 24 * 3600_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const chars = (s: string) => Array.from(s).length;

function invalidEvent(errors: string[]): FakeReply {
  return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors });
}

function restError(status: number, message: string, code: number, errors?: string[]): FakeReply {
  return reply(status, { error: { message, code, ...(errors ? { errors } : {}) } });
}

/** What PagerDuty checks of an event, as its 400 wording says it. */
function eventProblems(body: Record<string, unknown>, integrations: Record<string, string>, echo: boolean): string[] {
  const problems: string[] = [];
  const key = body.routing_key;
  if (typeof key !== 'string' || key === '') problems.push("'routing_key' is missing or blank");
  else if (key.length !== 32) problems.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  else if (!/^[A-Za-z0-9]+$/.test(key)) problems.push("'routing_key' cannot contain non-alphanumeric characters.");
  else if (!(key in integrations)) problems.push(echo ? `Invalid routing key ${key}` : 'Invalid routing key');
  for (const f of Object.keys(body)) if (!EVENT_FIELDS.has(f)) problems.push(`'${f}' is not a field of an event`);
  const action = body.event_action;
  if (typeof action !== 'string' || !ACTIONS.has(action)) problems.push("'event_action' is missing or invalid");
  const dedup = body.dedup_key;
  if (dedup !== undefined && (typeof dedup !== 'string' || dedup === '')) problems.push("'dedup_key' must be a non-empty string");
  if (typeof dedup === 'string' && chars(dedup) > 255) problems.push("'dedup_key' is too long (maximum is 255 characters)");
  if (action !== 'trigger' && dedup === undefined) problems.push("'dedup_key' is required for acknowledge and resolve events");
  if (action === 'trigger') {
    const p = body.payload;
    if (!isObject(p)) problems.push("'payload' is missing or not an object");
    else {
      for (const f of Object.keys(p)) if (!PAYLOAD_FIELDS.has(f)) problems.push(`'payload.${f}' is not a field of a payload`);
      if (typeof p.summary !== 'string' || p.summary.trim() === '') problems.push("'payload.summary' is missing or blank");
      else if (chars(p.summary) > 1024) problems.push("'payload.summary' is too long (maximum is 1024 characters)");
      if (typeof p.source !== 'string' || p.source.trim() === '') problems.push("'payload.source' is missing or blank");
      if (typeof p.severity !== 'string' || !SEVERITIES.has(p.severity)) problems.push("'payload.severity' must be one of critical, error, warning, info");
      if (p.timestamp !== undefined && (typeof p.timestamp !== 'string' || Number.isNaN(Date.parse(p.timestamp)))) problems.push("'payload.timestamp' is not an ISO 8601 date");
      if (p.custom_details !== undefined && !isObject(p.custom_details)) problems.push("'payload.custom_details' must be an object");
    }
  }
  if (body.links !== undefined) {
    const ok = Array.isArray(body.links) && body.links.every((l) => isObject(l) && typeof l.href === 'string' && /^https?:\/\//.test(l.href) && (l.text === undefined || typeof l.text === 'string'));
    if (!ok) problems.push("'links' must be a list of {href, text}");
  }
  if (body.client_url !== undefined && (typeof body.client_url !== 'string' || !/^https?:\/\//.test(body.client_url))) problems.push("'client_url' is not a URL");
  return problems;
}

export function createFakePagerduty(options: FakePagerdutyOptions): FakePagerduty {
  const now = options.now ?? Date.now;
  const alerts: FakePagerdutyAlert[] = [];
  const incidents: FakePagerdutyIncident[] = [];
  const accepted: Array<Record<string, unknown>> = [];
  let nextNumber = 1;
  let nextNote = 1;

  const incidentId = (n: number) => `Q${String(n).padStart(6, '0')}`;
  const openAlert = (serviceId: string, dedupKey: string) => alerts.find((a) => a.serviceId === serviceId && a.dedupKey === dedupKey && a.status !== 'resolved');
  const setStatus = (alert: FakePagerdutyAlert, status: FakePagerdutyStatus) => {
    alert.status = status;
    alert.incident.status = status;
  };

  function enqueue(req: RecordedRequest): FakeReply {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return invalidEvent(['Content-Type must be application/json']);
    if (Buffer.byteLength(req.body, 'utf8') > MAX_EVENT_BYTES) return invalidEvent(['Event object is larger than 512 KB']);
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return reply(400, { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['JSON parse error'] });
    }
    if (!isObject(body)) return reply(400, { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['not an object'] });
    const problems = eventProblems(body, options.integrations, options.echoRoutingKey === true);
    if (problems.length > 0) return invalidEvent(problems);
    const serviceId = options.integrations[body.routing_key as string]!;
    const action = body.event_action as FakePagerdutyEvent['action'];
    const dedupKey = typeof body.dedup_key === 'string' ? body.dedup_key : `generated-${alerts.length + 1}`;
    const entry: FakePagerdutyEvent = { action, body, at: now() };
    const open = openAlert(serviceId, dedupKey);
    if (action === 'trigger') {
      if (open) {
        open.log.push(entry);
        open.payload = body.payload as Record<string, unknown>;
      } else {
        const number = nextNumber++;
        const payload = body.payload as Record<string, unknown>;
        const incident: FakePagerdutyIncident = {
          id: incidentId(number),
          number,
          incidentKey: dedupKey,
          serviceId,
          status: 'triggered',
          title: payload.summary as string,
          createdAt: now(),
          notes: [],
        };
        incidents.push(incident);
        alerts.push({ dedupKey, serviceId, status: 'triggered', payload, links: Array.isArray(body.links) ? body.links : [], log: [entry], incident });
      }
    } else if (open) {
      open.log.push(entry);
      setStatus(open, action === 'acknowledge' ? 'acknowledged' : 'resolved');
    }
    accepted.push(body);
    return reply(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  const authorised = (req: RecordedRequest): FakeReply | null => {
    const m = /^Token token=(.+)$/.exec(req.headers.authorization ?? '');
    if (!m || !(options.apiTokens ?? []).includes(m[1]!)) return restError(401, 'Authentication failed', 2006);
    return null;
  };
  const visible = (i: FakePagerdutyIncident) => now() - i.createdAt >= (options.processingLagMs ?? 0);
  const incidentJson = (i: FakePagerdutyIncident) => ({
    id: i.id,
    type: 'incident',
    summary: `[#${i.number}] ${i.title}`,
    incident_number: i.number,
    title: i.title,
    status: i.status,
    incident_key: i.incidentKey,
    service: { id: i.serviceId, type: 'service_reference' },
    html_url: `https://contoso.pagerduty.com/incidents/${i.id}`,
    created_at: new Date(i.createdAt).toISOString(),
  });
  const byId = (id: string) => incidents.find((i) => i.id === id && visible(i));

  const rest: Record<string, FakeHandler> = {
    'GET /incidents': (req) => {
      const denied = authorised(req);
      if (denied) return denied;
      const key = req.query.get('incident_key');
      // the fake understands only the one query the kit may send; anything else is a bug in the kit
      if (!key) return restError(400, 'Invalid Input Provided', 2001, ['the fake PagerDuty lists incidents by incident_key only']);
      const limit = Number(req.query.get('limit') ?? '25');
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return restError(400, 'Invalid Input Provided', 2001, ['limit must be 1..100']);
      const services = req.query.getAll('service_ids[]');
      const all = req.query.get('date_range') === 'all';
      const sort = req.query.get('sort_by') ?? 'created_at:asc';
      if (!/^created_at:(asc|desc)$/.test(sort)) return restError(400, 'Invalid Input Provided', 2001, [`the fake PagerDuty does not sort by ${sort}`]);
      const hits = incidents
        .filter((i) => i.incidentKey === key && visible(i))
        .filter((i) => services.length === 0 || services.includes(i.serviceId))
        .filter((i) => all || now() - i.createdAt <= MONTH_MS)
        .sort((a, b) => (sort.endsWith('desc') ? b.createdAt - a.createdAt || b.number - a.number : a.createdAt - b.createdAt || a.number - b.number));
      return reply(200, { incidents: hits.slice(0, limit).map(incidentJson), limit, offset: 0, more: hits.length > limit, total: null });
    },
    'GET /incidents/:id/notes': (req, params) => {
      const denied = authorised(req);
      if (denied) return denied;
      const incident = byId(params.id ?? '');
      if (!incident) return restError(404, 'Not Found', 2100);
      return reply(200, { notes: incident.notes.map((n) => ({ id: n.id, content: n.content, user: { summary: n.from, type: 'user_reference' } })) });
    },
    'POST /incidents/:id/notes': (req, params) => {
      const denied = authorised(req);
      if (denied) return denied;
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return restError(400, 'Invalid Input Provided', 2001, ['Content-Type must be application/json']);
      const incident = byId(params.id ?? '');
      if (!incident) return restError(404, 'Not Found', 2100);
      const from = req.headers.from;
      if (typeof from !== 'string' || !(options.users ?? []).includes(from)) return restError(400, 'Invalid Input Provided', 2001, ['Requester User Not Found']);
      let body: unknown;
      try {
        body = JSON.parse(req.body);
      } catch {
        return restError(400, 'Invalid Input Provided', 2001, ['the body is not JSON']);
      }
      const content = isObject(body) && isObject(body.note) ? body.note.content : undefined;
      if (typeof content !== 'string' || content.trim() === '') return restError(400, 'Invalid Input Provided', 2001, ['Note content cannot be empty']);
      if (incident.notes.length >= 2000) return restError(400, 'Invalid Input Provided', 2001, ['An incident can have at most 2000 notes']);
      const note = { id: `N${nextNote++}`, content, from };
      incident.notes.push(note);
      return reply(200, { note: { id: note.id, content, user: { summary: from, type: 'user_reference' }, created_at: new Date(now()).toISOString() } });
    },
  };
  const restRoutes = routes(rest);

  const handler: FakeHandler = (req, params) => {
    if (req.path === '/v2/enqueue') return req.method === 'POST' ? enqueue(req) : reply(405, { status: 'invalid request', message: 'Method not allowed' });
    return restRoutes(req, params);
  };

  return {
    handler,
    alerts,
    incidents,
    accepted,
    alertsFor: (dedupKey) => alerts.filter((a) => a.dedupKey === dedupKey),
    incidentsFor: (dedupKey) => incidents.filter((i) => i.incidentKey === dedupKey),
  };
}
