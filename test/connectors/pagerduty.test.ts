/**
 * The PagerDuty target's own behaviour against the fake PagerDuty (fakes/pagerduty.ts): the events on the
 * wire, the Events API's answers, where the routing key may and may not appear, the base URL, the REST
 * API's notes, and the lifecycle create → update → resolve → reopen end to end. The shared ticket
 * contract is in pagerduty.contract.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PAGERDUTY_EVENTS_URL, pagerdutyEventsBase } from '../../functions/connectors/pagerduty/endpoints.js';
import { createPagerdutyConnector } from '../../functions/connectors/pagerduty/pagerduty.js';
import { PAGERDUTY_MAX_SUMMARY_CHARS, pagerdutyDedupKey } from '../../functions/connectors/pagerduty/payload.js';
import { PAGERDUTY_MAX_NOTE_CHARS } from '../../functions/connectors/pagerduty/rest.js';
import { PAGERDUTY_REST_SETTLE_MS } from '../../functions/connectors/pagerduty/target.js';
import { pagerdutyReceiver } from '../../functions/connectors/pagerduty/schema.js';
import { outboxTicketRef } from '../../functions/connectors/outbox/outbox.js';
import { DEFAULT_RATE_LIMIT_DELAY_MS } from '../../functions/connectors/http/index.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import type { Change, Incident } from '../../functions/core/model.js';
import { KitError } from '../../functions/core/errors.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import {
  failTimes,
  hang,
  rateLimited,
  reply,
  reset,
  serverError,
  startFakeServer,
  type FakeHandler,
  type FakeServer,
  type RecordedRequest,
} from '../helpers/fake-server.js';
import { createFakePagerduty, renderedPagerduty, type FakePagerduty, type FakePagerdutyOptions } from './fakes/pagerduty.js';

const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
const API_TOKEN = 'u+test-rest-token-0123456789abc';
const SERVICE = 'PSOC001';
const FROM = 'soc-bot@contoso.com';
const KEY = '3177';
const DEDUP = 'sentinel-3177';
const ENV = { PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_API_TOKEN: API_TOKEN };

const pickup: Change = { kind: 'owner', from: null, to: 'Defender Experts', id: 'owner:defender experts#1' };
const handBack: Change = { kind: 'owner', from: 'Defender Experts', to: 'Customer', id: 'owner:customer#1' };
const closed: Change = { kind: 'status', from: 'Active', to: 'Closed', id: 'status:closed#1' };
const reactivated: Change = { kind: 'status', from: 'Closed', to: 'Active', id: 'status:active#2' };

function step(action: 'upsert' | 'resolve', changes: Change[], overrides: Partial<DeliveryStep> = {}, incident: Incident = makeIncident({ key: KEY })): DeliveryStep {
  const id = changes.map((c) => c.id).join(',');
  return makeStep({
    incident,
    incidentKey: incident.key,
    receiver: 'soc-pagerduty',
    kind: 'pagerduty',
    stepType: 'ticket',
    ticketAction: action,
    template: 'ticket',
    changes,
    idempotencyKey: Buffer.from(id).toString('hex').padEnd(64, '0').slice(0, 64),
    ...overrides,
  });
}

interface Started {
  pd: FakePagerduty;
  server: FakeServer;
  clock: { now: number };
  receiver: ReceiverOf<'pagerduty'>;
  deliver(s: DeliveryStep, ticket?: TicketRef | null, summary?: string): ReturnType<ReturnType<typeof createPagerdutyConnector>['execute']>;
  events(): Array<Record<string, unknown>>;
}

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  options: { rest?: boolean; receiver?: Partial<ReceiverOf<'pagerduty'>>; fake?: Partial<FakePagerdutyOptions>; wrap?: (h: FakeHandler) => FakeHandler; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Started> {
  const clock = { now: Date.UTC(2026, 10, 26, 9, 36) };
  const pd = createFakePagerduty({ integrations: { [ROUTING_KEY]: SERVICE }, apiTokens: [API_TOKEN], users: [FROM], now: () => clock.now, ...options.fake });
  const server = await startFakeServer(options.wrap ? options.wrap(pd.handler) : pd.handler);
  servers.push(server);
  const receiver = pagerdutyReceiver.parse({
    kind: 'pagerduty',
    routingKey: 'env:PAGERDUTY_ROUTING_KEY',
    eventsUrl: server.url,
    ...(options.rest ? { apiToken: 'env:PAGERDUTY_API_TOKEN', apiUrl: server.url, fromEmail: FROM, serviceId: SERVICE } : {}),
    ...options.receiver,
  });
  const connector = createPagerdutyConnector({ receiverName: 'soc-pagerduty', receiver, env: options.env ?? ENV, fetchTimeoutMs: options.timeoutMs ?? 5000 });
  return {
    pd,
    server,
    clock,
    receiver,
    deliver: (s, ticket = null, summary) =>
      connector.execute({ step: s, receiverName: 'soc-pagerduty', receiver, rendered: renderedPagerduty(s.incident, summary), existingTicket: ticket }),
    events: () => server.requests.filter((r) => r.path.endsWith('/v2/enqueue')).map((r) => JSON.parse(r.body) as Record<string, unknown>),
  };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the delivery to fail');
    },
    (e: unknown) => e as KitError,
  );

/** the handler, except that the first enqueue gets `result` */
const firstEnqueue = (result: Parameters<typeof failTimes>[1], when: 'before' | 'after' = 'before') => (h: FakeHandler): FakeHandler => {
  const failing = failTimes(1, result, h, { when });
  return (req, params) => (req.path === '/v2/enqueue' ? failing(req, params) : h(req, params));
};

describe('pagerduty events base URL', () => {
  it('defaults to https://events.pagerduty.com; a base, a whole /v2/enqueue URL and the spec server /v2 all reach /v2/enqueue', () => {
    expect(pagerdutyEventsBase(undefined)).toBe(PAGERDUTY_EVENTS_URL);
    expect(pagerdutyEventsBase('https://events.eu.pagerduty.com')).toBe('https://events.eu.pagerduty.com');
    expect(pagerdutyEventsBase('https://events.eu.pagerduty.com/')).toBe('https://events.eu.pagerduty.com');
    expect(pagerdutyEventsBase('https://events.pagerduty.com/v2/enqueue')).toBe('https://events.pagerduty.com');
    expect(pagerdutyEventsBase('https://events.pagerduty.com/v2/enqueue/')).toBe('https://events.pagerduty.com');
    expect(pagerdutyEventsBase('https://events.pagerduty.com/v2')).toBe('https://events.pagerduty.com');
    expect(pagerdutyEventsBase('https://egress.contoso.com/pagerduty')).toBe('https://egress.contoso.com/pagerduty');
  });

  it('a receiver configured with the whole URL, as before, posts to the same /v2/enqueue', async () => {
    const full = await start({ receiver: {} });
    const again = await start();
    const receiver = { ...again.receiver, eventsUrl: `${full.server.url}/v2/enqueue` };
    const connector = createPagerdutyConnector({ receiverName: 'soc-pagerduty', receiver, env: ENV });
    const s = step('upsert', [pickup]);
    await connector.execute({ step: s, receiverName: 'soc-pagerduty', receiver, rendered: renderedPagerduty(s.incident), existingTicket: null });
    expect(full.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v2/enqueue']);
    expect(full.pd.alertsFor(DEDUP)).toHaveLength(1);
  });
});

describe('pagerduty events on the wire', () => {
  it('a create is one trigger: routing key first, dedup_key sentinel-<key>, the severity mapped, links and custom details', async () => {
    const { pd, server, deliver, events } = await start();
    const result = await deliver(step('upsert', [pickup]));
    expect(result).toMatchObject({ action: 'created', ticket: { id: DEDUP, key: null, state: 'open' } });
    const [req] = server.requests as [RecordedRequest];
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.headers.authorization).toBeUndefined();
    expect(req.body.startsWith(`{"routing_key":"${ROUTING_KEY}","event_action":"trigger","dedup_key":"${DEDUP}"`)).toBe(true);
    const [trigger] = events() as [Record<string, any>];
    expect(trigger.payload).toMatchObject({ source: 'microsoft-sentinel', severity: 'critical', group: 'Microsoft Sentinel', class: 'owner', component: 'Microsoft Defender XDR' });
    expect(trigger.payload.custom_details).toMatchObject({ incident_number: 3177, incident_key: KEY, severity: 'High', owner: 'Defender Experts' });
    expect(trigger.links.map((l: { text: string }) => l.text)).toEqual(['Open in Microsoft Defender', 'Open in Microsoft Sentinel']);
    expect(trigger.client_url).toMatch(/^https:\/\/security\.microsoft\.com\//);
    expect(pd.alertsFor(DEDUP)[0]!.incident.status).toBe('triggered');
  });

  it('maps every Sentinel severity to one PagerDuty accepts', async () => {
    const { deliver, events } = await start();
    const cases: Array<[Incident['severity'], string]> = [['High', 'critical'], ['Medium', 'error'], ['Low', 'warning'], ['Informational', 'info']];
    for (const [severity, i] of cases.map(([s], n) => [s, n] as const)) await deliver(step('upsert', [pickup], {}, makeIncident({ key: `sev-${i}`, severity })));
    expect(events().map((e) => (e.payload as { severity: string }).severity)).toEqual(cases.map(([, pd]) => pd));
  });

  it('a hostile summary arrives as one line of at most 1,024 characters, and PagerDuty takes it', async () => {
    const { pd, deliver, events } = await start();
    const hostile = `<b>x</b>\n\r[click](https://evil.example) ${'A'.repeat(3000)}`;
    await deliver(step('upsert', [pickup]), null, hostile);
    const summary = (events()[0]!.payload as { summary: string }).summary;
    expect(summary.length).toBeLessThanOrEqual(PAGERDUTY_MAX_SUMMARY_CHARS);
    expect(summary).not.toMatch(/[\r\n]/);
    expect(summary.endsWith('…')).toBe(true);
    expect(pd.alertsFor(DEDUP)).toHaveLength(1);
  });

  it('updates acknowledge when Defender Experts take the incident and trigger again when it comes back; both land in the one alert', async () => {
    const { pd, deliver, events } = await start();
    const created = await deliver(step('upsert', [closed]));
    await deliver(step('upsert', [pickup]), created.ticket);
    expect(pd.alertsFor(DEDUP)[0]!.status).toBe('acknowledged');
    await deliver(step('upsert', [handBack], {}, makeIncident({ key: KEY, owner: { assignedTo: 'Customer', userPrincipalName: null, objectId: null, email: null, kind: 'customer' } })), created.ticket);
    expect(events().map((e) => e.event_action)).toEqual(['trigger', 'acknowledge', 'trigger']);
    expect(pd.alertsFor(DEDUP)).toHaveLength(1);
    expect(events()[1]).toEqual({ routing_key: ROUTING_KEY, event_action: 'acknowledge', dedup_key: DEDUP });
  });

  it('always names the incident’s dedup key, even when the store holds a ticket the outbox made', async () => {
    const { pd, deliver, events } = await start();
    await deliver(step('upsert', [pickup]));
    const fromOutbox = outboxTicketRef('soc-pagerduty', KEY, 'open');
    expect(fromOutbox.id).toBe('outbox-3177');
    const result = await deliver(step('resolve', [closed]), fromOutbox);
    expect(events().map((e) => e.dedup_key)).toEqual([DEDUP, DEDUP]);
    // the engine hands back the store's ticket with its new state; the key on the wire never came from it
    expect(result.ticket).toMatchObject({ id: 'outbox-3177', state: 'resolved' });
    expect(pd.alertsFor(DEDUP)[0]!.status).toBe('resolved');
  });

  it('a dedup key too long for PagerDuty is hashed, and the same incident always gets the same one', async () => {
    const { pd, deliver } = await start();
    const long = makeIncident({ key: 'k'.repeat(300) });
    await deliver(step('upsert', [pickup], {}, long));
    await deliver(step('upsert', [handBack], {}, long));
    expect(pd.alerts).toHaveLength(1);
    expect(pd.alerts[0]!.dedupKey).toBe(pagerdutyDedupKey(long.key));
    expect(pd.alerts[0]!.dedupKey.length).toBeLessThanOrEqual(255);
  });
});

describe('pagerduty answers', () => {
  it('400 invalid event: terminal at once, no delay, one request', async () => {
    const { server, deliver } = await start({ wrap: firstEnqueue(reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.severity' is invalid"] })) });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err).toMatchObject({ kind: 'terminal', statusCode: 400 });
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.message).toContain('severity');
    expect(server.requests).toHaveLength(1);
  });

  it("429 with Retry-After waits that long; PagerDuty's usual 429 without one waits the client's default", async () => {
    const told = await start({ wrap: firstEnqueue(rateLimited(12)) });
    expect(await failure(told.deliver(step('upsert', [pickup])))).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 12_000 });
    const silent = await start({ wrap: firstEnqueue(reply(429, { status: 'throttled', message: 'Requests for this service are arriving too quickly.' })) });
    const err = await failure(silent.deliver(step('upsert', [pickup])));
    expect(err).toMatchObject({ kind: 'rate-limited', retryAfterMs: DEFAULT_RATE_LIMIT_DELAY_MS });
    expect(silent.pd.alerts).toHaveLength(0);
  });

  it('5xx (with its Retry-After), a reset and a hung connection are retryable; the retry raises one alert', async () => {
    const faults = [[serverError(503, { 'retry-after': '4' }), 4000], [serverError(500), undefined], [reset(), undefined], [hang(), undefined]] as const;
    for (const [fault, retryAfterMs] of faults) {
      const { pd, deliver } = await start({ wrap: firstEnqueue(fault, 'after'), timeoutMs: 300 });
      const err = await failure(deliver(step('upsert', [pickup])));
      expect(err.kind).toBe('retryable');
      expect(err.retryAfterMs).toBe(retryAfterMs);
      await deliver(step('upsert', [pickup]));
      expect(pd.alertsFor(DEDUP)).toHaveLength(1);
    }
  });

  it('a 202 that is not PagerDuty’s {"status":"success"} (a proxy page) is retryable, since the event may not have arrived', async () => {
    const { deliver } = await start({ wrap: firstEnqueue(reply(202, '<html>Welcome to the egress proxy</html>', { 'content-type': 'text/html' })) });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/not PagerDuty's \{"status":"success"\}/);
  });

  it('an answer for another dedup_key is terminal: the event did not go to the incident’s alert', async () => {
    const { deliver } = await start({ wrap: firstEnqueue(reply(202, { status: 'success', message: 'Event processed', dedup_key: 'someone-else' })) });
    expect((await failure(deliver(step('upsert', [pickup])))).kind).toBe('terminal');
  });
});

describe('pagerduty routing key', () => {
  it('a key PagerDuty refuses is auth, and neither the message nor the cause carries it, even when echoed back', async () => {
    const wrong = 'Rffffffffffffffffffffffffffffffe';
    const { deliver } = await start({ fake: { echoRoutingKey: true }, env: { PAGERDUTY_ROUTING_KEY: wrong } });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err).toMatchObject({ kind: 'auth', statusCode: 400, where: { field: 'receivers.soc-pagerduty.routingKey' } });
    expect(err.message).toMatch(/Invalid routing key/);
    expect(JSON.stringify({ message: err.message, cause: String(err.cause), where: err.where })).not.toContain(wrong);
  });

  it('a key of the wrong shape (a REST key pasted as the routing key) is auth as well', async () => {
    const { deliver } = await start({ env: { PAGERDUTY_ROUTING_KEY: 'u+shortRESTkey' } });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err.kind).toBe('auth');
    expect(err.message).not.toContain('u+shortRESTkey');
  });

  it('an unset app setting fails before any request, naming the reference, never a value', async () => {
    const { server, deliver } = await start({ env: {} });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err).toMatchObject({ kind: 'config' });
    expect(err.message).toMatch(/env:PAGERDUTY_ROUTING_KEY/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('pagerduty lifecycle, Events API only', () => {
  it('create → update → resolve → reopen → update: one alert until it is resolved, a new incident when the Sentinel incident is reactivated', async () => {
    const { pd, deliver, events } = await start();
    const created = await deliver(step('upsert', [pickup]));
    const updated = await deliver(step('upsert', [handBack]), created.ticket);
    expect(updated.action).toBe('updated');
    const resolved = await deliver(step('resolve', [closed]), updated.ticket);
    expect(resolved.ticket?.state).toBe('resolved');
    // a late change to a resolved alert is not sent: a trigger would raise a new incident and page
    const late = await deliver(step('upsert', [{ kind: 'tag-added', from: null, to: 'FP', id: 'tag-added:fp#1' }]), resolved.ticket);
    expect(late.ticket?.state).toBe('resolved');
    const reopened = await deliver(step('upsert', [reactivated]), resolved.ticket);
    expect(reopened.ticket?.state).toBe('open');
    await deliver(step('upsert', [pickup], { idempotencyKey: 'f'.repeat(64) }), reopened.ticket);
    expect(events().map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'resolve', 'trigger', 'acknowledge']);
    expect(pd.incidentsFor(DEDUP).map((i) => i.status)).toEqual(['resolved', 'acknowledged']);
    expect(pd.alertsFor(DEDUP).map((a) => a.log.length)).toEqual([3, 2]);
  });

  it('a crash after PagerDuty accepted the create but before the store write: the retry (another process, no ticket) makes no second alert', async () => {
    const { pd, deliver } = await start({ wrap: firstEnqueue(reset(), 'after') });
    const s = step('upsert', [pickup]);
    expect((await failure(deliver(s))).kind).toBe('retryable');
    expect(pd.alertsFor(DEDUP)).toHaveLength(1);
    await deliver(s);
    expect(pd.alertsFor(DEDUP)).toHaveLength(1);
    expect(pd.incidentsFor(DEDUP)).toHaveLength(1);
  });

  it('reopen: false needs the REST API, and says so before any request', async () => {
    const { server, deliver } = await start({ receiver: { reopen: false } });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-pagerduty.reopen' } });
    expect(server.requests).toHaveLength(0);
  });
});

describe('pagerduty with the REST API', () => {
  const notes = (pd: FakePagerduty, i = 0) => pd.incidentsFor(DEDUP)[i]!.notes.map((n) => n.content);

  it('finds the incident by dedup key with the REST key and the From header, and adds each change as one note with its marker', async () => {
    const { pd, server, deliver } = await start({ rest: true });
    const created = await deliver(step('upsert', [closed]));
    const s = step('upsert', [pickup]);
    // the store lost the ticket: the lookup finds it, with PagerDuty's incident id and page
    const updated = await deliver(s, null);
    await deliver(s, created.ticket);
    expect(updated).toMatchObject({ action: 'updated', ticket: { id: DEDUP, key: 'Q000001', url: 'https://contoso.pagerduty.com/incidents/Q000001', state: 'open' } });
    expect(notes(pd)).toHaveLength(1);
    expect(notes(pd)[0]).toContain('Owner changed to Defender Experts');
    expect(notes(pd)[0]!.endsWith(`[spk:${s.idempotencyKey.slice(0, 16)}]`)).toBe(true);
    const rest = server.requests.filter((r) => !r.path.endsWith('/v2/enqueue'));
    expect(rest.every((r) => r.headers.authorization === `Token token=${API_TOKEN}` && r.headers.accept === 'application/vnd.pagerduty+json;version=2')).toBe(true);
    const list = rest.find((r) => r.path === '/incidents')!;
    expect(Object.fromEntries(list.query)).toMatchObject({ incident_key: DEDUP, 'service_ids[]': SERVICE, date_range: 'all', sort_by: 'created_at:desc' });
    expect(rest.filter((r) => r.method === 'POST').map((r) => r.headers.from)).toEqual([FROM]);
  });

  it('lifecycle: create → update → resolve (with its note) → late update (a note, no page) → reopen (a new incident)', async () => {
    const { pd, deliver, events } = await start({ rest: true });
    const created = await deliver(step('upsert', [pickup]));
    const updated = await deliver(step('upsert', [handBack]), created.ticket);
    const resolved = await deliver(step('resolve', [closed]), updated.ticket);
    expect(resolved.ticket?.state).toBe('resolved');
    const late = await deliver(step('upsert', [{ kind: 'tag-added', from: null, to: 'FP', id: 'tag-added:fp#1' }]), resolved.ticket);
    expect(late.ticket?.state).toBe('resolved');
    const reopened = await deliver(step('upsert', [reactivated]), resolved.ticket);
    expect(reopened.ticket?.state).toBe('open');
    expect(events().map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'resolve', 'trigger']);
    expect(notes(pd)).toHaveLength(3);
    expect(notes(pd).map((n) => n.split('\n')[1])).toEqual(['- Owner changed from Defender Experts to Customer', '- Status changed from Active to Closed', '- Tag "FP" added']);
    expect(pd.incidentsFor(DEDUP).map((i) => i.status)).toEqual(['resolved', 'triggered']);
    // the next update finds the new incident, not the resolved one
    await deliver(step('upsert', [pickup], { idempotencyKey: 'e'.repeat(64) }), reopened.ticket);
    expect(notes(pd, 1)).toHaveLength(1);
    expect(notes(pd)).toHaveLength(3);
  });

  it('reopen: false: a reactivation is a note on the resolved incident, and nobody is paged', async () => {
    const { pd, deliver, events } = await start({ rest: true, receiver: { reopen: false } });
    const resolved = await deliver(step('resolve', [closed]));
    const again = await deliver(step('upsert', [reactivated]), resolved.ticket);
    expect(again.ticket?.state).toBe('resolved');
    expect(events().map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
    expect(notes(pd).map((n) => n.split('\n')[1])).toEqual(['- Status changed from Active to Closed', '- Status changed from Closed to Active']);
  });

  it('an incident resolved in PagerDuty while the store says open: an update becomes a note, not a new page', async () => {
    const { pd, deliver, events } = await start({ rest: true });
    const created = await deliver(step('upsert', [closed]));
    pd.alertsFor(DEDUP)[0]!.status = 'resolved';
    pd.incidentsFor(DEDUP)[0]!.status = 'resolved';
    const updated = await deliver(step('upsert', [handBack]), created.ticket);
    expect(updated.ticket?.state).toBe('open');
    expect(events().map((e) => e.event_action)).toEqual(['trigger']);
    expect(notes(pd)).toHaveLength(1);
  });

  it('events are processed asynchronously: an incident not listed yet gets the event only, and its note follows once it is', async () => {
    const { pd, clock, deliver, events } = await start({ rest: true, fake: { processingLagMs: 5_000 } });
    const created = await deliver(step('upsert', [closed]));
    const s = step('upsert', [pickup]);
    await deliver(s, created.ticket);
    expect(events().map((e) => e.event_action)).toEqual(['trigger', 'acknowledge']);
    expect(notes(pd)).toHaveLength(0);
    clock.now += 5_000;
    await deliver(s, created.ticket);
    expect(notes(pd)).toHaveLength(1);
  });

  it('an in-doubt create waits PAGERDUTY_REST_SETTLE_MS, so that its retry finds the incident and adds a note rather than triggering again', async () => {
    const { pd, clock, deliver, events } = await start({ rest: true, fake: { processingLagMs: 5_000 }, wrap: firstEnqueue(reset(), 'after') });
    const s = step('upsert', [pickup]);
    const err = await failure(deliver(s));
    expect(err).toMatchObject({ kind: 'retryable', retryAfterMs: PAGERDUTY_REST_SETTLE_MS });
    clock.now += err.retryAfterMs!;
    expect((await deliver(s)).action).toBe('updated');
    expect(events().map((e) => e.event_action)).toEqual(['trigger', 'acknowledge']);
    expect(notes(pd)).toHaveLength(1);
  });

  it("only takes an incident of the receiver's own service whose own incident_key is the dedup key", async () => {
    const OTHER_KEY = 'R9999999999999999999999999999999';
    // a server that ignores service_ids[] (as an API may ignore a filter it does not know) and, newest, lists
    // a grouped incident of the service whose alerts include the key but which has no incident_key of its own
    const grouped = { id: 'QGROUPED', type: 'incident', status: 'triggered', incident_key: null, service: { id: SERVICE, type: 'service_reference' } };
    const ignoreFilter = (h: FakeHandler): FakeHandler => async (req, params) => {
      if (req.path !== '/incidents') return h(req, params);
      const query = new URLSearchParams(req.query);
      query.delete('service_ids[]');
      const res = await h({ ...req, query }, params);
      if ('body' in res && typeof res.body === 'object') (res.body as { incidents: unknown[] }).incidents.unshift(grouped);
      return res;
    };
    const { pd, server, deliver } = await start({ rest: true, fake: { integrations: { [ROUTING_KEY]: SERVICE, [OTHER_KEY]: 'POTHER1' } }, wrap: ignoreFilter });
    // another service's alert under the same dedup key, raised first
    const other = await fetch(`${server.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: OTHER_KEY, event_action: 'trigger', dedup_key: DEDUP, payload: { summary: 'other team', source: 'x', severity: 'info' } }),
    });
    expect(other.status).toBe(202);
    const created = await deliver(step('upsert', [pickup]));
    expect(created.action).toBe('created');
    const updated = await deliver(step('upsert', [handBack]), null);
    expect(updated.ticket?.key).toBe('Q000002');
    expect(pd.incidentsFor(DEDUP).map((i) => [i.serviceId, i.notes.length])).toEqual([['POTHER1', 0], [SERVICE, 1]]);
  });

  it('a refused REST key is auth, before any event is sent, and neither it nor its header is in the error', async () => {
    const { server, deliver } = await start({ rest: true, env: { ...ENV, PAGERDUTY_API_TOKEN: 'u+revoked-token-value' } });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err).toMatchObject({ kind: 'auth', statusCode: 401 });
    expect(`${err.message} ${String(err.cause)}`).not.toContain('u+revoked-token-value');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /incidents']);
  });

  it('a From address PagerDuty does not know is terminal (the note cannot be written), with PagerDuty’s reason', async () => {
    const { deliver } = await start({ rest: true, receiver: { fromEmail: 'nobody@contoso.com' } });
    const created = await deliver(step('upsert', [closed]));
    const err = await failure(deliver(step('upsert', [pickup]), created.ticket));
    expect(err).toMatchObject({ kind: 'terminal', statusCode: 400 });
    expect(err.message).toContain('Requester User Not Found');
  });

  it('apiToken needs fromEmail and serviceId, and says which are missing before any request', async () => {
    const { server, deliver } = await start({ rest: true, receiver: { fromEmail: undefined, serviceId: undefined } });
    const err = await failure(deliver(step('upsert', [pickup])));
    expect(err.kind).toBe('config');
    expect(err.message).toContain('receivers.soc-pagerduty.fromEmail and receivers.soc-pagerduty.serviceId');
    expect(server.requests).toHaveLength(0);
  });

  it('a note is cut to its limit and keeps its marker', async () => {
    const { pd, deliver } = await start({ rest: true });
    const created = await deliver(step('upsert', [closed]));
    const s = step('upsert', [pickup]);
    await deliver(s, created.ticket, 'B'.repeat(30_000));
    const [note] = notes(pd) as [string];
    expect(note.length).toBeLessThanOrEqual(PAGERDUTY_MAX_NOTE_CHARS);
    expect(note).toContain('…');
    expect(note.endsWith(`[spk:${s.idempotencyKey.slice(0, 16)}]`)).toBe(true);
  });
});
