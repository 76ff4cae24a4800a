/**
 * A loopback ServiceNow instance: the Table API on task tables (incident, sn_si_incident), the journal
 * (sys_journal_field) and the OAuth token endpoint, with the behaviour an integration trips over:
 *  - an encoded query drops a condition on a field the table does not have, so it may return every row
 *    (unless the instance sets glide.invalid_query.returns_no_rows);
 *  - "=" and LIKE ignore case (the database's collation);
 *  - body fields the table does not have are ignored, values are stored as strings;
 *  - journal fields (work_notes, comments), given on create as on update, become sys_journal_field rows
 *    and read back as '';
 *  - a record in a read-only state refuses writes with the ACL 403;
 *  - errors are `{"error":{"message","detail"},"status":"failure"}`.
 * Record and journal writes are visible to the next query at once, as the database is.
 */
import { createHash } from 'node:crypto';
import type { Incident } from '../../../functions/core/model.js';
import type { RenderedMessage } from '../../../functions/render/types.js';
import { makeIncident } from '../../fixtures/incident.js';
import { reply, routes, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

export interface FakeServicenowTable {
  name: string;
  /** number prefix: INC, SIR */
  prefix: string;
  initialState: string;
  /** states whose records a non-admin cannot update (incident: Closed) */
  readOnlyStates?: string[];
  /** the table's fields; default: task's (with correlation_id) */
  fields?: string[];
}

export interface FakeServicenowOptions {
  username?: string;
  password?: string;
  clientId?: string;
  clientSecret?: string;
  /** glide.oauth.inbound.client.credential.grant_type.enabled; default true */
  clientCredentialsGrant?: boolean;
  /** expires_in of issued tokens; ServiceNow's default is 1799 */
  tokenLifespanS?: number;
  tables?: FakeServicenowTable[];
  /** glide.invalid_query.returns_no_rows */
  invalidQueryReturnsNoRows?: boolean;
  /** false: sys_journal_field reads are refused by ACL */
  journalReadable?: boolean;
  /** a business rule run before an update is saved; it may change `fields` */
  beforeUpdate?: (record: Readonly<Record<string, string>>, fields: Record<string, string>) => void;
  now?: () => number;
}

export interface FakeJournalEntry {
  sys_id: string;
  element_id: string;
  name: string;
  element: string;
  value: string;
  sys_created_on: string;
}

export interface FakeServicenow {
  handler: FakeHandler;
  /** records of a table, oldest first */
  records(table?: string): Array<Record<string, string>>;
  record(sysId: string): Record<string, string> | undefined;
  /** journal entries of a record, oldest first */
  journal(sysId: string): FakeJournalEntry[];
  /** records whose correlation_id is exactly `id` */
  withCorrelation(id: string, table?: string): Array<Record<string, string>>;
  /** access tokens issued so far */
  readonly tokensIssued: number;
  /** every issued token stops working (revoked, instance restarted) */
  revokeTokens(): void;
}

const TASK_FIELDS = [
  'sys_id', 'number', 'state', 'active', 'short_description', 'description', 'urgency', 'impact', 'priority',
  'correlation_id', 'correlation_display', 'assignment_group', 'caller_id', 'close_code', 'close_notes',
  'work_notes', 'comments', 'sys_created_on', 'sys_updated_on',
];
const JOURNAL_TABLE_FIELDS = ['sys_id', 'element_id', 'name', 'element', 'value', 'sys_created_on'];
const JOURNAL_ELEMENTS = new Set(['work_notes', 'comments']);
const READ_ONLY = new Set(['sys_id', 'number', 'sys_created_on', 'sys_updated_on']);

export const DEFAULT_SERVICENOW_TABLES: FakeServicenowTable[] = [
  { name: 'incident', prefix: 'INC', initialState: '1', readOnlyStates: ['7'] },
  { name: 'sn_si_incident', prefix: 'SIR', initialState: '10', readOnlyStates: [] },
];

export function servicenowError(status: number, message: string, detail: string | null = null, headers?: Record<string, string>): FakeReply {
  return reply(status, { error: { message, detail }, status: 'failure' }, headers);
}

/** the 429 of an instance's rate limit rule: Retry-After seconds, X-RateLimit-Reset epoch seconds */
export function servicenowRateLimited(retryAfterS: number, now = Date.now()): FakeReply {
  return servicenowError(429, 'Rate limit exceeded', 'Rate limit of 100 requests per hour for Table API exceeded', {
    'retry-after': String(retryAfterS),
    'x-ratelimit-limit': '100',
    'x-ratelimit-reset': String(Math.ceil(now / 1000) + retryAfterS),
    'x-ratelimit-rule': 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
  });
}

/** what a hibernating developer instance answers to any request */
export const hibernating = (): FakeReply =>
  reply(200, '<html><head><title>Instance Hibernating page</title></head><body>Your instance is hibernating.</body></html>', { 'content-type': 'text/html;charset=UTF-8' });

type Condition = { field: string; op: string; value: string };
type Query = { groups: Condition[][]; order: Array<{ field: string; desc: boolean }>; invalid: boolean };

/** the encoded query grammar the kit uses: ^ (and), ^OR, =, !=, LIKE, STARTSWITH, IN, ORDERBY[DESC] */
function parseQuery(q: string, fields: string[]): Query {
  const out: Query = { groups: [], order: [], invalid: false };
  for (const token of q === '' ? [] : q.split('^')) {
    const orderBy = /^ORDERBY(DESC)?([a-z0-9_]+)$/.exec(token);
    if (orderBy) {
      if (fields.includes(orderBy[2]!)) out.order.push({ field: orderBy[2]!, desc: orderBy[1] === 'DESC' });
      continue;
    }
    const or = token.startsWith('OR');
    const m = /^([a-z0-9_]+)(!=|=|LIKE|STARTSWITH|IN)(.*)$/s.exec(or ? token.slice(2) : token);
    if (!m || !fields.includes(m[1]!)) {
      // an unknown field: the condition is dropped, the rest of the query still applies
      out.invalid = true;
      continue;
    }
    const condition = { field: m[1]!, op: m[2]!, value: m[3]! };
    const last = out.groups[out.groups.length - 1];
    if (or && last) last.push(condition);
    else out.groups.push([condition]);
  }
  return out;
}

function matches(row: Record<string, string>, c: Condition): boolean {
  const v = (row[c.field] ?? '').toLowerCase();
  const want = c.value.toLowerCase();
  switch (c.op) {
    case '=':
      return v === want;
    case '!=':
      return v !== want;
    case 'LIKE':
      return v.includes(want);
    case 'STARTSWITH':
      return v.startsWith(want);
    default:
      return want.split(',').includes(v);
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function createFakeServicenow(options: FakeServicenowOptions = {}): FakeServicenow {
  const now = options.now ?? Date.now;
  const tables = new Map((options.tables ?? DEFAULT_SERVICENOW_TABLES).map((t) => [t.name, t]));
  const rows = new Map<string, Array<Record<string, string>>>([...tables.keys()].map((t) => [t, []]));
  const journal: FakeJournalEntry[] = [];
  const tokens = new Map<string, number>();
  let counter = 0;
  let issued = 0;
  let numbers = 10000;
  let base = 'http://127.0.0.1';

  const newId = () => createHash('sha256').update(`fake-servicenow-${++counter}`).digest('hex').slice(0, 32);
  const stamp = () => new Date(now()).toISOString().replace('T', ' ').slice(0, 19);
  const fieldsOf = (table: string) => (table === 'sys_journal_field' ? JOURNAL_TABLE_FIELDS : (tables.get(table)?.fields ?? TASK_FIELDS));
  const notFound = () => servicenowError(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
  const find = (sysId: string) => {
    for (const [table, list] of rows) {
      const r = list.find((x) => x.sys_id === sysId);
      if (r) return { table, record: r };
    }
    return undefined;
  };

  /** what a GET shows of a row: the asked-for fields that exist (journal fields read as '') */
  function project(row: Record<string, string>, table: string, req: RecordedRequest): Record<string, string> {
    const known = fieldsOf(table);
    const asked = req.query.get('sysparm_fields');
    const wanted = asked ? asked.split(',').map((f) => f.trim()).filter((f) => known.includes(f)) : known;
    return Object.fromEntries(wanted.map((f) => [f, JOURNAL_ELEMENTS.has(f) && table !== 'sys_journal_field' ? '' : (row[f] ?? '')]));
  }

  function authenticated(req: RecordedRequest): boolean {
    const header = req.headers.authorization ?? '';
    if (options.username !== undefined && options.password !== undefined) {
      if (header === `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`) return true;
    }
    const bearer = /^Bearer (.+)$/.exec(header);
    const expires = bearer ? tokens.get(bearer[1]!) : undefined;
    return expires !== undefined && now() < expires;
  }

  /** the JSON object body of a POST/PATCH, or the reply ServiceNow gives instead */
  function body(req: RecordedRequest, table: string): { fields: Record<string, string> } | { reply: FakeReply } {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return { reply: servicenowError(415, 'Unsupported Media Type', 'Content-Type must be application/json') };
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body);
    } catch {
      return { reply: servicenowError(400, 'Exception while reading request', 'The payload is not valid JSON.') };
    }
    if (!isPlainObject(parsed)) return { reply: servicenowError(400, 'Exception while reading request', 'The payload must be a JSON object.') };
    const known = fieldsOf(table);
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v === 'object' && v !== null) return { reply: servicenowError(400, 'Invalid field value', `Field ${k} takes a string`) };
      // the Table API ignores what the table does not have
      if (known.includes(k) && !READ_ONLY.has(k)) fields[k] = String(v);
    }
    return { fields };
  }

  function save(table: string, record: Record<string, string>, fields: Record<string, string>): void {
    for (const [k, v] of Object.entries(fields)) {
      if (JOURNAL_ELEMENTS.has(k)) {
        if (v.trim() !== '') journal.push({ sys_id: newId(), element_id: record.sys_id!, name: table, element: k, value: v, sys_created_on: stamp() });
      } else record[k] = v;
    }
    record.sys_updated_on = stamp();
  }

  const table = routes({
    'POST /oauth_token.do': (req) => {
      if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return reply(400, { error: 'invalid_request', error_description: 'form body expected' });
      const form = new URLSearchParams(req.body);
      const denied = () => reply(401, { error_description: 'access_denied', error: 'server_error' });
      if (options.clientId === undefined || form.get('client_id') !== options.clientId || form.get('client_secret') !== options.clientSecret) return denied();
      const grant = form.get('grant_type');
      if (grant === 'client_credentials' && options.clientCredentialsGrant === false) return denied();
      if (grant === 'password' && (form.get('username') !== options.username || form.get('password') !== options.password)) return denied();
      if (grant !== 'client_credentials' && grant !== 'password') return reply(400, { error: 'unsupported_grant_type', error_description: 'unsupported grant type' });
      const lifespan = options.tokenLifespanS ?? 1799;
      const token = `snow-at-${createHash('sha256').update(`token-${++counter}`).digest('base64url').slice(0, 40)}`;
      tokens.set(token, now() + lifespan * 1000);
      issued++;
      return reply(200, { access_token: token, scope: 'useraccount', token_type: 'Bearer', expires_in: lifespan, ...(grant === 'password' ? { refresh_token: `snow-rt-${counter}` } : {}) });
    },

    'GET /api/now/table/:table': (req, params) => {
      const name = params.table ?? '';
      if (name === 'sys_journal_field' && options.journalReadable === false) return servicenowError(403, 'Operation Failed', 'ACL Exception Read Failed due to security constraints');
      const source = name === 'sys_journal_field' ? (journal as unknown as Array<Record<string, string>>) : rows.get(name);
      if (!source) return servicenowError(400, `Invalid table ${name}`);
      const q = parseQuery(req.query.get('sysparm_query') ?? '', fieldsOf(name));
      if (q.invalid && options.invalidQueryReturnsNoRows) return reply(200, { result: [] });
      let hits = source.filter((r) => q.groups.every((g) => g.some((c) => matches(r, c))));
      for (const o of [...q.order].reverse()) hits = [...hits].sort((a, b) => (a[o.field] ?? '').localeCompare(b[o.field] ?? '') * (o.desc ? -1 : 1));
      const limit = Number(req.query.get('sysparm_limit') ?? 10000);
      return reply(200, { result: hits.slice(0, limit).map((r) => project(r, name, req)) }, { 'x-total-count': String(hits.length) });
    },

    'GET /api/now/table/:table/:sys_id': (req, params) => {
      const found = find(params.sys_id ?? '');
      if (!found || found.table !== params.table) return notFound();
      return reply(200, { result: project(found.record, found.table, req) });
    },

    'POST /api/now/table/:table': (req, params) => {
      const name = params.table ?? '';
      const spec = tables.get(name);
      if (!spec) return servicenowError(400, `Invalid table ${name}`);
      const parsed = body(req, name);
      if ('reply' in parsed) return parsed.reply;
      const record: Record<string, string> = {
        sys_id: newId(),
        number: `${spec.prefix}${String(++numbers).padStart(7, '0')}`,
        state: spec.initialState,
        active: 'true',
        sys_created_on: stamp(),
      };
      save(name, record, parsed.fields);
      rows.get(name)!.push(record);
      return reply(201, { result: project(record, name, req) }, { location: `${base}/api/now/table/${name}/${record.sys_id}` });
    },

    'PATCH /api/now/table/:table/:sys_id': (req, params) => {
      const found = find(params.sys_id ?? '');
      if (!found || found.table !== params.table) return notFound();
      const parsed = body(req, found.table);
      if ('reply' in parsed) return parsed.reply;
      if (tables.get(found.table)?.readOnlyStates?.includes(found.record.state ?? '')) {
        return servicenowError(403, 'Operation Failed', 'ACL Exception Update Failed due to security constraints');
      }
      options.beforeUpdate?.(found.record, parsed.fields);
      save(found.table, found.record, parsed.fields);
      return reply(200, { result: project(found.record, found.table, req) });
    },
  });

  const handler: FakeHandler = (req, params) => {
    if (req.headers.host) base = `http://${req.headers.host}`;
    const accept = req.headers.accept;
    if (req.path !== '/oauth_token.do') {
      if (!authenticated(req)) return servicenowError(401, 'User Not Authenticated', 'Required to provide Auth information');
      if (accept !== undefined && !/application\/json|\*\/\*/i.test(accept)) return servicenowError(406, 'Not Acceptable', 'Only application/json is produced');
    }
    return table(req, params);
  };

  return {
    handler,
    records: (name = 'incident') => rows.get(name) ?? [],
    record: (sysId) => find(sysId)?.record,
    journal: (sysId) => journal.filter((j) => j.element_id === sysId),
    withCorrelation: (id, name = 'incident') => (rows.get(name) ?? []).filter((r) => r.correlation_id === id),
    get tokensIssued() {
      return issued;
    },
    revokeTokens: () => tokens.clear(),
  };
}

/** A rendered ServiceNow message built by hand, so connector tests do not depend on templates. */
export function renderedServicenow(incident: Incident = makeIncident()): RenderedMessage {
  return {
    kind: 'servicenow',
    template: 'ticket',
    parts: {
      short_description: `Sentinel incident ${incident.number ?? incident.key}: ${incident.title}`,
      description: `${incident.title}\n\n${incident.description}`,
      work_notes: `Owner changed to ${incident.owner.assignedTo ?? 'Unassigned'}; status ${incident.status}.`,
    },
  };
}
