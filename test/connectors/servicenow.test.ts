import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildServicenowPayload,
  neutraliseCodeTags,
  SERVICENOW_MAX_CORRELATION_ID,
  SERVICENOW_MAX_TEXT,
  servicenowCorrelationId,
  servicenowCorrelationIds,
  servicenowStates,
} from '../../functions/connectors/servicenow/payload.js';
import { createServicenowConnector } from '../../functions/connectors/servicenow/servicenow.js';
import { servicenowReceiver } from '../../functions/connectors/servicenow/schema.js';
import { outboxBody } from '../../functions/connectors/request.js';
import type { DeliveryRequest, Operation } from '../../functions/connectors/types.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import type { Change, Incident } from '../../functions/core/model.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { failWithProbability, reply, reset, serverError, startFakeServer, type FakeHandler, type FakeServer } from '../helpers/fake-server.js';
import { loadShippedTemplates } from '../render/shipped.js';
import { createFakeServicenow, hibernating, renderedServicenow, servicenowRateLimited, type FakeServicenowOptions } from './fakes/servicenow.js';

const USER = 'svc-sentinel-kit';
const PASSWORD = 'sn-test-password-0123456789';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const CLIENT_ID = '3f0c9a1e5b7d4c2a9e8f6b4d2c0a1e3f';
const CLIENT_SECRET = 'sn-test-client-secret+/=0123456789';
const WS = '8d300aff-d535-4430-9eef-3046965c48cf';
const TENANT = 'b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c';
const CODE_TAG = /\[\s*\/?\s*code\s*\]/i;
const reactivation: Change = { kind: 'status', from: 'Closed', to: 'Active', id: 'status:active#2' };

type Receiver = ReceiverOf<'servicenow'>;
const receiverFor = (instanceUrl: string | undefined, overrides: Partial<Receiver> = {}): Receiver =>
  servicenowReceiver.parse({ kind: 'servicenow', instanceUrl, username: 'env:SN_USER', password: 'env:SN_PASSWORD', ...overrides });

function ticketStep(action: 'upsert' | 'resolve', overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  return makeStep({ receiver: 'soc-servicenow', kind: 'servicenow', stepType: 'ticket', ticketAction: action, template: 'ticket', ...overrides });
}

const body = (p: { body: unknown }) => (p.body as { json: Record<string, string> }).json;
function payload(operation: Operation, receiver = receiverFor(undefined), rendered: RenderedMessage = renderedServicenow(), step = ticketStep('upsert')) {
  return buildServicenowPayload({ step, receiverName: 'soc-servicenow', receiver, rendered, operation, ticket: null });
}

describe('correlation_id', () => {
  it('is the key qualified by the workspace, by the tenant when only that is known, bare when neither is', () => {
    expect(servicenowCorrelationIds({ incident: makeIncident(), incidentKey: '3101' })).toEqual([`ws:${WS}:3101`, `tenant:${TENANT}:3101`]);
    const graph = makeIncident({ ids: { ...makeIncident().ids, workspaceId: null } });
    expect(servicenowCorrelationIds({ incident: graph, incidentKey: '3101' })).toEqual([`tenant:${TENANT}:3101`]);
    const none = makeIncident({ ids: { xdrIncidentId: null, sentinelName: null, sentinelArmId: null, tenantId: null, workspaceId: null } });
    expect(servicenowCorrelationIds({ incident: none, incidentKey: '3101' })).toEqual(['3101']);
  });

  it('is always a short id with no encoded-query syntax in it, whatever the event carried', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.option(fc.string({ maxLength: 80 })), (key, ws) => {
        const incident = makeIncident({ ids: { ...makeIncident().ids, workspaceId: ws } });
        return servicenowCorrelationIds({ incident, incidentKey: key }).every((id) => /^[A-Za-z0-9._:-]+$/.test(id) && id.length <= SERVICENOW_MAX_CORRELATION_ID);
      }),
    );
    const hostile = servicenowCorrelationId({ incident: makeIncident({ ids: { ...makeIncident().ids, workspaceId: 'x^ORcorrelation_id!=' } }), incidentKey: '1' });
    expect(hostile).toMatch(/^h:[0-9a-f]{40}$/);
  });
});

describe('buildServicenowPayload', () => {
  it('create: qualified correlation_id and display, levels from severity, a one-line note with the step\'s marker', () => {
    const p = payload('create');
    expect(p).toMatchObject({ method: 'POST', path: '/api/now/table/incident', contentType: 'application/json', format: 'servicenow.json' });
    expect(body(p)).toMatchObject({ correlation_id: `ws:${WS}:12345`, correlation_display: 'Microsoft Sentinel', urgency: '1', impact: '1' });
    // not the changes (the description has them): only what lets a retry recognise its own create
    expect(body(p).work_notes).toBe(`Created by Sentinel Playbook Kit for incident 12345. [spk:${'a'.repeat(16)}]`);
    const comments = body(payload('create', receiverFor(undefined, { noteField: 'comments' })));
    expect(comments).not.toHaveProperty('work_notes');
    expect(comments.comments).toMatch(/\[spk:a{16}\]$/);
  });

  it('every note ends with the step\'s marker token, which survives truncation', () => {
    const update = body(payload('update'));
    expect(Object.keys(update)).toEqual(['work_notes']);
    expect(update.work_notes).toBe(`Owner changed to Defender Experts; status Active.\n\n[spk:${'a'.repeat(16)}]`);
    const long = { ...renderedServicenow(), parts: { ...renderedServicenow().parts, work_notes: 'x'.repeat(40_000) } };
    const cut = payload('update', receiverFor(undefined), long);
    expect(body(cut).work_notes!.length).toBeLessThanOrEqual(SERVICENOW_MAX_TEXT);
    expect(body(cut).work_notes!.endsWith(`…\n\n[spk:${'a'.repeat(16)}]`)).toBe(true);
    expect(cut.truncated).toEqual(['work_notes']);
  });

  it('writes to comments instead when noteField says so', () => {
    const r = receiverFor(undefined, { noteField: 'comments' });
    expect(Object.keys(body(payload('update', r)))).toEqual(['comments']);
    expect(Object.keys(body(payload('resolve', r)))).toEqual(['state', 'close_code', 'close_notes', 'comments']);
  });

  it('resolve: the state mapping, with incident defaults and nothing guessed for other tables', () => {
    expect(body(payload('resolve'))).toMatchObject({ state: '6', close_code: 'Resolved by caller' });
    expect(servicenowStates(receiverFor(undefined))).toEqual({ resolved: '6', reopen: '2', done: ['6', '7', '8'], closeCode: 'Resolved by caller' });
    const sir = receiverFor(undefined, { table: 'sn_si_incident', resolvedState: '3' });
    expect(servicenowStates(sir)).toEqual({ resolved: '3', reopen: undefined, done: ['3'], closeCode: undefined });
    expect(payload('resolve', sir).path).toBe('/api/now/table/sn_si_incident/{sys_id}');
    expect(Object.keys(body(payload('resolve', sir)))).toEqual(['state', 'close_notes', 'work_notes']);
    // the resolved state always counts as done, or a retried resolve would add its note twice
    expect(servicenowStates(receiverFor(undefined, { doneStates: ['7'], resolvedState: '6' })).done).toEqual(['7', '6']);
  });

  it('the receiver schema refuses a non-incident table without resolvedState and a reopen state that counts as done', () => {
    const parse = (r: object) => servicenowReceiver.safeParse({ kind: 'servicenow', ...r });
    expect(parse({ table: 'sn_si_incident' }).error?.issues[0]).toMatchObject({ path: ['resolvedState'] });
    expect(parse({ table: 'sn_si_incident', resolvedState: '3' }).success).toBe(true);
    expect(parse({ reopenState: '6', doneStates: ['6', '7'] }).error?.issues[0]).toMatchObject({ path: ['reopenState'] });
    expect(parse({ resolvedState: 'Resolved ^OR' }).success).toBe(false);
  });

  it('neutralises a [code] tag even in template text, in every case and spacing', () => {
    expect(neutraliseCodeTags('a [code]<b>x</b>[/code] [CODE] [ /Code ] [codex] [spk:1]')).toBe('a ［code]<b>x</b>［/code] ［CODE] ［ /Code ] [codex] [spk:1]');
    const rendered = { ...renderedServicenow(), parts: { short_description: 'x [code]', description: '[Code]<img src=x>[/code]', work_notes: '[code]y[/code]' } };
    for (const op of ['create', 'update', 'resolve'] as const) {
      for (const v of Object.values(body(payload(op, receiverFor(undefined), rendered)))) expect(v).not.toMatch(CODE_TAG);
    }
  });
});

describe('ServiceNow connector against a fake instance', () => {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function setup(options: { fake?: FakeServicenowOptions; receiver?: Partial<Receiver>; wrap?: (h: FakeHandler) => FakeHandler } = {}) {
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const sn = createFakeServicenow({ username: USER, password: PASSWORD, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, now: () => clock, ...options.fake });
    const server = await startFakeServer(options.wrap ? options.wrap(sn.handler) : sn.handler);
    servers.push(server);
    const receiver = receiverFor(server.url, options.receiver);
    const env = { SN_USER: USER, SN_PASSWORD: PASSWORD, SN_CLIENT_ID: CLIENT_ID, SN_CLIENT_SECRET: CLIENT_SECRET };
    const connector = (extra: { onTicketCreated?: (t: TicketRef) => Promise<void>; env?: Record<string, string> } = {}) =>
      createServicenowConnector({ receiverName: 'soc-servicenow', receiver, env: extra.env ?? env, fetchTimeoutMs: 5000, now: () => clock, ...(extra.onTicketCreated ? { onTicketCreated: extra.onTicketCreated } : {}) });
    const request = (step: DeliveryStep, existingTicket: TicketRef | null = null, rendered = renderedServicenow(step.incident)): DeliveryRequest => ({
      step,
      receiverName: 'soc-servicenow',
      receiver,
      rendered,
      existingTicket,
    });
    const calls = () => server.requests.map((r) => `${r.method} ${r.path}`);
    return { sn, server, receiver, connector, request, calls, advance: (ms: number) => (clock += ms) };
  }
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the delivery to fail'); }, (e: unknown) => e as KitError);

  it('creates after a query finds none: method, path, query, auth, headers and the outbox body on the wire', async () => {
    const { sn, server, connector, request } = await setup();
    const result = await connector().execute(request(ticketStep('upsert')));
    const created = sn.records()[0]!;
    expect(result).toEqual({
      action: 'created',
      outbox: null,
      ticket: { receiver: 'soc-servicenow', incidentKey: '12345', id: created.sys_id, key: 'INC0010001', url: `${server.url}/incident.do?sys_id=${created.sys_id}`, state: 'open' },
    });
    const [find, create] = server.requests;
    expect(find).toMatchObject({ method: 'GET', path: '/api/now/table/incident' });
    expect(Object.fromEntries(find!.query)).toEqual({
      sysparm_query: `correlation_id=ws:${WS}:12345^ORcorrelation_id=tenant:${TENANT}:12345^ORDERBYsys_created_on`,
      sysparm_fields: 'sys_id,number,state,correlation_id',
      sysparm_limit: '10',
    });
    expect(create).toMatchObject({ method: 'POST', path: '/api/now/table/incident' });
    expect(create!.query.get('sysparm_fields')).toBe('sys_id,number,state,correlation_id');
    expect(create!.body).toBe(outboxBody(payload('create', receiverFor(server.url))));
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe(BASIC);
      expect(r.headers.accept).toBe('application/json');
    }
    expect(create!.headers['content-type']).toBe('application/json');
    expect(created).toMatchObject({ correlation_id: `ws:${WS}:12345`, correlation_display: 'Microsoft Sentinel', state: '1' });
  });

  it('takes no row it did not ask for: a query that returns every row (or a case-variant id) finds nothing', async () => {
    // an instance where the query's field is dropped: every row comes back
    const { sn, connector, request } = await setup({ wrap: (h) => (req, p) => (req.method === 'GET' && req.path === '/api/now/table/incident' ? h({ ...req, query: new URLSearchParams({ sysparm_fields: req.query.get('sysparm_fields') ?? '' }) }, p) : h(req, p)) });
    const other = makeIncident({ key: '777' });
    await connector().execute(request(ticketStep('upsert', { incident: other, incidentKey: '777' })));
    // 12345 gets its own record although 777's row came back
    const mine = await connector().execute(request(ticketStep('upsert')));
    expect(mine.action).toBe('created');
    expect(sn.records().map((r) => r.correlation_id)).toEqual([`ws:${WS}:777`, `ws:${WS}:12345`]);
    // and is found again among the rows, though it is not the first
    const again = await connector().execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) })));
    expect(again).toMatchObject({ action: 'updated', ticket: { id: sn.records()[1]!.sys_id } });
  });

  it('"=" ignores case in ServiceNow: a record whose id differs only in case is not this incident\'s', async () => {
    const { sn, server, connector, request } = await setup();
    const noTenant = { ...makeIncident().ids, tenantId: null };
    await connector().execute(request(ticketStep('upsert', { incident: makeIncident({ ids: { ...noTenant, workspaceId: WS.toUpperCase() } }) })));
    // the instance answers the query for the lower-case id with that row
    const asked = { method: 'GET', path: '/api/now/table/incident', query: new URLSearchParams({ sysparm_query: `correlation_id=ws:${WS}:12345` }), headers: { authorization: BASIC }, body: '' };
    expect(((await sn.handler(asked, {})) as { body: { result: unknown[] } }).body.result).toHaveLength(1);
    server.requests.length = 0;
    expect((await connector().execute(request(ticketStep('upsert', { incident: makeIncident({ ids: noTenant }) })))).action).toBe('created');
    expect(sn.records().map((r) => r.correlation_id)).toEqual([`ws:${WS.toUpperCase()}:12345`, `ws:${WS}:12345`]);
  });

  it('a table without correlation_id is refused before anything is created', async () => {
    const fields = ['sys_id', 'number', 'state', 'short_description', 'description', 'work_notes', 'sys_created_on'];
    const { sn, calls, connector, request } = await setup({ fake: { tables: [{ name: 'u_alerts', prefix: 'ALR', initialState: '1', fields }] }, receiver: { table: 'u_alerts', resolvedState: '3' } });
    // an empty table answers the query with no rows: the create's answer gives it away
    const first = await failure(connector().execute(request(ticketStep('upsert'))));
    expect(first).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-servicenow.table' } });
    expect(first.message).toContain('ALR0010001 was created but did not keep correlation_id');
    // with a row in it, the query returns that row without the field, and nothing more is created
    const second = await failure(connector().execute(request(ticketStep('upsert'))));
    expect(second).toMatchObject({ kind: 'config', message: expect.stringContaining('has no correlation_id field') });
    expect(sn.records('u_alerts')).toHaveLength(1);
    expect(calls().filter((c) => c.startsWith('POST'))).toHaveLength(1);
  });

  it('an incident first seen through Graph (tenant only) keeps its record once Sentinel adds the workspace', async () => {
    const { sn, connector, request } = await setup();
    const graph = makeIncident({ ids: { ...makeIncident().ids, workspaceId: null } });
    await connector().execute(request(ticketStep('upsert', { incident: graph })));
    const later = await connector().execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) })));
    expect(later.action).toBe('updated');
    expect(sn.records()).toHaveLength(1);
    expect(sn.records()[0]!.correlation_id).toBe(`tenant:${TENANT}:12345`);
  });

  it('looks for its note in the journal by record and token, and checks every row it gets back', async () => {
    const { sn, server, calls, connector, request } = await setup();
    const first = await connector().execute(request(ticketStep('upsert')));
    server.requests.length = 0;
    const step = ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) });
    await connector().execute(request(step, first.ticket));
    expect(calls()).toEqual(['GET /api/now/table/sys_journal_field', `PATCH /api/now/table/incident/${first.ticket!.id}`]);
    expect(Object.fromEntries(server.requests[0]!.query)).toEqual({
      sysparm_query: `element_id=${first.ticket!.id}^name=incident^valueLIKE[spk:${'b'.repeat(16)}]`,
      sysparm_fields: 'sys_id,element_id,element,value',
      sysparm_limit: '10',
    });
    expect(JSON.parse(server.requests[1]!.body)).toEqual({ work_notes: `Owner changed to Defender Experts; status Active.\n\n[spk:${'b'.repeat(16)}]` });
    await connector().execute(request(step, first.ticket));
    // the create's line, then this step's note, once
    expect(sn.journal(first.ticket!.id).map((j) => j.value.slice(-22))).toEqual([`[spk:${'a'.repeat(16)}]`, `[spk:${'b'.repeat(16)}]`]);
  });

  it('a journal query that ignores its conditions cannot make another record\'s note count', async () => {
    const { sn, connector, request } = await setup({ wrap: (h) => (req, p) => (req.path.endsWith('/sys_journal_field') ? h({ ...req, query: new URLSearchParams() }, p) : h(req, p)) });
    const a = await connector().execute(request(ticketStep('upsert')));
    const otherIncident = makeIncident({ key: '777' });
    const b = await connector().execute(request(ticketStep('upsert', { incident: otherIncident, incidentKey: '777' })));
    const note = ticketStep('upsert', { idempotencyKey: 'c'.repeat(64) });
    await connector().execute(request(note, a.ticket));
    // the same step key's note is on record a; record b still gets its own
    await connector().execute(request({ ...note, incident: otherIncident, incidentKey: '777' }, b.ticket));
    // each record: its create's line and the note
    expect([sn.journal(a.ticket!.id).length, sn.journal(b.ticket!.id).length]).toEqual([2, 2]);
  });

  it('lifecycle: create → note → resolve → reactivation reopens → close again, one record, one note each', async () => {
    const { sn, server, connector, request } = await setup();
    const store = new Map<string, TicketRef>();
    const deliver = async (step: DeliveryStep) => {
      const r = await connector({ onTicketCreated: async (t) => void store.set(t.incidentKey, t) }).execute(request(step, store.get(step.incidentKey) ?? null));
      if (r.ticket) store.set(step.incidentKey, r.ticket);
      return r;
    };
    expect((await deliver(ticketStep('upsert'))).action).toBe('created');
    expect((await deliver(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }))).action).toBe('updated');
    const resolved = await deliver(ticketStep('resolve', { idempotencyKey: 'c'.repeat(64) }));
    expect(resolved).toMatchObject({ action: 'resolved', ticket: { state: 'resolved' } });
    const id = resolved.ticket!.id;
    expect(sn.record(id)).toMatchObject({ state: '6', close_code: 'Resolved by caller', close_notes: 'Owner changed to Defender Experts; status Active.' });
    server.requests.length = 0;
    const reopened = await deliver(ticketStep('upsert', { idempotencyKey: 'd'.repeat(64), changes: [reactivation] }));
    expect(reopened).toMatchObject({ action: 'updated', ticket: { state: 'open' } });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /api/now/table/incident/${id}`, `PATCH /api/now/table/incident/${id}`]);
    expect(JSON.parse(server.requests[1]!.body)).toEqual({ state: '2', work_notes: `Owner changed to Defender Experts; status Active.\n\n[spk:${'d'.repeat(16)}]` });
    expect(sn.record(id)!.state).toBe('2');
    await deliver(ticketStep('resolve', { idempotencyKey: 'e'.repeat(64) }));
    expect(sn.record(id)!.state).toBe('6');
    expect(sn.records()).toHaveLength(1);
    expect(sn.journal(id).map((j) => j.value.slice(-22))).toEqual(['a', 'b', 'c', 'd', 'e'].map((k) => `[spk:${k.repeat(16)}]`));
  });

  it('a Closed incident is read-only: its reactivation is a terminal error that says so', async () => {
    const { sn, connector, request } = await setup();
    const created = await connector().execute(request(ticketStep('upsert')));
    sn.record(created.ticket!.id)!.state = '7';
    const err = await failure(connector().execute(request(ticketStep('upsert', { changes: [reactivation] }), { ...created.ticket!, state: 'resolved' })));
    expect(err).toMatchObject({ kind: 'terminal', statusCode: 403 });
    expect(err.message).toMatch(/is in state 7 and ServiceNow refuses to reopen it/);
  });

  it('a business rule that keeps the old state is reported, not taken for a resolve', async () => {
    const { connector, request } = await setup({ fake: { beforeUpdate: (_r, f) => void delete f.state } });
    const err = await failure(connector().execute(request(ticketStep('resolve'))));
    expect(err).toMatchObject({ kind: 'terminal', message: expect.stringContaining('kept state 1 instead of 6') });
  });

  it('Security Incident Response: sn_si_incident records with its own states', async () => {
    const { sn, connector, request } = await setup({ receiver: { table: 'sn_si_incident', resolvedState: '3', closeCode: 'Resolved' } });
    const r = await connector().execute(request(ticketStep('resolve')));
    expect(r).toMatchObject({ action: 'resolved', ticket: { key: 'SIR0010001', state: 'resolved' } });
    expect(sn.records('sn_si_incident')[0]).toMatchObject({ state: '3', close_code: 'Resolved', correlation_id: `ws:${WS}:12345` });
    expect(sn.records('incident')).toHaveLength(0);
  });

  it('[code] in incident text reaches no field on the wire, rendered by the shipped templates', async () => {
    const { server, connector, request } = await setup();
    const set = compileTemplates(loadShippedTemplates());
    const hostile = '[code]<img src=x onerror=alert(1)>[/code] [CODE]<script>alert(2)</script>[/CODE]';
    const incident = makeIncident({ title: hostile, description: hostile, classificationComment: hostile, devices: [{ name: hostile, id: null }] });
    let ticket: TicketRef | null = null;
    for (const [action, key] of [['upsert', 'a'], ['upsert', 'b'], ['resolve', 'c']] as const) {
      const step = ticketStep(action, { incident, idempotencyKey: key.repeat(64) });
      ticket = (await connector().execute(request(step, ticket, renderStep(set, step, { receiverName: 'soc-servicenow', ticket })))).ticket;
    }
    const writes = server.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => r.method)).toEqual(['POST', 'PATCH', 'PATCH']);
    // the incident's text is there, its tags defused
    expect(writes.every((r) => r.body.includes('［code]') && r.body.includes('［CODE]'))).toBe(true);
    for (const r of writes) for (const v of Object.values(JSON.parse(r.body) as Record<string, string>)) expect(v).not.toMatch(CODE_TAG);
  });

  const oauth = { clientId: 'env:SN_CLIENT_ID', clientSecret: 'env:SN_CLIENT_SECRET', username: undefined, password: undefined };

  describe('OAuth', () => {

    it('client credentials: one token for many deliveries, sent as a form, used as Bearer', async () => {
      const { sn, server, connector, request } = await setup({ receiver: oauth });
      const c = connector();
      const created = await c.execute(request(ticketStep('upsert')));
      await c.execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }), created.ticket));
      await c.execute(request(ticketStep('resolve', { idempotencyKey: 'c'.repeat(64) }), created.ticket));
      expect(sn.tokensIssued).toBe(1);
      const [token, ...api] = server.requests;
      expect(token).toMatchObject({ method: 'POST', path: '/oauth_token.do' });
      expect(token!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(new URLSearchParams(token!.body))).toEqual({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      expect(api.length).toBeGreaterThan(4);
      for (const r of api) expect(r.headers.authorization).toMatch(/^Bearer snow-at-/);
    });

    it('with a username and password too: the password grant', async () => {
      const { server, connector, request } = await setup({ receiver: { ...oauth, username: 'env:SN_USER', password: 'env:SN_PASSWORD' } });
      await connector().execute(request(ticketStep('upsert')));
      expect(Object.fromEntries(new URLSearchParams(server.requests[0]!.body))).toEqual({ grant_type: 'password', username: USER, password: PASSWORD, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    });

    it('refreshes a token a minute before it expires', async () => {
      const { sn, connector, request, advance } = await setup({ receiver: oauth, fake: { tokenLifespanS: 600 } });
      const c = connector();
      const created = await c.execute(request(ticketStep('upsert')));
      advance(530_000);
      await c.execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }), created.ticket));
      expect(sn.tokensIssued).toBe(1);
      advance(20_000);
      await c.execute(request(ticketStep('upsert', { idempotencyKey: 'c'.repeat(64) }), created.ticket));
      expect(sn.tokensIssued).toBe(2);
    });

    it('a cached token refused with 401 is refreshed once and the call made again; a fresh one refused is not', async () => {
      const { sn, server, calls, connector, request } = await setup({ receiver: oauth });
      const c = connector();
      const created = await c.execute(request(ticketStep('upsert')));
      sn.revokeTokens();
      server.requests.length = 0;
      const step = ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) });
      expect((await c.execute(request(step, created.ticket))).action).toBe('updated');
      expect(calls()).toEqual(['GET /api/now/table/sys_journal_field', 'POST /oauth_token.do', 'GET /api/now/table/sys_journal_field', `PATCH /api/now/table/incident/${created.ticket!.id}`]);
      expect(sn.journal(created.ticket!.id)).toHaveLength(2);
      // every token is refused: one refresh, then auth, no loop
      const refusing = await setup({ receiver: oauth, wrap: (h) => (req, p) => (req.path === '/oauth_token.do' ? h(req, p) : reply(401, { error: { message: 'User Not Authenticated', detail: null }, status: 'failure' })) });
      const err = await failure(refusing.connector().execute(refusing.request(ticketStep('upsert'))));
      expect(err).toMatchObject({ kind: 'auth', statusCode: 401 });
      expect(refusing.calls()).toEqual(['POST /oauth_token.do', 'GET /api/now/table/incident']);
    });

    it('a refused client is auth with a hint, and no secret in the error', async () => {
      const { connector, request, calls } = await setup({ receiver: oauth, fake: { clientCredentialsGrant: false } });
      const err = await failure(connector().execute(request(ticketStep('upsert'))));
      expect(err).toMatchObject({ kind: 'auth', statusCode: 401 });
      expect(err.message).toContain('allows the client_credentials grant');
      const wrong = await failure(connector({ env: { SN_CLIENT_ID: CLIENT_ID, SN_CLIENT_SECRET: 'wrong secret+/=' } }).execute(request(ticketStep('upsert'))));
      for (const e of [err, wrong]) {
        const text = `${e.message} ${String(e.cause)}`;
        for (const s of [CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET), 'wrong secret+/=', 'wrong+secret%2B%2F%3D']) expect(text).not.toContain(s);
      }
      expect(calls()).toEqual(['POST /oauth_token.do', 'POST /oauth_token.do']);
    });
  });

  describe('classified failures', () => {
    it('429 with Retry-After: rate-limited with that delay; X-RateLimit-Reset (epoch seconds) when that is all', async () => {
      let mode: 'retry-after' | 'reset' = 'retry-after';
      const { connector, request } = await setup({
        wrap: (h) => (req, p) => {
          if (req.method !== 'POST') return h(req, p);
          const limited = servicenowRateLimited(7);
          if (mode === 'reset') delete limited.headers!['retry-after'];
          return limited;
        },
      });
      expect(await failure(connector().execute(request(ticketStep('upsert'))))).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 7000 });
      mode = 'reset';
      const err = await failure(connector().execute(request(ticketStep('upsert'))));
      expect(err.kind).toBe('rate-limited');
      expect(err.retryAfterMs).toBeGreaterThan(5000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(8000);
    });

    it('a hibernating instance (200 with HTML) is retryable, never a success, at the token endpoint too', async () => {
      for (const receiver of [{}, oauth]) {
        const { connector, request, calls } = await setup({ receiver, wrap: () => () => hibernating() });
        expect(await failure(connector().execute(request(ticketStep('upsert'))))).toMatchObject({ kind: 'retryable', message: expect.stringContaining('hibernating') });
        expect(calls()).toEqual([receiver === oauth ? 'POST /oauth_token.do' : 'GET /api/now/table/incident']);
      }
    });

    it('a field ServiceNow refuses is terminal with its words; wrong Basic credentials are auth without the password', async () => {
      const { connector, request, receiver } = await setup({ wrap: (h) => (req, p) => (req.method === 'POST' ? reply(400, { error: { message: 'Invalid field value', detail: 'urgency' }, status: 'failure' }) : h(req, p)) });
      expect(await failure(connector().execute(request(ticketStep('upsert'))))).toMatchObject({ kind: 'terminal', statusCode: 400, message: expect.stringContaining('Invalid field value') });
      const wrong = createServicenowConnector({ receiverName: 'soc-servicenow', receiver, env: { SN_USER: USER, SN_PASSWORD: 'not-the-password-42' } });
      const err = await failure(wrong.execute(request(ticketStep('upsert'))));
      expect(err.kind).toBe('auth');
      expect(`${err.message} ${String(err.cause)}`).not.toContain('not-the-password-42');
    });

    it('missing or half-configured secrets are config errors before any request', async () => {
      const { server, receiver, request } = await setup();
      const run = (r: Receiver, env: Record<string, string>) => failure(createServicenowConnector({ receiverName: 'soc-servicenow', receiver: r, env }).execute(request(ticketStep('upsert'))));
      expect(await run(receiver, { SN_USER: USER })).toMatchObject({ kind: 'config', message: expect.stringContaining('env:SN_PASSWORD') });
      expect(await run({ ...receiver, password: undefined }, { SN_USER: USER })).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-servicenow.password' } });
      expect(await run({ ...receiver, username: undefined, password: undefined, clientId: 'env:SN_CLIENT_ID' }, { SN_CLIENT_ID: CLIENT_ID })).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-servicenow.clientSecret' } });
      expect(await run({ ...receiver, username: undefined, password: undefined }, {})).toMatchObject({ kind: 'config', message: expect.stringContaining('Basic auth') });
      expect(server.requests).toHaveLength(0);
    });
  });

  it('the process dies after ServiceNow accepted the create, before the ticket store heard of it: the retry finds it', async () => {
    const { sn, connector, request } = await setup();
    let accepted = false;
    // onTicketCreated never returns: the process is gone between the 201 and any write of ours
    void connector({ onTicketCreated: () => { accepted = true; return new Promise<void>(() => {}); } }).execute(request(ticketStep('upsert')));
    await expect.poll(() => accepted).toBe(true);
    const retry = await connector().execute(request(ticketStep('upsert')));
    expect(retry.action).toBe('updated');
    expect(sn.records()).toHaveLength(1);
    expect(retry.ticket!.id).toBe(sn.records()[0]!.sys_id);
  });

  it('the create\'s answer is lost after the record was made: the retry finds it and its marker, and repeats nothing', async () => {
    let lost = false;
    // the first create reaches the instance (the record is made) and its answer never comes back
    const loseCreate = (h: FakeHandler): FakeHandler => async (req, p) => {
      if (lost || req.method !== 'POST' || req.path !== '/api/now/table/incident') return h(req, p);
      lost = true;
      await h(req, p);
      return reset();
    };
    const { sn, server, calls, connector, request } = await setup({ wrap: loseCreate });
    const step = ticketStep('upsert');
    const err = await failure(connector().execute(request(step)));
    expect(err.kind).toBe('retryable');
    expect(sn.records()).toHaveLength(1);
    const id = sn.records()[0]!.sys_id!;
    server.requests.length = 0;
    const retry = await connector().execute(request(step));
    expect(retry.ticket!.id).toBe(id);
    expect(sn.records()).toHaveLength(1);
    // found by correlation_id, the create's marker found in the journal: no PATCH with the same changes
    expect(calls()).toEqual(['GET /api/now/table/incident', 'GET /api/now/table/sys_journal_field']);
    expect(sn.journal(id).map((j) => j.value)).toEqual([`Created by Sentinel Playbook Kit for incident 12345. [spk:${'a'.repeat(16)}]`]);
    // the next step still writes its note, once
    await connector().execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }), retry.ticket));
    expect(sn.journal(id).map((j) => j.value.slice(-22))).toEqual([`[spk:${'a'.repeat(16)}]`, `[spk:${'b'.repeat(16)}]`]);
  });

  it('30% of calls fail, half of them after ServiceNow acted: one record per incident, every one resolved', async () => {
    const flaky = (h: FakeHandler) => failWithProbability(0.15, 11, serverError(503), failWithProbability(0.15, 12, reset(), h, { when: 'after' }));
    const { sn, connector, request } = await setup({ wrap: flaky });
    const store = new Map<string, TicketRef>();
    const c = connector({ onTicketCreated: async (t) => void store.set(t.incidentKey, t) });
    const keys = Array.from({ length: 10 }, (_, i) => String(20000 + i));
    let retries = 0;
    for (const key of keys) {
      const incident: Incident = makeIncident({ key });
      for (const [action, k] of [['upsert', 'a'], ['upsert', 'b'], ['resolve', 'c']] as const) {
        const step = ticketStep(action, { incident, incidentKey: key, idempotencyKey: k.repeat(64) });
        for (let attempt = 1; ; attempt++) {
          try {
            const r = await c.execute(request(step, store.get(key) ?? null));
            if (r.ticket) store.set(key, r.ticket);
            break;
          } catch (e) {
            expect((e as KitError).kind).toBe('retryable');
            expect(attempt).toBeLessThan(50);
            retries++;
          }
        }
      }
    }
    expect(retries).toBeGreaterThan(10);
    for (const key of keys) {
      const records = sn.withCorrelation(`ws:${WS}:${key}`);
      expect(records).toHaveLength(1);
      expect(records[0]!.state).toBe('6');
      // a create whose answer was lost is found by its retry, which adds its changes as a note: once
      const notes = sn.journal(records[0]!.sys_id!).map((j) => j.value.slice(-22));
      expect(new Set(notes).size).toBe(notes.length);
      expect(notes.slice(-2)).toEqual([`[spk:${'b'.repeat(16)}]`, `[spk:${'c'.repeat(16)}]`]);
    }
  });
});
