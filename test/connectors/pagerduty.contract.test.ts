/**
 * PagerDuty (engine + pagerduty/target.ts) against the fake PagerDuty, through the one ticket contract.
 *
 * The contract runs on a receiver with the REST API configured (apiToken, fromEmail, serviceId) and
 * `reopen: false`: that is the configuration in which PagerDuty can be read, so find, the comment marker
 * (a note) and "already resolved" mean what the contract means by them. Two settings differ from the real
 * service, and each is proven on its own in pagerduty.test.ts:
 *  - the fake lists an incident as soon as its trigger is accepted. PagerDuty processes events
 *    asynchronously; an in-doubt create waits PAGERDUTY_REST_SETTLE_MS for that, but four cases ("comment
 *    redelivered", "already resolved", "reopened", "failed transition") comment right after the create
 *    without moving the clock, when no note can be placed yet: the target then sends the event alone
 *    (pagerduty.test.ts, "events are processed asynchronously").
 *  - `reopen: false`: with the default (`reopen: true`) a reactivation triggers again, and PagerDuty, which
 *    cannot reopen a resolved incident, raises a second one under the same dedup key, where the contract
 *    expects the one ticket reopened.
 *
 * Below the contract: what each of its cases becomes on a receiver with the Events API only (routingKey),
 * which cannot be read. Those cases hold there in effect (one alert) but not as the contract words them;
 * each test says which part cannot apply and why.
 */
import { describe, expect, it } from 'vitest';
import { createPagerdutyConnector } from '../../functions/connectors/pagerduty/pagerduty.js';
import { pagerdutyDedupKey } from '../../functions/connectors/pagerduty/payload.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import type { Change } from '../../functions/core/model.js';
import { KitError } from '../../functions/core/errors.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { rateLimited, reset, resetMidBody, serverError, startFakeServer, type FakeHandler, type FakeResult, type RecordedRequest } from '../helpers/fake-server.js';
import { createFakePagerduty, renderedPagerduty, type FakePagerduty } from './fakes/pagerduty.js';
import { ticketTargetContract, type TicketCall, type TicketHarness } from './tickets/contract.js';

const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
const WRONG_ROUTING_KEY = 'Rffffffffffffffffffffffffffffffe';
const API_TOKEN = 'u+contract-rest-token-0123456789';
const WRONG_TOKEN = 'u+wrong-rest-token-9876543210zz';
const SERVICE = 'PSOC001';
const FROM = 'soc-bot@contoso.com';

/** the contract's call kinds on PagerDuty: reads are `find`; an event that raises an alert `create`, one into the open alert and a note `comment`, a resolve `transition` */
function callOf(pd: FakePagerduty, req: RecordedRequest): TicketCall | null {
  if (req.method === 'GET') return 'find';
  if (req.method !== 'POST') return null;
  if (req.path.endsWith('/notes')) return 'comment';
  if (req.path !== '/v2/enqueue') return null;
  let body: { event_action?: unknown; dedup_key?: unknown };
  try {
    body = JSON.parse(req.body) as typeof body;
  } catch {
    return null;
  }
  if (body.event_action === 'resolve') return 'transition';
  const open = pd.alerts.some((a) => a.dedupKey === body.dedup_key && a.status !== 'resolved');
  return body.event_action === 'trigger' && !open ? 'create' : 'comment';
}

interface Setup {
  rest: boolean;
}

async function startPagerduty(setup: Setup) {
  let clock = Date.UTC(2026, 10, 26, 9, 36);
  const pd = createFakePagerduty({ integrations: { [ROUTING_KEY]: SERVICE }, apiTokens: [API_TOKEN], users: [FROM], now: () => clock });
  const pending: Array<{ call: TicketCall; failure: FakeResult; when: 'before' | 'after'; left: number }> = [];
  const handler: FakeHandler = async (req, params) => {
    const call = callOf(pd, req);
    const hit = pending.find((p) => p.call === call && p.left > 0);
    if (!hit) return pd.handler(req, params);
    hit.left--;
    if (hit.when === 'after') await pd.handler(req, params);
    return hit.failure;
  };
  const server = await startFakeServer(handler);
  const receiver: ReceiverOf<'pagerduty'> = {
    kind: 'pagerduty',
    routingKey: 'env:PAGERDUTY_ROUTING_KEY',
    eventsUrl: server.url,
    source: 'microsoft-sentinel',
    reopen: !setup.rest,
    ...(setup.rest ? { apiToken: 'env:PAGERDUTY_API_TOKEN', apiUrl: server.url, fromEmail: FROM, serviceId: SERVICE } : {}),
  };
  const make = (env: Record<string, string>, onTicketCreated?: (t: TicketRef) => Promise<void>) =>
    createPagerdutyConnector({ receiverName: 'soc-pagerduty', receiver, env, fetchTimeoutMs: 5000, ...(onTicketCreated ? { onTicketCreated } : {}) });
  const good = { PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_API_TOKEN: API_TOKEN };
  const harness: TicketHarness = {
    receiverName: 'soc-pagerduty',
    kind: 'pagerduty',
    reopens: receiver.reopen,
    searchLagMs: 0,
    connector: (options = {}) => make(good, options.onTicketCreated),
    connectorWithWrongCredentials: () => make(setup.rest ? { ...good, PAGERDUTY_API_TOKEN: WRONG_TOKEN } : { ...good, PAGERDUTY_ROUTING_KEY: WRONG_ROUTING_KEY }),
    wrongSecret: setup.rest ? WRONG_TOKEN : WRONG_ROUTING_KEY,
    request: (step, existingTicket) => ({ step, receiverName: 'soc-pagerduty', receiver, rendered: renderedPagerduty(step.incident), existingTicket }),
    fail: (call, failure, options = {}) => pending.push({ call, failure, when: options.when ?? 'before', left: options.times ?? 1 }),
    tickets: (incidentKey) =>
      pd.incidentsFor(pagerdutyDedupKey(incidentKey)).map((i) => ({ state: i.status === 'resolved' ? 'resolved' : 'open', comments: i.notes.length })),
    requestCount: () => server.requests.length,
    advance: (ms) => {
      clock += ms;
    },
    close: () => server.close(),
  };
  return { pd, server, harness };
}

ticketTargetContract('pagerduty with the REST API (notes)', async () => (await startPagerduty({ rest: true })).harness);

describe('the contract cases on an Events-API-only receiver (nothing can be read back)', () => {
  const KEY = 'contract-4711';
  const DEDUP = pagerdutyDedupKey(KEY);
  const reactivation: Change = { kind: 'status', from: 'Closed', to: 'Active', id: 'status:active#2' };
  const step = (action: 'upsert' | 'resolve', key: string, changes?: Change[]): DeliveryStep =>
    makeStep({
      incident: makeIncident({ key: KEY }),
      incidentKey: KEY,
      receiver: 'soc-pagerduty',
      kind: 'pagerduty',
      stepType: 'ticket',
      ticketAction: action,
      template: 'ticket',
      idempotencyKey: key.repeat(64),
      ...(changes ? { changes } : {}),
    });

  async function eventsOnly() {
    const s = await startPagerduty({ rest: false });
    const deliver = (s2: DeliveryStep, ticket: TicketRef | null = null, connector = s.harness.connector()) => connector.execute(s.harness.request(s2, ticket));
    const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the delivery to fail'); }, (e: unknown) => e as KitError);
    const enqueued = () => s.server.requests.filter((r) => r.path === '/v2/enqueue').map((r) => (JSON.parse(r.body) as { event_action: string }).event_action);
    return { ...s, deliver, failure, enqueued };
  }

  it('response lost after create: one alert; the retry reports "created", not "updated", because it cannot see the first', async () => {
    for (const lost of [reset(), serverError(502), resetMidBody(202)]) {
      const { pd, harness, deliver, failure } = await eventsOnly();
      try {
        harness.fail('create', lost, { when: 'after' });
        const err = await failure(deliver(step('upsert', 'a')));
        expect(err.kind).toBe('retryable');
        const retry = await deliver(step('upsert', 'a'));
        // the contract expects "updated" (the retry found the ticket); here the repeated trigger is deduplicated instead
        expect(retry.action).toBe('created');
        expect(pd.alertsFor(DEDUP)).toHaveLength(1);
        expect(pd.alertsFor(DEDUP)[0]!.log.map((e) => e.action)).toEqual(['trigger', 'trigger']);
      } finally {
        await harness.close();
      }
    }
  });

  it('lagging search index: nothing lags, so nothing waits (settleMs 0); the same process or another, one alert', async () => {
    const first = await eventsOnly();
    try {
      const one = first.harness.connector();
      await first.deliver(step('upsert', 'a'), null, one);
      await first.deliver(step('upsert', 'b'), null, one);
      expect(first.pd.incidentsFor(DEDUP)).toHaveLength(1);
    } finally {
      await first.harness.close();
    }
    const other = await eventsOnly();
    try {
      other.harness.fail('create', reset(), { when: 'after' });
      const err = await other.failure(other.deliver(step('upsert', 'a')));
      expect(err.retryAfterMs).toBeUndefined();
      await other.deliver(step('upsert', 'a'));
      expect(other.pd.incidentsFor(DEDUP)).toHaveLength(1);
    } finally {
      await other.harness.close();
    }
  });

  it('comment redelivered: no marker can be read, so each try sends the update again; PagerDuty takes it into the same alert', async () => {
    const { pd, harness, deliver, failure, enqueued } = await eventsOnly();
    try {
      const created = await deliver(step('upsert', 'a'));
      harness.fail('comment', reset(), { when: 'after' });
      expect((await failure(deliver(step('upsert', 'b'), created.ticket))).kind).toBe('retryable');
      await deliver(step('upsert', 'b'), created.ticket);
      await deliver(step('upsert', 'b'), created.ticket);
      // the step hands the incident to Defender Experts: an acknowledge, which repeats harmlessly
      expect(enqueued()).toEqual(['trigger', 'acknowledge', 'acknowledge', 'acknowledge']);
      expect(pd.alertsFor(DEDUP)).toHaveLength(1);
      expect(pd.alertsFor(DEDUP)[0]!.status).toBe('acknowledged');
    } finally {
      await harness.close();
    }
  });

  it('ticket already resolved: a late close is accepted and changes nothing; a late update is not sent (a trigger would page again)', async () => {
    const { pd, harness, deliver, enqueued } = await eventsOnly();
    try {
      const resolved = await deliver(step('resolve', 'a'));
      expect(resolved).toMatchObject({ action: 'resolved', ticket: { id: DEDUP, state: 'resolved' } });
      expect((await deliver(step('resolve', 'b'), { ...resolved.ticket!, state: 'open' })).action).toBe('resolved');
      const late = await deliver(step('upsert', 'c'), resolved.ticket);
      expect(late.action).toBe('updated');
      // the contract expects the late changes as one comment: the Events API has no comment, and an event
      // to a resolved alert would be a new trigger, a new incident and a new page
      expect(enqueued()).toEqual(['trigger', 'resolve', 'resolve']);
      expect(pd.incidentsFor(DEDUP).map((i) => i.status)).toEqual(['resolved']);
    } finally {
      await harness.close();
    }
  });

  it('incident reopened: triggered again, so PagerDuty raises a second incident under the same dedup key (it cannot reopen one)', async () => {
    const { pd, harness, deliver } = await eventsOnly();
    try {
      const resolved = await deliver(step('resolve', 'a'));
      const reopened = await deliver(step('upsert', 'b', [reactivation]), resolved.ticket);
      expect(reopened).toMatchObject({ action: 'updated', ticket: { id: DEDUP, state: 'open' } });
      // the store wrote "open": the redelivery is an update into the new open alert, not another incident
      await deliver(step('upsert', 'b', [reactivation]), reopened.ticket);
      expect(pd.incidentsFor(DEDUP).map((i) => i.status)).toEqual(['resolved', 'triggered']);
    } finally {
      await harness.close();
    }
  });

  it('429 with Retry-After: rate-limited with that delay, nothing raised; the retry raises one alert', async () => {
    const { pd, harness, deliver, failure } = await eventsOnly();
    try {
      harness.fail('create', rateLimited(7));
      expect(await failure(deliver(step('upsert', 'a')))).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 7000 });
      expect(pd.alerts).toHaveLength(0);
      expect((await deliver(step('upsert', 'a'))).action).toBe('created');
      expect(pd.alertsFor(DEDUP)).toHaveLength(1);
    } finally {
      await harness.close();
    }
  });

  it('5xx and a reset mid-body: only on the create, since there is no read to fail; retryable, then one alert', async () => {
    for (const lost of [serverError(503), resetMidBody(202)]) {
      const { pd, harness, deliver, failure } = await eventsOnly();
      try {
        harness.fail('create', lost);
        expect((await failure(deliver(step('upsert', 'a')))).kind).toBe('retryable');
        expect(pd.alerts).toHaveLength(0);
        await deliver(step('upsert', 'a'));
        expect(pd.alertsFor(DEDUP)).toHaveLength(1);
        expect(harness.requestCount()).toBe(2);
      } finally {
        await harness.close();
      }
    }
  });

  it('a failed transition: retryable, and the retry resolves; the resolve event carries no comment to count', async () => {
    const { pd, harness, deliver, failure, enqueued } = await eventsOnly();
    try {
      const created = await deliver(step('upsert', 'a'));
      harness.fail('transition', reset(), { when: 'after' });
      expect((await failure(deliver(step('resolve', 'b'), created.ticket))).kind).toBe('retryable');
      expect((await deliver(step('resolve', 'b'), created.ticket)).ticket?.state).toBe('resolved');
      expect(enqueued()).toEqual(['trigger', 'resolve', 'resolve']);
      expect(pd.incidentsFor(DEDUP).map((i) => i.status)).toEqual(['resolved']);
    } finally {
      await harness.close();
    }
  });

  it('auth failure: PagerDuty answers an unknown routing key with a 400, classified auth; one request, no key in the error', async () => {
    const { pd, harness, deliver, failure } = await eventsOnly();
    try {
      const err = await failure(deliver(step('upsert', 'a'), null, harness.connectorWithWrongCredentials()));
      expect(err).toMatchObject({ kind: 'auth', statusCode: 400 });
      expect(err.retryAfterMs).toBeUndefined();
      expect(harness.requestCount()).toBe(1);
      expect(`${err.message} ${String(err.cause)}`).not.toContain(harness.wrongSecret);
      expect(pd.alerts).toHaveLength(0);
    } finally {
      await harness.close();
    }
  });
});
