/**
 * The Freshservice target's own behaviour against the fake Freshservice: the calls on the wire, the tag
 * filter and its verification, private notes, status changes that never touch the tags, the in-doubt create,
 * and the receiver's per-minute call budget next to Freshservice's own 429.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createFreshserviceConnector, FRESHSERVICE_FILTER_SETTLE_MS } from '../../functions/connectors/freshservice/freshservice.js';
import { buildFreshservicePayload } from '../../functions/connectors/freshservice/payload.js';
import { FRESHSERVICE_DEFAULT_RATE_LIMIT_PER_MINUTE, minuteBudget } from '../../functions/connectors/freshservice/rate-limit.js';
import { commentMarker } from '../../functions/connectors/tickets/engine.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import type { Change } from '../../functions/core/model.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { failTimes, rateLimited, reply, serverError, startFakeServer, type FakeHandler, type FakeServer } from '../helpers/fake-server.js';
import { loadShippedTemplates } from '../render/shipped.js';
import { createFakeFreshservice, renderedFreshservice, type FakeFreshserviceOptions } from './fakes/freshservice.js';

const API_KEY = 'fs-test-key-0123456789abcdef';
const BASIC = `Basic ${Buffer.from(`${API_KEY}:X`).toString('base64')}`;
const reactivation: Change = { kind: 'status', from: 'Closed', to: 'Active', id: 'status:active#2' };
const key = (c: string) => c.repeat(64);
/** the query as it travels: percent-encoded, the single quotes too (the URL parser encodes them in a query) */
const filterQuery = (tag: string) => encodeURIComponent(`"tag:'${tag}'"`).replace(/'/g, '%27');

function ticketStep(action: 'upsert' | 'resolve', overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  return makeStep({ receiver: 'soc-freshservice', kind: 'freshservice', stepType: 'ticket', ticketAction: action, template: 'ticket', ...overrides });
}

describe('Freshservice target against a fake Freshservice', () => {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function setup(options: FakeFreshserviceOptions = {}, receiverOverrides: Partial<ReceiverOf<'freshservice'>> = {}, wrap: (h: FakeHandler) => FakeHandler = (h) => h) {
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const fs = createFakeFreshservice({ apiKey: API_KEY, now: () => clock, ...options });
    const server = await startFakeServer(wrap(fs.handler));
    servers.push(server);
    const receiver: ReceiverOf<'freshservice'> = { kind: 'freshservice', baseUrl: server.url, apiKey: 'env:FRESHSERVICE_API_KEY', requesterEmail: 'soc@contoso.example', groupId: 7, ...receiverOverrides };
    const connector = (extra: { onTicketCreated?: (t: TicketRef) => Promise<void>; apiKey?: string } = {}) =>
      createFreshserviceConnector({
        receiverName: 'soc-freshservice',
        receiver,
        env: { FRESHSERVICE_API_KEY: extra.apiKey ?? API_KEY },
        fetchTimeoutMs: 5000,
        now: () => clock,
        ...(extra.onTicketCreated ? { onTicketCreated: extra.onTicketCreated } : {}),
      });
    const request = (step: DeliveryStep, existingTicket: TicketRef | null = null, attempt?: number): DeliveryRequest => ({
      step,
      receiverName: 'soc-freshservice',
      receiver,
      rendered: renderedFreshservice(step.incident),
      existingTicket,
      ...(attempt === undefined ? {} : { attempt }),
    });
    const one = connector();
    const deliver = (step: DeliveryStep, ticket: TicketRef | null = null, attempt?: number) => one.execute(request(step, ticket, attempt));
    const calls = () => server.requests.map((r) => `${r.method} ${r.rawUrl}`);
    return { fs, server, receiver, connector, request, deliver, calls, advance: (ms: number) => (clock += ms) };
  }

  it('creates after the tag filter finds nothing: method, path, auth (key:X) and the builder\'s body with the marker', async () => {
    const { fs, server, receiver, deliver } = await setup();
    const step = ticketStep('upsert');
    const result = await deliver(step);
    expect(result).toMatchObject({ action: 'created', ticket: { receiver: 'soc-freshservice', incidentKey: '12345', id: '1', key: '#INC-1', url: `${server.url}/a/tickets/1`, state: 'open' } });
    const [filter, create] = server.requests;
    expect(filter).toMatchObject({ method: 'GET', path: '/api/v2/tickets/filter' });
    expect(filter!.query.get('query')).toBe(`"tag:'sentinel-12345'"`);
    expect(filter!.rawUrl).toBe(`/api/v2/tickets/filter?query=${filterQuery('sentinel-12345')}&page=1`);
    expect(create).toMatchObject({ method: 'POST', path: '/api/v2/tickets' });
    const built = buildFreshservicePayload({ step, receiverName: 'soc-freshservice', receiver, rendered: renderedFreshservice(step.incident), operation: 'create', ticket: null });
    const expected = (built.body as { json: Record<string, unknown> }).json;
    expect(JSON.parse(create!.body)).toEqual({ ...expected, description: `${expected.description as string}\n<p>${commentMarker(step.idempotencyKey).token}</p>` });
    expect(JSON.parse(create!.body)).toMatchObject({ email: 'soc@contoso.example', status: 2, priority: 3, source: 2, tags: ['sentinel', 'sentinel-12345'], group_id: 7 });
    for (const r of server.requests) expect(r.headers.authorization).toBe(BASIC);
    expect(create!.headers['content-type']).toBe('application/json');
    expect(fs.withTag('sentinel-12345')).toHaveLength(1);
  });

  it('the filter may match ignoring case and carries no tags: each hit is viewed with include=tags and must hold the tag exactly; the oldest wins', async () => {
    const { fs, server, connector, request, calls } = await setup();
    const upper = makeIncident({ key: 'INC-AB' });
    await connector().execute(request(ticketStep('upsert', { incident: upper, incidentKey: upper.key })));
    const lower = makeIncident({ key: 'inc-ab' });
    const mine = await connector().execute(request(ticketStep('upsert', { incident: lower, incidentKey: lower.key, idempotencyKey: key('b') })));
    expect(mine.ticket?.id).toBe('2');
    // a copy someone made by hand, newer: the filter lists it first
    fs.tickets.push({ ...fs.ticket(2)!, id: 9, notes: [] });
    server.requests.length = 0;
    const found = await connector().execute(request(ticketStep('upsert', { incident: lower, incidentKey: lower.key, idempotencyKey: key('c') })));
    expect(found).toMatchObject({ action: 'updated', ticket: { id: '2' } });
    expect(calls().slice(0, 3)).toEqual([
      `GET /api/v2/tickets/filter?query=${filterQuery('sentinel-inc-ab')}&page=1`,
      'GET /api/v2/tickets/1?include=tags',
      'GET /api/v2/tickets/2?include=tags',
    ]);
    expect(fs.ticket(2)!.notes).toHaveLength(1);
    expect(fs.ticket(1)!.notes).toHaveLength(0);
  });

  it('updates are private notes with the marker; a redelivered update adds none; a marker on a later page of notes is found', async () => {
    const { fs, server, deliver, calls } = await setup();
    const created = await deliver(ticketStep('upsert'));
    server.requests.length = 0;
    const step = ticketStep('upsert', { idempotencyKey: key('b') });
    await deliver(step, created.ticket, 1);
    // a first try cannot have made the ticket, so it does not read the description
    expect(calls()).toEqual(['GET /api/v2/tickets/1/conversations?page=1&per_page=100', 'POST /api/v2/tickets/1/notes']);
    expect(JSON.parse(server.requests[1]!.body)).toEqual({ body: `${renderedFreshservice(step.incident).parts.note as string}\n<p>[spk:${'b'.repeat(16)}]</p>`, private: true });
    for (let i = 0; i < 150; i++) fs.ticket(1)!.notes.push({ id: 90000 + i, body: `<p>agent note ${i}</p>`, private: true, created_at: '' });
    await deliver(step, created.ticket, 2);
    await deliver(step, created.ticket, 3);
    expect(fs.ticket(1)!.notes).toHaveLength(151);
    expect(fs.ticket(1)!.notes.every((n) => n.private)).toBe(true);
  });

  it('lifecycle: create → note → Resolved (4) → reopened to Open (2) → Closed by an agent → reopened again; tags never sent on an update', async () => {
    const { fs, server, deliver } = await setup();
    const created = await deliver(ticketStep('upsert'));
    const updated = await deliver(ticketStep('upsert', { idempotencyKey: key('b') }), created.ticket);
    const resolved = await deliver(ticketStep('resolve', { idempotencyKey: key('c'), incident: makeIncident({ status: 'Closed' }) }), updated.ticket);
    expect(resolved).toMatchObject({ action: 'resolved', ticket: { state: 'resolved' } });
    expect(fs.ticket(1)!.status).toBe(4);
    const reopened = await deliver(ticketStep('upsert', { idempotencyKey: key('d'), changes: [reactivation] }), resolved.ticket);
    expect(reopened).toMatchObject({ action: 'updated', ticket: { state: 'open' } });
    expect(fs.ticket(1)!.status).toBe(2);
    fs.ticket(1)!.status = 5;
    await deliver(ticketStep('upsert', { idempotencyKey: key('e'), changes: [reactivation] }), { ...reopened.ticket!, state: 'resolved' });
    expect(fs.ticket(1)!.status).toBe(2);
    const puts = server.requests.filter((r) => r.method === 'PUT').map((r) => JSON.parse(r.body) as unknown);
    expect(puts).toEqual([{ status: 4 }, { status: 2 }, { status: 2 }]);
    expect(fs.ticket(1)!.tags).toEqual(['sentinel', 'sentinel-12345']);
    expect(fs.ticket(1)!.notes.map((n) => /\[spk:([b-e])\1{15}\]/.exec(n.body)?.[1])).toEqual(['b', 'c', 'd', 'e']);
    expect(fs.tickets).toHaveLength(1);
  });

  it('a resolve on a ticket already Resolved or Closed changes no status, and still adds the changes once', async () => {
    const { fs, server, deliver } = await setup();
    const created = await deliver(ticketStep('upsert'));
    fs.ticket(1)!.status = 5;
    const step = ticketStep('resolve', { idempotencyKey: key('b') });
    await deliver(step, created.ticket);
    await deliver(step, created.ticket);
    expect(server.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
    expect(fs.ticket(1)).toMatchObject({ status: 5 });
    expect(fs.ticket(1)!.notes).toHaveLength(1);
  });

  it('a create whose answer was lost: re-queued after the filter settles, found then, and its retry adds no note (the marker is in the description)', async () => {
    let lose = true;
    const { fs, connector, request, advance } = await setup({ filterLagMs: 90_000 }, {}, (h) => async (req, params) => {
      if (lose && req.method === 'POST' && req.path === '/api/v2/tickets') {
        lose = false;
        await h(req, params);
        return serverError(503);
      }
      return h(req, params);
    });
    const step = ticketStep('upsert');
    const err = await connector().execute(request(step, null, 1)).then(() => undefined, (e: unknown) => e as KitError);
    expect(err).toMatchObject({ kind: 'retryable', statusCode: 503, retryAfterMs: FRESHSERVICE_FILTER_SETTLE_MS });
    expect(fs.tickets).toHaveLength(1);
    advance(err!.retryAfterMs!);
    // another process takes the step back from the queue: only the filter can tell
    const retry = await connector().execute(request(step, null, 2));
    expect(retry).toMatchObject({ action: 'updated', ticket: { id: '1' } });
    expect(fs.tickets).toHaveLength(1);
    expect(fs.ticket(1)!.notes).toHaveLength(0);
  });

  it('attacker text from the incident reaches Freshservice escaped by the shipped template', async () => {
    const { server, connector, receiver } = await setup();
    const incident = makeIncident({ title: 'Evil <img src=x onerror=alert(1)>\nSecond', description: '<script>steal()</script> & "quotes"' });
    const step = ticketStep('upsert', { incident });
    const rendered = renderStep(compileTemplates(loadShippedTemplates()), step, { receiverName: 'soc-freshservice', ticket: null });
    await connector().execute({ step, receiverName: 'soc-freshservice', receiver, rendered, existingTicket: null });
    const sent = JSON.parse(server.requests[1]!.body) as { subject: string; description: string };
    expect(sent.subject).not.toMatch(/[\r\n]/);
    expect(sent.description).not.toMatch(/<script|<img/);
    expect(sent.description).toContain('&lt;script&gt;');
  });

  describe('the per-minute budget and Freshservice\'s 429', () => {
    it('calls over rateLimitPerMinute are not sent: rate-limited until the window has room, and Freshservice never has to refuse', async () => {
      const { fs, connector, request, advance } = await setup({ limitPerMinute: 6 }, { rateLimitPerMinute: 6 });
      const c = connector();
      const done: string[] = [];
      let waits = 0;
      for (const incidentKey of ['1001', '1002', '1003', '1004']) {
        const incident = makeIncident({ key: incidentKey });
        const step = ticketStep('upsert', { incident, incidentKey, idempotencyKey: key(incidentKey.slice(-1)) });
        for (;;) {
          try {
            done.push((await c.execute(request(step))).action);
            break;
          } catch (e) {
            const err = e as KitError;
            expect(err.kind).toBe('rate-limited');
            expect(err.message).toContain('budget of 6 calls a minute');
            expect(err.retryAfterMs).toBeGreaterThan(0);
            expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
            waits++;
            advance(err.retryAfterMs!);
          }
        }
      }
      expect(done).toEqual(['created', 'created', 'created', 'created']);
      expect(waits).toBeGreaterThan(0);
      expect(fs.refused).toBe(0);
    });

    it('the default budget is 40 calls a minute, and a call it refuses is not counted', () => {
      let clock = 0;
      const budget = minuteBudget(FRESHSERVICE_DEFAULT_RATE_LIMIT_PER_MINUTE, () => clock);
      expect(budget.limit).toBe(40);
      const next = async () => reply(200, {}) as never;
      const send = () => budget.policy.sendRequest({ target: 'freshservice' } as never, next);
      return (async () => {
        clock = 1_000;
        for (let i = 0; i < 40; i++) await send();
        await expect(send()).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 60_000 });
        clock += 59_999;
        await expect(send()).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 1 });
        clock += 1;
        await expect(send()).resolves.toBeDefined();
        // the refused calls were not counted: only what was sent is
        expect(budget.used()).toBe(1);
      })();
    });

    it('429 with Retry-After: rate-limited with that delay, and the receiver sends nothing more until it has passed', async () => {
      const { fs, server, connector, request, advance } = await setup({}, { rateLimitPerMinute: 500 }, (h) => failTimes(1, rateLimited(20), h));
      const c = connector();
      await expect(c.execute(request(ticketStep('upsert')))).rejects.toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 20_000 });
      const sent = server.requests.length;
      advance(5_000);
      await expect(c.execute(request(ticketStep('upsert')))).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 15_000 });
      expect(server.requests.length).toBe(sent);
      advance(15_000);
      expect((await c.execute(request(ticketStep('upsert')))).action).toBe('created');
      expect(fs.tickets).toHaveLength(1);
    });
  });

  describe('classified failures', () => {
    it('wrong key → auth after one request, the key in no error', async () => {
      const { server, connector, request } = await setup();
      const err = await connector({ apiKey: 'fs-not-the-key-987654' })
        .execute(request(ticketStep('upsert')))
        .then(() => undefined, (e: unknown) => e as KitError);
      expect(err).toBeInstanceOf(KitError);
      expect(err?.kind).toBe('auth');
      expect(`${err?.message} ${String(err?.cause)}`).not.toContain('fs-not-the-key-987654');
      expect(server.requests).toHaveLength(1);
    });

    it('a key Freshservice echoes back in an error body is redacted', async () => {
      const { connector, request } = await setup({}, {}, (h) => (req, params) => (req.method === 'POST' ? reply(400, { description: 'Validation failed', errors: [{ field: 'x', message: `bad key ${API_KEY}`, code: 'invalid_value' }] }) : h(req, params)));
      const err = await connector().execute(request(ticketStep('upsert'))).then(() => undefined, (e: unknown) => e as KitError);
      expect(err).toMatchObject({ kind: 'terminal', statusCode: 400 });
      expect(err?.message).not.toContain(API_KEY);
    });

    it('a field Freshservice refuses (a mandatory field at resolution) → terminal with its words', async () => {
      const { deliver } = await setup({}, {}, (h) => (req, params) => (req.method === 'PUT' ? reply(400, { description: 'Validation failed', errors: [{ field: 'category', message: 'It should not be blank as this is a mandatory field', code: 'missing_field' }] }) : h(req, params)));
      const created = await deliver(ticketStep('upsert'));
      await expect(deliver(ticketStep('resolve', { idempotencyKey: key('b') }), created.ticket)).rejects.toMatchObject({
        kind: 'terminal',
        statusCode: 400,
        message: expect.stringContaining('mandatory field'),
      });
    });

    it('a missing key is a config error before any request', async () => {
      const { server, receiver } = await setup();
      const c = createFreshserviceConnector({ receiverName: 'soc-freshservice', receiver, env: {} });
      await expect(c.execute({ step: ticketStep('upsert'), receiverName: 'soc-freshservice', receiver, rendered: renderedFreshservice(makeIncident()), existingTicket: null })).rejects.toMatchObject({
        kind: 'config',
        message: expect.stringContaining('env:FRESHSERVICE_API_KEY'),
      });
      expect(server.requests).toHaveLength(0);
    });
  });
});
