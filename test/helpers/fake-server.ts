/**
 * Loopback stand-ins for the external APIs, with fault injection. Every server listens on an
 * ephemeral port of 127.0.0.1 (or ::1), so test files run in parallel without clashing and nothing
 * ever leaves the machine.
 *
 * Building blocks compose as plain handlers:
 *   startFakeServer(failWithProbability(0.3, seed, serverError(503), jira.handler, { when: 'after' }))
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** path without the query */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** the request-target exactly as sent (path and raw query), e.g. for recomputing a signature */
  rawUrl?: string;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  /** objects are sent as JSON with Content-Type application/json */
  body?: string | object;
}

/**
 * hang: never answer (the client's timeout must fire); reset: destroy the socket without a response
 * (ECONNRESET / "socket hang up"); stall-body: send the status line and part of the body, then hang;
 * reset-mid-body: send the status line and part of the body, then destroy the socket (no timeout needed).
 */
export type Fault =
  | { fault: 'hang' }
  | { fault: 'reset' }
  | { fault: 'stall-body'; status: number }
  | { fault: 'reset-mid-body'; status: number };

export type FakeResult = FakeReply | Fault;
export type FakeHandler = (req: RecordedRequest, params: Record<string, string>) => FakeResult | Promise<FakeResult>;
/** "METHOD /path/:param" → handler; unmatched requests get a 404 */
export type FakeRoutes = Record<string, FakeHandler>;

export interface FakeServer {
  /** base URL, e.g. http://127.0.0.1:53122 (no trailing slash) */
  url: string;
  requests: RecordedRequest[];
  /** TCP connections accepted so far: fewer than requests means connections were kept alive and reused */
  readonly connections: number;
  close(): Promise<void>;
}

export function reply(status: number, body?: string | object, headers?: Record<string, string>): FakeReply {
  const r: FakeReply = { status };
  if (body !== undefined) r.body = body;
  if (headers !== undefined) r.headers = headers;
  return r;
}

/** 429 with Retry-After as delta-seconds (number or string such as "2.128") or as an HTTP-date (Date). */
export function rateLimited(retryAfter?: number | string | Date, extraHeaders: Record<string, string> = {}): FakeReply {
  const headers: Record<string, string> = { ...extraHeaders };
  if (retryAfter instanceof Date) headers['retry-after'] = retryAfter.toUTCString();
  else if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return reply(429, { errorMessages: ['Rate limit exceeded.'], errors: {} }, headers);
}

export function serverError(status = 503, headers: Record<string, string> = {}): FakeReply {
  return reply(status, { errorMessages: ['Service temporarily unavailable.'], errors: {} }, headers);
}

export const hang = (): Fault => ({ fault: 'hang' });
export const reset = (): Fault => ({ fault: 'reset' });
export const stallBody = (status = 200): Fault => ({ fault: 'stall-body', status });
export const resetMidBody = (status = 200): Fault => ({ fault: 'reset-mid-body', status });

/** mulberry32: a tiny deterministic PRNG so a "30% failures" run is the same run every time. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Failure = FakeResult | FakeHandler;

async function failureResult(failure: Failure, req: RecordedRequest, params: Record<string, string>): Promise<FakeResult> {
  return typeof failure === 'function' ? failure(req, params) : failure;
}

export interface FailOptions {
  /**
   * before (default): fail without calling `next` — the target did nothing.
   * after: call `next` (its side effects happen, e.g. an issue is created) and answer with the failure
   * anyway — the lost-response case that turns naive retries into duplicates.
   */
  when?: 'before' | 'after';
}

async function failInstead(
  failure: Failure,
  next: FakeHandler,
  req: RecordedRequest,
  params: Record<string, string>,
  options: FailOptions,
): Promise<FakeResult> {
  if (options.when === 'after') await next(req, params);
  return failureResult(failure, req, params);
}

/** The first `n` requests fail with `failure`, the rest go to `next`. */
export function failTimes(n: number, failure: Failure, next: FakeHandler, options: FailOptions = {}): FakeHandler {
  let left = n;
  return async (req, params) => {
    if (left > 0) {
      left--;
      return failInstead(failure, next, req, params, options);
    }
    return next(req, params);
  };
}

/** Each request fails with probability `p`, drawn from a PRNG seeded with `seed`. */
export function failWithProbability(p: number, seed: number, failure: Failure, next: FakeHandler, options: FailOptions = {}): FakeHandler {
  const random = seededRandom(seed);
  return async (req, params) => (random() < p ? failInstead(failure, next, req, params, options) : next(req, params));
}

function compileRoute(spec: string): { method: string; pattern: RegExp; names: string[] } {
  const [method, path] = spec.split(' ');
  if (!method || !path) throw new Error(`route "${spec}" must look like "POST /rest/api/3/issue/:key"`);
  const names: string[] = [];
  const source = path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), names };
}

/** Turns a route table into one handler (404 for unknown paths, 405 for a known path with another method). */
export function routes(table: FakeRoutes): FakeHandler {
  const compiled = Object.entries(table).map(([spec, handler]) => ({ ...compileRoute(spec), handler }));
  return (req) => {
    let pathKnown = false;
    for (const r of compiled) {
      const m = r.pattern.exec(req.path);
      if (!m) continue;
      pathKnown = true;
      if (r.method !== req.method) continue;
      const params: Record<string, string> = {};
      r.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? '');
      });
      return r.handler(req, params);
    }
    return pathKnown
      ? reply(405, { errorMessages: [`Method ${req.method} is not allowed here.`], errors: {} })
      : reply(404, { errorMessages: ['Not found.'], errors: {} });
  };
}

export async function startFakeServer(
  handlerOrRoutes: FakeHandler | FakeRoutes,
  options: { host?: '127.0.0.1' | '::1' } = {},
): Promise<FakeServer> {
  const host = options.host ?? '127.0.0.1';
  const handler = typeof handlerOrRoutes === 'function' ? handlerOrRoutes : routes(handlerOrRoutes);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = new URL(req.url ?? '/', 'http://fake.invalid');
      const recorded: RecordedRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: target.pathname,
        query: target.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        rawUrl: req.url ?? '/',
      };
      requests.push(recorded);
      Promise.resolve()
        .then(() => handler(recorded, {}))
        .then((result) => {
          if ('fault' in result) {
            if (result.fault === 'reset') req.socket.destroy();
            else if (result.fault === 'stall-body' || result.fault === 'reset-mid-body') {
              res.writeHead(result.status, { 'content-type': 'application/json', 'content-length': '1000' });
              // the destroy must follow the written bytes, or the client may see a plain reset instead
              if (result.fault === 'reset-mid-body') res.write('{"partial":', () => setImmediate(() => req.socket.destroy()));
              else res.write('{"partial":');
            }
            return; // hang: leave the socket open until close()
          }
          const headers: Record<string, string> = { ...result.headers };
          let body = '';
          if (typeof result.body === 'string') body = result.body;
          else if (result.body !== undefined) {
            body = JSON.stringify(result.body);
            if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
          }
          res.writeHead(result.status, headers);
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`fake server handler failed: ${err instanceof Error ? err.message : String(err)}`);
        });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    connections++;
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = host === '::1' ? `http://[::1]:${port}` : `http://${host}:${port}`;

  return {
    url,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Fake Jira Cloud (REST v3): the endpoints the kit uses, with Jira-shaped errors.
// ---------------------------------------------------------------------------------------------

export interface FakeJiraTransition {
  id: string;
  name: string;
  /** target status name */
  to: string;
  toCategory?: 'new' | 'indeterminate' | 'done';
  /** statuses it is available from; any status other than `to` when absent */
  from?: string[];
}

export interface FakeJiraIssue {
  id: string;
  key: string;
  fields: {
    project: { key: string };
    issuetype: { name: string };
    summary: string;
    labels: string[];
    description: unknown;
  };
  status: { name: string; category: 'new' | 'indeterminate' | 'done' };
  comments: Array<{ id: string; body: unknown; properties?: unknown[] }>;
  /** issue properties set on create (`properties: [{key, value}]`), returned by GET issue?properties=… */
  properties?: Record<string, unknown>;
  createdAt: number;
}

export interface FakeJiraOptions {
  project: string;
  transitions?: FakeJiraTransition[];
  /** issues created less than this long ago are invisible to search/jql unless named in reconcileIssues */
  searchLagMs?: number;
  email?: string;
  apiToken?: string;
  issueTypes?: string[];
  /** clock for the search lag; tests advance it instead of sleeping */
  now?: () => number;
}

export interface FakeJira {
  handler: FakeHandler;
  issues: FakeJiraIssue[];
  issuesWithLabel(label: string): FakeJiraIssue[];
  countIssuesWithLabel(label: string): number;
  /** labels that more than one issue carries (duplicates), with their counts */
  duplicateLabels(prefix?: string): Record<string, number>;
  /** the issue by key or id */
  issue(keyOrId: string): FakeJiraIssue | undefined;
}

export const DEFAULT_JIRA_TRANSITIONS: FakeJiraTransition[] = [
  { id: '11', name: 'To Do', to: 'To Do', toCategory: 'new' },
  { id: '21', name: 'In Progress', to: 'In Progress', toCategory: 'indeterminate' },
  { id: '31', name: 'Done', to: 'Done', toCategory: 'done' },
];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function jiraError(status: number, errorMessages: string[], errors: Record<string, string> = {}): FakeReply {
  return reply(status, { errorMessages, errors });
}

/** The checks Jira applies to an ADF document that matter to the kit: shape, version, no empty text. */
function adfProblem(doc: unknown): string | null {
  if (!isObject(doc) || doc.type !== 'doc') return 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
  if (doc.version !== 1) return 'ADF version must be 1';
  if (!Array.isArray(doc.content)) return 'ADF doc needs a content array';
  const walk = (node: unknown): string | null => {
    if (!isObject(node) || typeof node.type !== 'string') return 'ADF node without a type';
    if (node.type === 'text' && (typeof node.text !== 'string' || node.text.length === 0)) return 'INVALID_INPUT: text nodes must not be empty';
    if (node.content !== undefined) {
      if (!Array.isArray(node.content)) return `ADF node ${node.type} has a content that is not an array`;
      for (const c of node.content) {
        const p = walk(c);
        if (p) return p;
      }
    }
    return null;
  };
  for (const c of doc.content) {
    const p = walk(c);
    if (p) return p;
  }
  return null;
}

const JQL = /^project\s*=\s*"?([A-Z][A-Z0-9_]*)"?\s+AND\s+labels\s*=\s*"([^"\\]+)"(?:\s+ORDER\s+BY\s+created\s+(?:ASC|DESC))?$/i;

export function createFakeJira(options: FakeJiraOptions): FakeJira {
  const transitions = options.transitions ?? DEFAULT_JIRA_TRANSITIONS;
  const issueTypes = options.issueTypes ?? ['Task', 'Bug', 'Incident'];
  const now = options.now ?? Date.now;
  const issues: FakeJiraIssue[] = [];
  let nextId = 10000;
  let nextNumber = 1;
  let nextCommentId = 20000;
  let base = 'http://127.0.0.1';

  const find = (keyOrId: string) => issues.find((i) => i.key === keyOrId || i.id === keyOrId);
  const notFound = () => jiraError(404, ['Issue does not exist or you do not have permission to see it.']);
  const available = (issue: FakeJiraIssue) =>
    transitions.filter((t) => t.to !== issue.status.name && (t.from === undefined || t.from.includes(issue.status.name)));
  const statusJson = (issue: FakeJiraIssue) => ({ name: issue.status.name, statusCategory: { key: issue.status.category } });
  const self = (issue: FakeJiraIssue) => `${base}/rest/api/3/issue/${issue.id}`;

  const guard = (req: RecordedRequest): FakeReply | null => {
    const host = req.headers.host;
    if (host) base = `http://${host}`;
    if (options.email !== undefined && options.apiToken !== undefined) {
      const expected = `Basic ${Buffer.from(`${options.email}:${options.apiToken}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        return reply(401, 'Client must be authenticated to access this resource.', { 'content-type': 'text/html' });
      }
    }
    if (req.method === 'POST' || req.method === 'PUT') {
      const ct = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(ct)) return jiraError(415, ['Unsupported Media Type: send application/json.']);
    }
    return null;
  };

  const parse = (req: RecordedRequest): { ok: true; value: unknown } | { ok: false; reply: FakeReply } => {
    try {
      return { ok: true, value: JSON.parse(req.body) };
    } catch {
      return { ok: false, reply: jiraError(400, ['Unexpected character in the request body: it is not valid JSON.']) };
    }
  };

  const table: FakeRoutes = {
    'POST /rest/api/3/issue': (req) => {
      const body = parse(req);
      if (!body.ok) return body.reply;
      const fields = isObject(body.value) && isObject(body.value.fields) ? body.value.fields : null;
      if (!fields) return jiraError(400, ['Request body must have "fields".']);
      const errors: Record<string, string> = {};
      const project = isObject(fields.project) ? fields.project.key : undefined;
      if (project !== options.project) errors.project = 'valid project is required';
      const issuetype = isObject(fields.issuetype) ? fields.issuetype.name : undefined;
      if (typeof issuetype !== 'string' || !issueTypes.includes(issuetype)) errors.issuetype = 'Specify a valid issue type';
      const summary = fields.summary;
      if (typeof summary !== 'string' || summary.trim() === '') errors.summary = 'You must specify a summary of the issue.';
      else if (Array.from(summary).length > 255) errors.summary = 'Summary must be less than 255 characters.';
      else if (/[\r\n]/.test(summary)) errors.summary = 'Field summary cannot contain line breaks.';
      const labels = fields.labels ?? [];
      if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || /\s/.test(l) || l.length > 255)) {
        errors.labels = 'Labels must be strings without spaces, at most 255 characters each.';
      }
      if (fields.description !== undefined) {
        const p = adfProblem(fields.description);
        if (p) errors.description = p;
      }
      const props = isObject(body.value) ? body.value.properties : undefined;
      if (props !== undefined && (!Array.isArray(props) || props.some((p) => !isObject(p) || typeof p.key !== 'string'))) errors.properties = 'properties must be an array of {key, value}.';
      if (Object.keys(errors).length > 0) return jiraError(400, [], errors);
      const issue: FakeJiraIssue = {
        ...(Array.isArray(props) ? { properties: Object.fromEntries((props as Array<{ key: string; value: unknown }>).map((p) => [p.key, p.value])) } : {}),
        id: String(nextId++),
        key: `${options.project}-${nextNumber++}`,
        fields: {
          project: { key: options.project },
          issuetype: { name: issuetype as string },
          summary: summary as string,
          labels: labels as string[],
          description: fields.description ?? null,
        },
        status: { name: 'To Do', category: 'new' },
        comments: [],
        createdAt: now(),
      };
      issues.push(issue);
      return reply(201, { id: issue.id, key: issue.key, self: self(issue) });
    },

    'POST /rest/api/3/search/jql': (req) => {
      const body = parse(req);
      if (!body.ok) return body.reply;
      const b = body.value;
      if (!isObject(b) || typeof b.jql !== 'string') return jiraError(400, ['The request body must contain "jql".']);
      const m = JQL.exec(b.jql.trim());
      // the fake understands only the one query shape the kit may send; anything else is a bug in the kit
      if (!m) return jiraError(400, [`Error in the JQL Query: the fake Jira does not accept '${b.jql}'.`]);
      const [, project, label] = m;
      const reconcile = b.reconcileIssues ?? [];
      if (!Array.isArray(reconcile) || reconcile.some((x) => typeof x !== 'number' || !Number.isInteger(x))) {
        return jiraError(400, ['reconcileIssues must be an array of issue ids (integers).']);
      }
      if (reconcile.length > 50) return jiraError(400, ['reconcileIssues accepts at most 50 issue ids.']);
      const maxResults = typeof b.maxResults === 'number' ? b.maxResults : 50;
      const lag = options.searchLagMs ?? 0;
      const t = now();
      const hits = issues.filter(
        (i) =>
          i.fields.project.key === project &&
          i.fields.labels.includes(label as string) &&
          (t - i.createdAt >= lag || reconcile.includes(Number(i.id))),
      );
      const wanted = Array.isArray(b.fields) ? (b.fields as unknown[]).filter((f): f is string => typeof f === 'string') : [];
      const page = hits.slice(0, maxResults).map((i) => {
        const out: Record<string, unknown> = {};
        if (wanted.includes('summary')) out.summary = i.fields.summary;
        if (wanted.includes('status')) out.status = statusJson(i);
        if (wanted.includes('labels')) out.labels = i.fields.labels;
        return { id: i.id, key: i.key, self: self(i), fields: out };
      });
      return reply(200, { issues: page, isLast: hits.length <= maxResults });
    },

    'GET /rest/api/3/issue/:key': (req, params) => {
      const issue = find(params.key ?? '');
      if (!issue) return notFound();
      const wanted = (req.query.get('properties') ?? '').split(',').filter(Boolean);
      return reply(200, {
        id: issue.id,
        key: issue.key,
        self: self(issue),
        ...(wanted.length ? { properties: Object.fromEntries(wanted.filter((k) => issue.properties?.[k] !== undefined).map((k) => [k, issue.properties![k]])) } : {}),
        fields: { summary: issue.fields.summary, labels: issue.fields.labels, status: statusJson(issue) },
      });
    },

    'POST /rest/api/3/issue/:key/comment': (req, params) => {
      const issue = find(params.key ?? '');
      if (!issue) return notFound();
      const body = parse(req);
      if (!body.ok) return body.reply;
      const doc = isObject(body.value) ? body.value.body : undefined;
      const p = adfProblem(doc);
      if (p) return jiraError(400, [], { comment: p });
      const properties = isObject(body.value) ? body.value.properties : undefined;
      if (properties !== undefined && !Array.isArray(properties)) return jiraError(400, [], { properties: 'properties must be an array.' });
      const comment = { id: String(nextCommentId++), body: doc, ...(properties ? { properties } : {}) };
      issue.comments.push(comment);
      return reply(201, { id: comment.id, self: `${self(issue)}/comment/${comment.id}`, body: doc });
    },

    'GET /rest/api/3/issue/:key/comment': (req, params) => {
      const issue = find(params.key ?? '');
      if (!issue) return notFound();
      const expand = (req.query.get('expand') ?? '').split(',').includes('properties');
      const newestFirst = req.query.get('orderBy') === '-created';
      const list = newestFirst ? [...issue.comments].reverse() : issue.comments;
      const max = Math.min(Number(req.query.get('maxResults') ?? 50), 100);
      return reply(200, {
        startAt: 0,
        maxResults: max,
        total: issue.comments.length,
        comments: list.slice(0, max).map((c) => ({ id: c.id, body: c.body, ...(expand ? { properties: c.properties ?? [] } : {}) })),
      });
    },

    'GET /rest/api/3/issue/:key/transitions': (_req, params) => {
      const issue = find(params.key ?? '');
      if (!issue) return notFound();
      return reply(200, {
        transitions: available(issue).map((t) => ({
          id: t.id,
          name: t.name,
          to: { name: t.to, statusCategory: { key: t.toCategory ?? 'indeterminate' } },
        })),
      });
    },

    'POST /rest/api/3/issue/:key/transitions': (req, params) => {
      const issue = find(params.key ?? '');
      if (!issue) return notFound();
      const body = parse(req);
      if (!body.ok) return body.reply;
      const b = body.value;
      const id = isObject(b) && isObject(b.transition) ? b.transition.id : undefined;
      const t = available(issue).find((x) => x.id === id);
      if (!t) return jiraError(400, [`Transition id '${String(id)}' is not valid for this issue.`]);
      const adds: Array<{ body: unknown; properties?: unknown[] }> = [];
      if (isObject(b) && b.update !== undefined) {
        const comment = isObject(b.update) ? b.update.comment : undefined;
        if (comment !== undefined) {
          if (!Array.isArray(comment)) return jiraError(400, [], { comment: 'update.comment must be an array of operations.' });
          for (const op of comment) {
            const doc = isObject(op) && isObject(op.add) ? op.add.body : undefined;
            const p = adfProblem(doc);
            if (p) return jiraError(400, [], { comment: p });
            const properties = isObject(op) && isObject(op.add) && Array.isArray(op.add.properties) ? (op.add.properties as unknown[]) : undefined;
            adds.push({ body: doc, ...(properties ? { properties } : {}) });
          }
        }
      }
      issue.status = { name: t.to, category: t.toCategory ?? 'indeterminate' };
      for (const add of adds) issue.comments.push({ id: String(nextCommentId++), ...add });
      return reply(204);
    },
  };

  const routed = routes(table);
  const handler: FakeHandler = (req, params) => guard(req) ?? routed(req, params);
  const issuesWithLabel = (label: string) => issues.filter((i) => i.fields.labels.includes(label));

  return {
    handler,
    issues,
    issuesWithLabel,
    countIssuesWithLabel: (label) => issuesWithLabel(label).length,
    duplicateLabels(prefix = 'sentinel-') {
      const counts: Record<string, number> = {};
      for (const i of issues) for (const l of i.fields.labels) if (l.startsWith(prefix)) counts[l] = (counts[l] ?? 0) + 1;
      return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 1));
    },
    issue: find,
  };
}

// ---------------------------------------------------------------------------------------------
// Fake Teams Workflows webhook ("When a Teams webhook request is received").
// ---------------------------------------------------------------------------------------------

export interface FakeTeamsOptions {
  /** the sig= the flow expects; a request without it gets the Logic Apps 401 */
  sig?: string;
  maxBytes?: number;
  /** status for an accepted message; Workflows answers 202 */
  acceptStatus?: number;
}

export interface FakeTeams {
  handler: FakeHandler;
  /** accepted envelopes, parsed */
  messages: unknown[];
  /** path a webhook URL should use: /workflows/<id>/triggers/manual/paths/invoke */
  path: string;
}

export function createFakeTeams(options: FakeTeamsOptions = {}): FakeTeams {
  const maxBytes = options.maxBytes ?? 28 * 1024;
  const messages: unknown[] = [];
  const path = '/workflows/6a9e2f00c1d94b7c8f5e0d4a3b2c1e0f/triggers/manual/paths/invoke';
  const bad = (message: string) => reply(400, { error: { code: 'InvalidRequestContent', message } });

  const handler: FakeHandler = (req) => {
    if (req.path !== path) return reply(404, { error: { code: 'WorkflowNotFound', message: 'The workflow was not found.' } });
    if (req.method !== 'POST') return reply(405, { error: { code: 'MethodNotAllowed', message: 'Use POST.' } });
    if (options.sig !== undefined && req.query.get('sig') !== options.sig) {
      return reply(401, {
        error: { code: 'DirectApiAuthorizationRequired', message: 'The request must be authenticated only by Shared Access scheme.' },
      });
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return bad('The request content type must be application/json.');
    if (Buffer.byteLength(req.body) > maxBytes) return reply(413, { error: { code: 'RequestEntityTooLarge', message: 'Request Entity too large' } });
    let m: unknown;
    try {
      m = JSON.parse(req.body);
    } catch {
      return bad('The request body is not valid JSON.');
    }
    if (!isObject(m) || m.type !== 'message') return bad('envelope "type" must be "message"');
    if (!Array.isArray(m.attachments) || m.attachments.length === 0) return bad('envelope needs a non-empty "attachments" array');
    for (const a of m.attachments) {
      if (!isObject(a) || a.contentType !== 'application/vnd.microsoft.card.adaptive') return bad('attachment contentType must be application/vnd.microsoft.card.adaptive');
      if (a.contentUrl !== undefined && a.contentUrl !== null) return bad('contentUrl must be null');
      const c = a.content;
      if (!isObject(c) || c.type !== 'AdaptiveCard') return bad('attachment content must be an AdaptiveCard');
      const v = typeof c.version === 'string' ? /^1\.(\d)$/.exec(c.version) : null;
      if (!v || Number(v[1]) > 5) return bad(`Teams renders Adaptive Cards up to 1.5, got ${String(c.version)}`);
    }
    messages.push(m);
    return reply(options.acceptStatus ?? 202);
  };
  return { handler, messages, path };
}

// ---------------------------------------------------------------------------------------------
// Fake Azure Communication Services data plane, access-key (HMAC-SHA256) auth. The fake recomputes
// the signature from the request as it arrived (raw path and query, Host header, body), with its
// own code, so a test passes only if the client signs what it actually sends. Error bodies follow
// the ACS `{ error: { code, message } }` shape; their exact wording is not from a captured response.
// ---------------------------------------------------------------------------------------------

export interface FakeAcsOptions {
  /** the resource's access key, base64 as the portal shows it */
  accessKey: string;
  /** clock the x-ms-date is judged by */
  now?: () => number;
  /** how far x-ms-date may be off; ACS allows 15 minutes */
  maxSkewMs?: number;
}

export interface FakeAcs {
  handler: FakeHandler;
  /** requests whose signature held */
  accepted: RecordedRequest[];
  /** why each refused request was refused, for test failure messages */
  rejections: string[];
}

export function createFakeAcs(options: FakeAcsOptions): FakeAcs {
  const key = Buffer.from(options.accessKey, 'base64');
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000;
  const now = options.now ?? Date.now;
  const accepted: RecordedRequest[] = [];
  const rejections: string[] = [];
  const denied = (why: string): FakeReply => {
    rejections.push(why);
    return reply(401, { error: { code: 'Denied', message: 'Denied by the resource provider.' } });
  };
  const one = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

  const api = routes({
    'POST /emails:send': () => reply(202, { id: 'op-1', status: 'Running' }, { 'operation-location': '/emails/operations/op-1?api-version=2023-03-31', 'retry-after': '30' }),
    'GET /emails/operations/:id': (_req, params) => reply(200, { id: params.id, status: 'Succeeded' }),
    'POST /sms': (req) => {
      const body = JSON.parse(req.body) as { smsRecipients?: Array<{ to?: string }> };
      const value = (body.smsRecipients ?? []).map((r, i) => ({ to: r.to, messageId: `m-${i}`, httpStatusCode: 202, repeatabilityResult: 'accepted', successful: true }));
      return reply(202, { value });
    },
  });

  const handler: FakeHandler = (req, params) => {
    const date = one(req.headers['x-ms-date']);
    const hash = one(req.headers['x-ms-content-sha256']);
    const authorization = one(req.headers.authorization);
    const host = one(req.headers.host);
    if (!date || !hash || !authorization || !host) return denied('x-ms-date, x-ms-content-sha256, Authorization and Host are all required');
    const at = Date.parse(date);
    if (Number.isNaN(at) || Math.abs(now() - at) > maxSkewMs) return denied(`x-ms-date ${date} is more than ${maxSkewMs} ms off`);
    if (hash !== createHash('sha256').update(req.body, 'utf8').digest('base64')) return denied('x-ms-content-sha256 is not the hash of the body');
    const m = /^HMAC-SHA256 SignedHeaders=([^&]+)&Signature=(.+)$/.exec(authorization);
    if (!m) return denied('Authorization is not HMAC-SHA256 SignedHeaders=…&Signature=…');
    if (m[1] !== 'x-ms-date;host;x-ms-content-sha256') return denied(`unexpected SignedHeaders ${m[1]}`);
    const toSign = `${req.method}\n${req.rawUrl ?? req.path}\n${date};${host};${hash}`;
    const expected = createHmac('sha256', key).update(toSign, 'utf8').digest();
    const given = Buffer.from(m[2] ?? '', 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return denied('signature does not match');
    accepted.push(req);
    return api(req, params);
  };
  return { handler, accepted, rejections };
}

// ---------------------------------------------------------------------------------------------
// Fake Slack: an incoming webhook (answers the text "ok") and the Web API's chat.postMessage
// (answers HTTP 200 with {ok:false, error} for everything but rate limits, which are 429 + Retry-After).
// ---------------------------------------------------------------------------------------------

export interface FakeSlackOptions {
  /** the bot token chat.postMessage accepts */
  botToken?: string;
  /** channel ids that exist */
  channels?: string[];
}

export interface FakeSlack {
  handler: FakeHandler;
  /** accepted messages (webhook and Web API), parsed */
  posted: unknown[];
  /** path of the incoming webhook: /services/T…/B…/<secret> */
  webhookPath: string;
  /** the next `n` calls are rate limited with Retry-After `seconds` */
  rateLimitNext(n: number, seconds: number): void;
}

export function createFakeSlack(options: FakeSlackOptions = {}): FakeSlack {
  const channels = options.channels ?? ['C0123456789'];
  const posted: unknown[] = [];
  const webhookPath = '/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';
  let limited = 0;
  let limitSeconds = 1;
  const slackError = (error: string) => reply(200, { ok: false, error });
  const parse = (body: string): Record<string, unknown> | null => {
    try {
      const v = JSON.parse(body) as unknown;
      return isObject(v) ? v : null;
    } catch {
      return null;
    }
  };

  const handler: FakeHandler = (req) => {
    if (limited > 0) {
      limited--;
      return reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limitSeconds) });
    }
    if (req.path.startsWith('/services/')) {
      if (req.path !== webhookPath) return reply(404, 'no_service', { 'content-type': 'text/html' });
      const body = parse(req.body);
      if (!body) return reply(400, 'invalid_payload', { 'content-type': 'text/html' });
      if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return reply(400, 'no_text', { 'content-type': 'text/html' });
      posted.push(body);
      return reply(200, 'ok', { 'content-type': 'text/html' });
    }
    if (req.method === 'POST' && req.path === '/api/chat.postMessage') {
      const authorization = req.headers.authorization;
      if (!authorization) return slackError('not_authed');
      if (options.botToken !== undefined && authorization !== `Bearer ${options.botToken}`) return slackError('invalid_auth');
      const body = parse(req.body);
      if (!body) return slackError('invalid_json');
      if (typeof body.channel !== 'string' || !channels.includes(body.channel)) return slackError('channel_not_found');
      if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return slackError('no_text');
      posted.push(body);
      return reply(200, { ok: true, channel: body.channel, ts: `1712345678.${String(posted.length).padStart(6, '0')}` });
    }
    return reply(404, { ok: false, error: 'unknown_method' });
  };
  return {
    handler,
    posted,
    webhookPath,
    rateLimitNext(n, seconds) {
      limited = n;
      limitSeconds = seconds;
    },
  };
}
