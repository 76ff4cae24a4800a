/**
 * The ServiceNow Table API as a ticket target: the small functions the ticket engine
 * (`../tickets/engine.ts`) calls. What is written (create, note, resolve, reopen) is the payload
 * builder's request (`./payload.ts`), the same one the outbox writes; the reads stay here.
 *
 *  find        GET  /api/now/table/<table>?sysparm_query=correlation_id=<id>^ORcorrelation_id=<id>^ORDERBYsys_created_on.
 *              A field the table does not have is dropped from the query, which then returns every row
 *              (unless glide.invalid_query.returns_no_rows is set), and "=" ignores case: so a row counts
 *              only when its correlation_id equals one of the incident's ids exactly, and a row without
 *              the field at all means the table cannot hold the kit's ids (terminal, before any create).
 *  create      POST /api/now/table/<table> with a one-line <noteField> ending with the step's marker (a retry
 *              whose create answer was lost finds it with hasComment); the answer must carry the correlation_id as sent
 *  hasComment  GET  /api/now/table/sys_journal_field?sysparm_query=element_id=<sys_id>^name=<table>^valueLIKE<token>,
 *              each row checked the same way (element_id, a journal field, the token in the value)
 *  comment     PATCH /api/now/table/<table>/<sys_id> {<noteField>}
 *  transition  GET the record's state: already in a done state → already there; else PATCH {state,
 *              close_code, close_notes, <noteField>} (one call, so the note needs no second one)
 *  reopen      (when a reopen state is known) the same, from a done state to reopenState
 *
 * The Table API reads the database, so a record or journal entry is visible to the next query at
 * once: settleMs is 0.
 */
import type { ServicenowReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { basicAuth, checkEndpointUrl, createTargetClient, successThatFailed, type HttpPolicy, type ResponseCheck, type SendResponse, type TargetClient } from '../http/index.js';
import { resolveSecret } from '../secrets.js';
import { sendArguments } from '../request.js';
import { payloadInputFor, type TicketContext, type TicketTarget, type TransitionOutcome } from '../tickets/engine.js';
import type { OutboundRequest, PayloadInput } from '../types.js';
import { servicenowOAuth, type ServicenowTokenCache } from './oauth.js';
import { buildServicenowPayload, servicenowCorrelationIds, servicenowReopenRequest, servicenowStates } from './payload.js';

export interface ServicenowTargetOptions {
  receiverName: string;
  receiver: ServicenowReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /** the connector's OAuth token cache (shared across deliveries); a target opened without one keeps its own */
  tokens?: ServicenowTokenCache;
  /** clock for token expiry */
  now?: () => number;
}

type Row = Record<string, unknown>;

const SYS_ID = /^[0-9a-f]{32}$/;
const TOKEN = /^\[spk:[0-9a-f]{16}\]$/;
const JOURNAL_FIELDS = new Set(['work_notes', 'comments']);
const RECORD_FIELDS = 'sys_id,number,state,correlation_id';

/**
 * A developer instance that is hibernating (or a login page in front of an instance) answers 200 with
 * HTML: nothing reached the Table API. Worth another try later, never a success.
 */
const servicenowCheck: ResponseCheck = (res, ctx) => {
  if (/\btext\/html\b/i.test(res.headers.get('content-type') ?? '')) {
    throw successThatFailed(res, ctx, 'retryable', 'the answer is an HTML page, not the Table API (instance hibernating, or a login page in front of it)');
  }
};

function query(params: Record<string, string>): string {
  return `?${new URLSearchParams(params).toString()}`;
}

/** Builds the target for one delivery; secrets are resolved here, so a missing one fails before any request. */
export function openServicenowTarget(options: ServicenowTargetOptions): TicketTarget {
  const { receiverName, receiver } = options;
  const env = options.env ?? process.env;
  const prefix = `receivers.${receiverName}`;
  const config = (message: string, field: string) => new KitError(message, { kind: 'config', where: { field: `${prefix}.${field}` } });
  if (receiver.instanceUrl === undefined) throw config(`${prefix}.instanceUrl is not set: this receiver delivers to the outbox, not to ServiceNow`, 'instanceUrl');
  const baseUrl = checkEndpointUrl(receiver.instanceUrl, `${prefix}.instanceUrl`).href.replace(/\/+$/, '');
  const secret = (field: 'username' | 'password' | 'clientId' | 'clientSecret') => resolveSecret(receiver[field], env, `${prefix}.${field}`);
  const [username, password, clientId, clientSecret] = [secret('username'), secret('password'), secret('clientId'), secret('clientSecret')];
  if ((username === undefined) !== (password === undefined)) throw config(`${prefix} needs both username and password, or neither`, username === undefined ? 'username' : 'password');
  if ((clientId === undefined) !== (clientSecret === undefined)) throw config(`${prefix} needs both clientId and clientSecret for OAuth, or neither`, clientId === undefined ? 'clientId' : 'clientSecret');
  let auth: HttpPolicy;
  if (clientId !== undefined && clientSecret !== undefined) {
    auth = servicenowOAuth({
      baseUrl,
      field: `${prefix}.instanceUrl`,
      credentials: { clientId, clientSecret, ...(username !== undefined && password !== undefined ? { username, password } : {}) },
      cache: options.tokens ?? {},
      timeoutMs: options.fetchTimeoutMs,
      check: servicenowCheck,
      ...(options.now ? { now: options.now } : {}),
    });
  } else if (username !== undefined && password !== undefined) {
    auth = basicAuth(username, password);
  } else {
    throw config(`${prefix} needs username and password (Basic auth) or clientId and clientSecret (OAuth) secret references`, 'username');
  }
  const client: TargetClient = createTargetClient({
    target: 'servicenow',
    baseUrl,
    field: `${prefix}.instanceUrl`,
    auth,
    check: servicenowCheck,
    timeoutMs: options.fetchTimeoutMs,
  });

  const table = receiver.table;
  const states = servicenowStates(receiver);
  const read = (ctx: TicketContext, path: string): Promise<SendResponse> =>
    client.send({ method: 'GET', path, headers: { accept: 'application/json' }, signal: ctx.request.signal });
  /** a request the payload builder made, sent as it is; `fields` only trims the answer */
  const write = (ctx: TicketContext, request: OutboundRequest, fields: string): Promise<SendResponse> =>
    client.send(sendArguments({ ...request, path: `${request.path}${query({ sysparm_fields: fields })}` }, { signal: ctx.request.signal }));
  const input = (ctx: TicketContext, ticket: TicketRef | null, operation: PayloadInput['operation']): PayloadInput<ServicenowReceiver> =>
    payloadInputFor(ctx, receiverName, receiver, ticket, operation);
  const ref = (ctx: TicketContext, row: { sys_id: string; number: unknown; state: unknown }): TicketRef => ({
    receiver: receiverName,
    incidentKey: ctx.request.step.incidentKey,
    id: row.sys_id,
    key: typeof row.number === 'string' && row.number !== '' ? row.number : null,
    url: `${baseUrl}/${table}.do${query({ sys_id: row.sys_id })}`,
    state: states.done.includes(String(row.state)) ? 'resolved' : 'open',
  });
  const terminal = (message: string, status?: number) => new KitError(`servicenow: ${message}`, { kind: 'terminal', ...(status === undefined ? {} : { statusCode: status }) });
  const rows = (res: SendResponse): Row[] => {
    const result = res.json<{ result?: unknown }>().result;
    if (!Array.isArray(result)) throw terminal(`the Table API answered without a result list`, res.status);
    return result.filter(isJsonObject);
  };
  const one = (res: SendResponse): Row => {
    const result = res.json<{ result?: unknown }>().result;
    if (!isJsonObject(result)) throw terminal(`the Table API answered without a result record`, res.status);
    return result;
  };
  /** the record's sys_id, checked before it goes into a path or a query (the store could hold anything) */
  const sysId = (ticket: TicketRef): string => {
    if (!SYS_ID.test(ticket.id)) throw terminal(`ticket id "${ticket.id.slice(0, 40)}" is not a ServiceNow sys_id`);
    return ticket.id;
  };
  const recordPath = (ticket: TicketRef) => `/api/now/table/${table}/${sysId(ticket)}`;
  const stateOf = async (ticket: TicketRef, ctx: TicketContext): Promise<string> =>
    String(one(await read(ctx, `${recordPath(ticket)}${query({ sysparm_fields: 'sys_id,state' })}`)).state ?? '');
  const name = (ticket: TicketRef) => ticket.key ?? ticket.id;

  /** PATCHes a new state with the note; a business rule that kept the old state is reported, not taken as done */
  async function move(ticket: TicketRef, ctx: TicketContext, request: OutboundRequest, want: string): Promise<TransitionOutcome> {
    const after = one(await write(ctx, request, 'sys_id,state')).state;
    if (after !== undefined && String(after) !== want) {
      throw terminal(`${table} ${name(ticket)} kept state ${String(after)} instead of ${want} (a business rule or data policy refused the change; the note was added)`);
    }
    return 'moved-with-comment';
  }

  return {
    name: 'servicenow',
    noun: 'record',
    label: 'ServiceNow',
    settleMs: 0,

    async find(ctx) {
      const ids = servicenowCorrelationIds(ctx.request.step);
      const condition = ids.map((id) => `correlation_id=${id}`).join('^OR');
      const res = await read(
        ctx,
        `/api/now/table/${table}${query({ sysparm_query: `${condition}^ORDERBYsys_created_on`, sysparm_fields: RECORD_FIELDS, sysparm_limit: '10' })}`,
      );
      const found = rows(res);
      if (found.some((r) => !('correlation_id' in r))) {
        throw new KitError(`servicenow: table ${table} has no correlation_id field, so the kit could never find its records again; use a table that extends task`, {
          kind: 'config',
          statusCode: res.status,
          where: { field: `${prefix}.table` },
        });
      }
      const hit = found.find((r) => typeof r.correlation_id === 'string' && ids.includes(r.correlation_id));
      if (!hit) return null;
      if (typeof hit.sys_id !== 'string' || !SYS_ID.test(hit.sys_id)) throw terminal(`the ${table} query returned a record without a sys_id`, res.status);
      return ref(ctx, { sys_id: hit.sys_id, number: hit.number, state: hit.state });
    },

    async create(ctx) {
      const request = buildServicenowPayload(input(ctx, null, 'create'));
      const res = await write(ctx, request, RECORD_FIELDS);
      const created = one(res);
      if (typeof created.sys_id !== 'string' || !SYS_ID.test(created.sys_id)) throw terminal(`the ${table} create answered without a sys_id`, res.status);
      const sent = (request.body as { json: { correlation_id: string } }).json.correlation_id;
      if (created.correlation_id !== sent) {
        // no query could ever find this record: every retry would make another one
        throw new KitError(
          `servicenow: ${table} ${String(created.number ?? created.sys_id)} was created but did not keep correlation_id "${sent}" (got ${JSON.stringify(created.correlation_id ?? null)}); the kit cannot find its records in this table`,
          { kind: 'config', statusCode: res.status, where: { field: `${prefix}.table` } },
        );
      }
      return ref(ctx, { sys_id: created.sys_id, number: created.number, state: created.state });
    },

    async hasComment(ticket, ctx) {
      const id = sysId(ticket);
      const { token } = ctx.marker;
      // the token is ours ([spk:<hex>]); checked so nothing else can ever reach the encoded query
      if (!TOKEN.test(token)) throw terminal('the comment marker is not a kit token');
      const res = await read(
        ctx,
        `/api/now/table/sys_journal_field${query({ sysparm_query: `element_id=${id}^name=${table}^valueLIKE${token}`, sysparm_fields: 'sys_id,element_id,element,value', sysparm_limit: '10' })}`,
      );
      return rows(res).some((r) => r.element_id === id && typeof r.element === 'string' && JOURNAL_FIELDS.has(r.element) && typeof r.value === 'string' && r.value.includes(token));
    },

    async comment(ticket, ctx) {
      sysId(ticket);
      await write(ctx, buildServicenowPayload(input(ctx, ticket, 'update')), 'sys_id');
    },

    async transition(ticket, ctx) {
      if (states.done.includes(await stateOf(ticket, ctx))) return 'already-there';
      return move(ticket, ctx, buildServicenowPayload(input(ctx, ticket, 'resolve')), states.resolved);
    },

    ...(states.reopen === undefined
      ? {}
      : {
          async reopen(ticket: TicketRef, ctx: TicketContext): Promise<TransitionOutcome> {
            const current = await stateOf(ticket, ctx);
            if (!states.done.includes(current)) return 'already-there';
            try {
              return await move(ticket, ctx, servicenowReopenRequest(input(ctx, ticket, 'update')), states.reopen as string);
            } catch (err) {
              // the GET just worked with these credentials: a 403 now is the record's write ACL (a Closed incident is read-only)
              if (err instanceof KitError && err.statusCode === 403 && current !== states.resolved) {
                throw new KitError(`servicenow: ${table} ${name(ticket)} is in state ${current} and ServiceNow refuses to reopen it (${err.message})`, {
                  kind: 'terminal',
                  statusCode: 403,
                });
              }
              throw err;
            }
          },
        }),
  };
}
