/**
 * The Zendesk target's own behaviour against the fake Zendesk: the calls on the wire, Idempotency-Key
 * replay, the external_id lookup, private comments, solve / reopen, closed tickets and follow-ups, and
 * how each failure is classified.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createZendeskConnector } from '../../functions/connectors/zendesk/zendesk.js';
import { openZendeskTarget } from '../../functions/connectors/zendesk/target.js';
import { buildZendeskPayload } from '../../functions/connectors/zendesk/payload.js';
import { commentMarker } from '../../functions/connectors/tickets/engine.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import type { Change } from '../../functions/core/model.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { failTimes, rateLimited, reply, reset, startFakeServer, type FakeHandler, type FakeServer } from '../helpers/fake-server.js';
import { loadShippedTemplates } from '../render/shipped.js';
import { createFakeZendesk, renderedZendesk, type FakeZendeskOptions } from './fakes/zendesk.js';

const EMAIL = 'soc-bot@contoso.com';
const TOKEN = 'zd-test-token-0123456789abcdef';
const BASIC = `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}`;
const reactivation: Change = { kind: 'status', from: 'Closed', to: 'Active', id: 'status:active#2' };

function ticketStep(action: 'upsert' | 'resolve', overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  return makeStep({ receiver: 'soc-zendesk', kind: 'zendesk', stepType: 'ticket', ticketAction: action, template: 'ticket', ...overrides });
}
const key = (c: string) => c.repeat(64);

describe('Zendesk target against a fake Zendesk', () => {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function setup(options: FakeZendeskOptions = {}, wrap: (h: FakeHandler) => FakeHandler = (h) => h) {
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const zendesk = createFakeZendesk({ email: EMAIL, apiToken: TOKEN, now: () => clock, ...options });
    const server = await startFakeServer(wrap(zendesk.handler));
    servers.push(server);
    const receiver: ReceiverOf<'zendesk'> = { kind: 'zendesk', baseUrl: server.url, email: 'env:ZENDESK_EMAIL', apiToken: 'env:ZENDESK_API_TOKEN', groupId: 360001 };
    const env = { ZENDESK_EMAIL: EMAIL, ZENDESK_API_TOKEN: TOKEN };
    const connector = (extra: { onTicketCreated?: (t: TicketRef) => Promise<void> } = {}) =>
      createZendeskConnector({ receiverName: 'soc-zendesk', receiver, env, fetchTimeoutMs: 5000, ...extra });
    const request = (step: DeliveryStep, existingTicket: TicketRef | null = null): DeliveryRequest => ({
      step,
      receiverName: 'soc-zendesk',
      receiver,
      rendered: renderedZendesk(step.incident),
      existingTicket,
    });
    const deliver = (step: DeliveryStep, ticket: TicketRef | null = null) => connector().execute(request(step, ticket));
    const calls = () => server.requests.map((r) => `${r.method} ${r.rawUrl}`);
    return { zendesk, server, receiver, env, connector, request, deliver, calls, advance: (ms: number) => (clock += ms) };
  }

  it('creates after an external_id lookup finds nothing: method, path, auth, Idempotency-Key and the builder\'s body with the marker', async () => {
    const { zendesk, server, receiver, deliver } = await setup();
    const step = ticketStep('upsert');
    const result = await deliver(step);
    expect(result).toEqual({
      action: 'created',
      outbox: null,
      ticket: { receiver: 'soc-zendesk', incidentKey: '12345', id: '101', key: '#101', url: `${server.url}/agent/tickets/101`, state: 'open' },
    });
    const [list, create] = server.requests;
    expect(list).toMatchObject({ method: 'GET', path: '/api/v2/tickets.json' });
    expect(list!.query.get('external_id')).toBe('12345');
    expect(create).toMatchObject({ method: 'POST', path: '/api/v2/tickets.json' });
    expect(create!.headers['idempotency-key']).toBe(step.idempotencyKey);
    const built = buildZendeskPayload({ step, receiverName: 'soc-zendesk', receiver, rendered: renderedZendesk(step.incident), operation: 'create', ticket: null });
    const sent = JSON.parse(create!.body) as { ticket: { comment: { html_body: string } } };
    const expected = (built.body as { json: { ticket: { comment: { html_body: string } } } }).json;
    expect(sent).toEqual({ ticket: { ...expected.ticket, comment: { ...expected.ticket.comment, html_body: `${expected.ticket.comment.html_body}\n<p>${commentMarker(step.idempotencyKey).token}</p>` } } });
    expect(sent.ticket).toMatchObject({ external_id: '12345', group_id: 360001, comment: { public: false }, tags: ['sentinel', 'sentinel-12345'] });
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe(BASIC);
      expect(r.headers.accept).toBe('application/json');
    }
    expect(create!.headers['content-type']).toBe('application/json');
    expect(zendesk.withExternalId('12345')).toHaveLength(1);
  });

  it('the same create sent twice within Zendesk\'s window gets the first ticket back, not a second one', async () => {
    const { zendesk, receiver, env, request, advance } = await setup();
    const step = ticketStep('upsert');
    const ctx = { request: request(step), marker: commentMarker(step.idempotencyKey), createdHere: undefined };
    const target = () => openZendeskTarget({ receiverName: 'soc-zendesk', receiver, env });
    const first = await target().create(ctx);
    advance(60 * 60_000);
    const again = await target().create(ctx);
    expect(again).toEqual(first);
    expect(zendesk.replays).toBe(1);
    expect(zendesk.tickets).toHaveLength(1);
    // past the window Zendesk has forgotten the key: that is what the external_id lookup before a create is for
    advance(2 * 60 * 60_000);
    await target().create(ctx);
    expect(zendesk.tickets).toHaveLength(2);
  });

  it('a create answer lost after Zendesk acted: the retry finds the ticket, or, sent again, is replayed', async () => {
    // the first list is blind (an agent briefly edited the external_id), so the retry really posts again
    let hideList = false;
    const { zendesk, connector, request } = await setup({}, (h) => {
      const lossy = failTimes(1, reset(), h, { when: 'after' });
      return (req, params) => {
        if (req.method === 'POST') return lossy(req, params);
        if (hideList && req.method === 'GET' && req.path === '/api/v2/tickets.json') return reply(200, { tickets: [], next_page: null, previous_page: null, count: 0 });
        return h(req, params);
      };
    });
    const step = ticketStep('upsert');
    await expect(connector().execute(request(step))).rejects.toMatchObject({ kind: 'retryable' });
    hideList = true;
    const retry = await connector().execute(request(step));
    expect(retry).toMatchObject({ action: 'created', ticket: { id: '101' } });
    expect(zendesk.replays).toBe(1);
    expect(zendesk.tickets).toHaveLength(1);
  });

  it('the same key with a different body (a re-render) is Zendesk\'s IdempotentRequestError: the ticket it made is found and used', async () => {
    const { zendesk, receiver, env, request } = await setup();
    const step = ticketStep('upsert');
    const target = openZendeskTarget({ receiverName: 'soc-zendesk', receiver, env });
    const ctx = (subject: string) => ({ request: { ...request(step), rendered: renderedZendesk(step.incident, { subject }) }, marker: commentMarker(step.idempotencyKey), createdHere: undefined });
    const first = await target.create(ctx('first wording'));
    const second = await target.create(ctx('second wording'));
    expect(second.id).toBe(first.id);
    expect(zendesk.tickets).toHaveLength(1);
  });

  it('external_id is not unique and may match ignoring case: only an exact match counts, the oldest one wins', async () => {
    const { zendesk, deliver } = await setup();
    const other = makeIncident({ key: 'INC-ABC' });
    await deliver(ticketStep('upsert', { incident: other, incidentKey: other.key }));
    const mine = makeIncident({ key: 'inc-abc' });
    const created = await deliver(ticketStep('upsert', { incident: mine, incidentKey: mine.key, idempotencyKey: key('e') }));
    expect(created).toMatchObject({ action: 'created', ticket: { id: '102' } });
    // a duplicate someone made by hand, newer than the kit's
    zendesk.tickets.push({ ...zendesk.ticket(102)!, id: 150, created_at: new Date(Date.UTC(2026, 10, 27)).toISOString(), comments: [] });
    const found = await deliver(ticketStep('upsert', { incident: mine, incidentKey: mine.key, idempotencyKey: key('b') }));
    expect(found).toMatchObject({ action: 'updated', ticket: { id: '102' } });
    expect(zendesk.ticket(102)!.comments).toHaveLength(2);
    expect(zendesk.ticket(101)!.comments).toHaveLength(1);
  });

  it('updates are private comments carrying the marker; a redelivered update is not added again', async () => {
    const { zendesk, server, deliver, calls } = await setup();
    const created = await deliver(ticketStep('upsert'));
    server.requests.length = 0;
    const step = ticketStep('upsert', { idempotencyKey: key('b') });
    expect((await deliver(step, created.ticket)).action).toBe('updated');
    expect(calls()).toEqual(['GET /api/v2/tickets/101/comments.json?sort_order=desc', 'PUT /api/v2/tickets/101.json']);
    expect(JSON.parse(server.requests[1]!.body)).toEqual({
      ticket: { comment: { html_body: `${renderedZendesk(step.incident).parts.comment as string}\n<p>[spk:${'b'.repeat(16)}]</p>`, public: false } },
    });
    await deliver(step, created.ticket);
    expect(zendesk.ticket(101)!.comments.map((c) => c.public)).toEqual([false, false]);
  });

  it('lifecycle: create → update → solve on close → reopen (status open) on reactivation → solve again', async () => {
    const { zendesk, server, deliver } = await setup();
    const created = await deliver(ticketStep('upsert'));
    const updated = await deliver(ticketStep('upsert', { idempotencyKey: key('b') }), created.ticket);
    expect(updated.action).toBe('updated');
    const closedIncident = makeIncident({ status: 'Closed' });
    const resolved = await deliver(ticketStep('resolve', { idempotencyKey: key('c'), incident: closedIncident }), updated.ticket);
    expect(resolved).toMatchObject({ action: 'resolved', ticket: { state: 'resolved' } });
    const solve = server.requests.filter((r) => r.method === 'PUT').at(-1)!;
    expect(JSON.parse(solve.body)).toMatchObject({ ticket: { status: 'solved', comment: { public: false } } });
    expect(zendesk.ticket(101)!.status).toBe('solved');
    const reopened = await deliver(ticketStep('upsert', { idempotencyKey: key('d'), changes: [reactivation] }), resolved.ticket);
    expect(reopened).toMatchObject({ action: 'updated', ticket: { state: 'open' } });
    expect(JSON.parse(server.requests.filter((r) => r.method === 'PUT').at(-1)!.body)).toMatchObject({ ticket: { status: 'open', comment: { public: false } } });
    expect(zendesk.ticket(101)!.status).toBe('open');
    await deliver(ticketStep('resolve', { idempotencyKey: key('e'), incident: closedIncident }), reopened.ticket);
    expect(zendesk.ticket(101)!.status).toBe('solved');
    // the description and one comment per step, each marked
    expect(zendesk.ticket(101)!.comments.map((c) => /\[spk:([a-e])\1{15}\]/.exec(c.html_body)?.[1])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(zendesk.tickets).toHaveLength(1);
  });

  describe('a closed ticket is read-only: the changes go to its follow-up', () => {
    it('an update makes one open follow-up linked by via_followup_source_id; later updates reach the same follow-up', async () => {
      const { zendesk, deliver } = await setup();
      const resolved = await deliver(ticketStep('resolve'));
      zendesk.ticket(101)!.tags.push('agent-added');
      zendesk.close(101);
      const later = await deliver(ticketStep('upsert', { idempotencyKey: key('b') }), resolved.ticket);
      expect(later.action).toBe('updated');
      const followUp = zendesk.ticket(102)!;
      expect(followUp).toMatchObject({ via_followup_source_id: 101, external_id: '12345', status: 'open', tags: ['sentinel', 'sentinel-12345', 'agent-added'] });
      expect(followUp.comments).toHaveLength(1);
      expect(followUp.comments[0]!.html_body).toContain('Owner changed to');
      expect(followUp.comments[0]!.html_body).toContain('[spk:bbbbbbbbbbbbbbbb]');
      await deliver(ticketStep('upsert', { idempotencyKey: key('b') }), resolved.ticket);
      await deliver(ticketStep('upsert', { idempotencyKey: key('c') }), resolved.ticket);
      expect(zendesk.tickets).toHaveLength(2);
      expect(followUp.comments).toHaveLength(2);
      // a process that lost its store finds the follow-up, not the closed ticket
      expect((await deliver(ticketStep('upsert', { idempotencyKey: key('d') }))).ticket?.id).toBe('102');
    });

    it('a reactivated incident reopens as an open follow-up; closing it again solves the follow-up', async () => {
      const { zendesk, deliver } = await setup();
      const resolved = await deliver(ticketStep('resolve'));
      zendesk.close(101);
      const step = ticketStep('upsert', { idempotencyKey: key('b'), changes: [reactivation] });
      const reopened = await deliver(step, resolved.ticket);
      expect(reopened).toMatchObject({ action: 'updated', ticket: { id: '101', state: 'open' } });
      expect(zendesk.ticket(102)).toMatchObject({ status: 'open', via_followup_source_id: 101 });
      // the answer was lost and the store still says resolved: nothing more happens
      await deliver(step, resolved.ticket);
      expect(zendesk.tickets).toHaveLength(2);
      expect(zendesk.ticket(102)!.comments).toHaveLength(1);
      await deliver(ticketStep('resolve', { idempotencyKey: key('c'), incident: makeIncident({ status: 'Closed' }) }), reopened.ticket);
      expect(zendesk.ticket(102)!.status).toBe('solved');
      expect(zendesk.ticket(101)!.comments).toHaveLength(2);
    });

    it('a late change to a closed incident is recorded on a solved follow-up, once, even when the create answer is lost', async () => {
      const { zendesk, connector, request } = await setup({}, (h) => {
        let posts = 0;
        return async (req, params) => {
          if (req.method === 'POST' && ++posts === 2) {
            await h(req, params);
            return reset();
          }
          return h(req, params);
        };
      });
      const resolved = await connector().execute(request(ticketStep('resolve')));
      zendesk.close(101);
      const step = ticketStep('upsert', { idempotencyKey: key('b'), incident: makeIncident({ status: 'Closed', classification: 'TruePositive' }) });
      await expect(connector().execute(request(step, resolved.ticket))).rejects.toMatchObject({ kind: 'retryable' });
      expect(await connector().execute(request(step, resolved.ticket))).toMatchObject({ action: 'updated' });
      expect(zendesk.tickets).toHaveLength(2);
      expect(zendesk.ticket(102)).toMatchObject({ status: 'solved', via_followup_source_id: 101 });
      expect(zendesk.ticket(102)!.comments).toHaveLength(1);
    });

    it('a 422 that is not a closed ticket stays a terminal error with Zendesk\'s words', async () => {
      const { deliver } = await setup({}, (h) => (req, params) => (req.method === 'PUT' ? reply(422, { error: 'RecordInvalid', description: 'Record validation errors', details: { base: [{ description: 'Ticket has reached the comment limit' }] } }) : h(req, params)));
      const created = await deliver(ticketStep('upsert'));
      await expect(deliver(ticketStep('upsert', { idempotencyKey: key('b') }), created.ticket)).rejects.toMatchObject({
        kind: 'terminal',
        statusCode: 422,
        message: expect.stringContaining('comment limit'),
      });
    });
  });

  it('attacker text from the incident reaches Zendesk escaped by the shipped template, in one subject line', async () => {
    const { server, connector, receiver } = await setup();
    const incident = makeIncident({ title: 'Evil <img src=x onerror=alert(1)>\nSecond line', description: '<script>steal()</script> & [link](javascript:alert(1))' });
    const step = ticketStep('upsert', { incident });
    const rendered = renderStep(compileTemplates(loadShippedTemplates()), step, { receiverName: 'soc-zendesk', ticket: null });
    await connector().execute({ step, receiverName: 'soc-zendesk', receiver, rendered, existingTicket: null });
    const sent = JSON.parse(server.requests[1]!.body) as { ticket: { subject: string; comment: { html_body: string } } };
    expect(sent.ticket.subject).not.toMatch(/[\r\n]/);
    expect(sent.ticket.comment.html_body).not.toContain('<script>');
    expect(sent.ticket.comment.html_body).not.toContain('<img');
    expect(sent.ticket.comment.html_body).toContain('&lt;script&gt;');
  });

  describe('classified failures', () => {
    it('429 → rate-limited with Retry-After; nothing created', async () => {
      const { zendesk, deliver } = await setup({}, (h) => failTimes(1, rateLimited(17), h));
      await expect(deliver(ticketStep('upsert'))).rejects.toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 17_000 });
      expect(zendesk.tickets).toHaveLength(0);
    });

    it('409 (the ticket was changed by another request at that moment) → retryable', async () => {
      const { deliver } = await setup({}, (h) => (req, params) => (req.method === 'PUT' ? reply(409, { error: 'Conflict', description: 'Ticket was updated by another request' }) : h(req, params)));
      const created = await deliver(ticketStep('upsert'));
      await expect(deliver(ticketStep('upsert', { idempotencyKey: key('b') }), created.ticket)).rejects.toMatchObject({ kind: 'retryable', statusCode: 409 });
    });

    it('wrong token → auth after one request, the token in no error', async () => {
      const { server, receiver } = await setup();
      const wrong = createZendeskConnector({ receiverName: 'soc-zendesk', receiver, env: { ZENDESK_EMAIL: EMAIL, ZENDESK_API_TOKEN: 'zd-not-the-token-42' } });
      const err = await wrong
        .execute({ step: ticketStep('upsert'), receiverName: 'soc-zendesk', receiver, rendered: renderedZendesk(makeIncident()), existingTicket: null })
        .then(() => undefined, (e: unknown) => e as KitError);
      expect(err).toBeInstanceOf(KitError);
      expect(err?.kind).toBe('auth');
      expect(`${err?.message} ${String(err?.cause)}`).not.toContain('zd-not-the-token-42');
      expect(server.requests).toHaveLength(1);
    });

    it('a missing secret or endpoint is a config error before any request', async () => {
      const { server, receiver } = await setup();
      const req = { step: ticketStep('upsert'), receiverName: 'soc-zendesk', receiver, rendered: renderedZendesk(makeIncident()), existingTicket: null };
      await expect(createZendeskConnector({ receiverName: 'soc-zendesk', receiver, env: { ZENDESK_EMAIL: EMAIL } }).execute(req)).rejects.toMatchObject({
        kind: 'config',
        message: expect.stringContaining('env:ZENDESK_API_TOKEN'),
      });
      const outboxOnly = { ...receiver, baseUrl: undefined };
      await expect(createZendeskConnector({ receiverName: 'soc-zendesk', receiver: outboxOnly, env: {} }).execute({ ...req, receiver: outboxOnly })).rejects.toMatchObject({ kind: 'config' });
      expect(server.requests).toHaveLength(0);
    });
  });
});
