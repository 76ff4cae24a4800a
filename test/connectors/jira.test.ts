import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildJiraPayload, JIRA_MAX_SUMMARY_RUNES, jiraLabelFor, jiraTransitionRequest, OUTBOX_TRANSITION_ID } from '../../functions/connectors/jira/payload.js';
import { createJiraConnector, JIRA_SEARCH_SETTLE_MS } from '../../functions/connectors/jira/jira.js';
import type { DeliveryRequest, Operation } from '../../functions/connectors/types.js';
import { outboxBody } from '../../functions/connectors/request.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { adfDoc, renderedJira } from '../fixtures/rendered.js';
import {
  createFakeJira,
  failTimes,
  failWithProbability,
  rateLimited,
  reply,
  reset,
  serverError,
  startFakeServer,
  type FakeJiraOptions,
  type FakeServer,
} from '../helpers/fake-server.js';

const EMAIL = 'soc-bot@contoso.com';
const TOKEN = 'ATATT3xFfGF0-test-token-value-0123456789';
const BASIC = `Basic ${Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')}`;

function receiverFor(baseUrl: string | undefined, overrides: Partial<ReceiverOf<'jira'>> = {}): ReceiverOf<'jira'> {
  return {
    kind: 'jira',
    baseUrl,
    email: 'env:JIRA_EMAIL',
    apiToken: 'env:JIRA_API_TOKEN',
    project: 'SOC',
    issueType: 'Task',
    doneTransition: 'Done',
    labels: ['defender-experts'],
    ...overrides,
  };
}

function ticketStep(action: 'upsert' | 'resolve', overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  return makeStep({ receiver: 'soc-jira', kind: 'jira', stepType: 'ticket', ticketAction: action, template: 'ticket', ...overrides });
}

function payload(operation: Operation, rendered: RenderedMessage = renderedJira(), receiver = receiverFor(undefined)) {
  const step = ticketStep('upsert');
  return buildJiraPayload({ step, receiverName: 'soc-jira', receiver, rendered, operation, ticket: null });
}

describe('jiraLabelFor', () => {
  it('is sentinel-<key> for the keys the kit uses (XDR ids, Sentinel GUIDs)', () => {
    expect(jiraLabelFor('12345')).toBe('sentinel-12345');
    expect(jiraLabelFor('73E01A99-5CD7-4139-A149-9F2736FF2AB5')).toBe('sentinel-73e01a99-5cd7-4139-a149-9f2736ff2ab5');
  });

  it('keeps keys apart when sanitising would merge them', () => {
    expect(jiraLabelFor('inc 1')).not.toBe(jiraLabelFor('inc-1'));
    expect(jiraLabelFor('a"b')).toMatch(/^sentinel-a-b-[0-9a-f]{8}$/);
    expect(jiraLabelFor('ABC')).not.toBe(jiraLabelFor('abc'));
  });

  it('is always a safe JQL label of at most 255 characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (key) => {
        const label = jiraLabelFor(key);
        return /^sentinel-[a-z0-9-]+$/.test(label) && label.length <= 255;
      }),
    );
  });
});

describe('buildJiraPayload', () => {
  it('create: project, issue type, one-line summary, labels and ADF description', () => {
    const p = payload('create');
    expect(p.format).toBe('jira.json');
    const body = JSON.parse(outboxBody(p)) as { fields: Record<string, unknown> };
    expect(body.fields.project).toEqual({ key: 'SOC' });
    expect(body.fields.issuetype).toEqual({ name: 'Task' });
    expect(body.fields.labels).toEqual(['sentinel', 'sentinel-12345', 'defender-experts']);
    expect(body.fields.summary).toBe(`Sentinel incident 3177: ${makeIncident().title}`);
    expect(body.fields.description).toMatchObject({ type: 'doc', version: 1 });
  });

  it('flattens the summary to one line and cuts it to 255 characters', () => {
    const summary = `Line one\r\nline two\t${'x'.repeat(400)}`;
    const p = payload('create', renderedJira(makeIncident(), { summary }));
    const s = (JSON.parse(outboxBody(p)) as { fields: { summary: string } }).fields.summary;
    expect(s).not.toMatch(/[\r\n\t]/);
    expect(s.startsWith('Line one line two x')).toBe(true);
    expect(Array.from(s)).toHaveLength(JIRA_MAX_SUMMARY_RUNES);
    expect(p.truncated).toEqual(['summary']);
  });

  it('an empty summary falls back to the incident key', () => {
    const p = payload('create', renderedJira(makeIncident(), { summary: '  \n ' }));
    expect((JSON.parse(outboxBody(p)) as { fields: { summary: string } }).fields.summary).toBe('Microsoft Sentinel incident 12345');
  });

  it('drops empty text nodes and refuses documents Jira would refuse', () => {
    const description = { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }, { type: 'text', text: 'kept' }] }] };
    const p = payload('create', renderedJira(makeIncident(), { description }));
    expect((JSON.parse(outboxBody(p)) as { fields: { description: unknown } }).fields.description).toEqual({
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'kept' }] }],
    });
    expect(() => payload('create', renderedJira(makeIncident(), { description: { type: 'doc', version: 2, content: [] } }))).toThrow(/version/);
    expect(() => payload('create', renderedJira(makeIncident(), { description: 'plain string' }))).toThrow(KitError);
    expect(() => payload('create', renderedJira(makeIncident(), { description: { type: 'doc', version: 1, content: [{ text: 'x' }] } }))).toThrow(/no "type"/);
  });

  it('cuts a description over the field limit and says so', () => {
    const p = payload('create', renderedJira(makeIncident(), { description: adfDoc('y'.repeat(50_000), 'second') }));
    const description = (JSON.parse(outboxBody(p)) as { fields: { description: unknown } }).fields.description;
    expect(JSON.stringify(description).length).toBeLessThanOrEqual(32_767);
    expect(p.truncated).toEqual(['description']);
  });

  it('names the documented call: create, then comment and transition on the known issue (a template before one exists)', () => {
    expect(payload('create')).toMatchObject({ method: 'POST', path: '/rest/api/3/issue', contentType: 'application/json', headers: { accept: 'application/json' } });
    expect(payload('update')).toMatchObject({ method: 'POST', path: '/rest/api/3/issue/{issueIdOrKey}/comment' });
    expect(payload('resolve')).toMatchObject({ method: 'POST', path: '/rest/api/3/issue/{issueIdOrKey}/transitions' });
    const ticket: TicketRef = { receiver: 'soc-jira', incidentKey: '12345', id: '10000', key: 'SOC-1', url: null, state: 'open' };
    const step = ticketStep('upsert');
    const known = buildJiraPayload({ step, receiverName: 'soc-jira', receiver: receiverFor(undefined), rendered: renderedJira(), operation: 'update', ticket });
    expect(known.path).toBe('/rest/api/3/issue/SOC-1/comment');
    expect('json' in known.body).toBe(true);
  });

  it('update is a comment body; resolve is a transition with the outbox placeholder id and the comment', () => {
    expect(JSON.parse(outboxBody(payload('update')))).toEqual({
      body: adfDoc('Owner changed to Defender Experts; status Active.'),
      properties: [{ key: 'sentinel-playbook-kit', value: { idempotencyKey: 'a'.repeat(64) } }],
    });
    expect(JSON.parse(outboxBody(payload('resolve')))).toEqual({
      transition: { id: OUTBOX_TRANSITION_ID },
      update: { comment: [{ add: { body: adfDoc('Owner changed to Defender Experts; status Active.'), properties: [{ key: 'sentinel-playbook-kit', value: { idempotencyKey: 'a'.repeat(64) } }] } }] },
    });
  });
});

describe('Jira connector against a fake Jira Cloud', () => {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function setup(jiraOptions: Partial<FakeJiraOptions> = {}, receiverOverrides: Partial<ReceiverOf<'jira'>> = {}) {
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const jira = createFakeJira({ project: 'SOC', email: EMAIL, apiToken: TOKEN, now: () => clock, ...jiraOptions });
    const server = await startFakeServer(jira.handler);
    servers.push(server);
    const receiver = receiverFor(server.url, receiverOverrides);
    const env = { JIRA_EMAIL: EMAIL, JIRA_API_TOKEN: TOKEN };
    const connector = (extra: { onTicketCreated?: (t: TicketRef) => Promise<void> } = {}) =>
      createJiraConnector({ receiverName: 'soc-jira', receiver, env, fetchTimeoutMs: 5000, ...extra });
    const request = (step: DeliveryStep, existingTicket: TicketRef | null = null): DeliveryRequest => ({
      step,
      receiverName: 'soc-jira',
      receiver,
      rendered: renderedJira(step.incident),
      existingTicket,
    });
    return { jira, server, receiver, connector, request, advance: (ms: number) => (clock += ms) };
  }

  it('creates an issue after a search finds none: checks method, path, auth, content type and body', async () => {
    const { jira, server, connector, request } = await setup();
    const result = await connector().execute(request(ticketStep('upsert')));
    expect(result.action).toBe('created');
    expect(result.ticket).toEqual({
      receiver: 'soc-jira',
      incidentKey: '12345',
      id: '10000',
      key: 'SOC-1',
      url: `${server.url}/browse/SOC-1`,
      state: 'open',
    });
    const [search, create] = server.requests;
    expect(search).toMatchObject({ method: 'POST', path: '/rest/api/3/search/jql' });
    expect(JSON.parse(search!.body)).toEqual({
      jql: 'project = "SOC" AND labels = "sentinel-12345" ORDER BY created ASC',
      fields: ['summary', 'status'],
      maxResults: 1,
    });
    expect(create).toMatchObject({ method: 'POST', path: '/rest/api/3/issue' });
    // the create on the wire is the outbox's create, byte for byte
    const built = buildJiraPayload({ step: ticketStep('upsert'), receiverName: 'soc-jira', receiver: receiverFor(server.url), rendered: renderedJira(), operation: 'create', ticket: null });
    expect(create!.body).toBe(outboxBody(built));
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe(BASIC);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers.accept).toBe('application/json');
    }
    expect(jira.countIssuesWithLabel('sentinel-12345')).toBe(1);
    expect(jira.issues[0]!.fields.labels).toEqual(['sentinel', 'sentinel-12345', 'defender-experts']);
  });

  it('never puts attacker text in JQL', async () => {
    const { server, connector, request } = await setup();
    const incident = makeIncident({ key: 'x" OR project = "HR', title: '" OR 1=1 --' });
    await connector().execute(request(ticketStep('upsert', { incident, incidentKey: incident.key })));
    const jql = (JSON.parse(server.requests[0]!.body) as { jql: string }).jql;
    expect(jql).toMatch(/^project = "SOC" AND labels = "sentinel-[a-z0-9-]+" ORDER BY created ASC$/);
  });

  it('with a ticket from the kit\'s store it neither searches nor creates: it comments', async () => {
    const { jira, server, connector, request } = await setup();
    const first = await connector().execute(request(ticketStep('upsert')));
    server.requests.length = 0;
    const second = await connector().execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }), first.ticket));
    expect(second.action).toBe('updated');
    // it looks for its own comment first (any try may be a redelivery), then comments
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /rest/api/3/issue/SOC-1/comment', 'POST /rest/api/3/issue/SOC-1/comment']);
    expect(JSON.parse(server.requests[1]!.body)).toEqual({
      body: adfDoc('Owner changed to Defender Experts; status Active.'),
      properties: [{ key: 'sentinel-playbook-kit', value: { idempotencyKey: 'b'.repeat(64) } }],
    });
    expect(jira.issue('SOC-1')!.comments).toHaveLength(1);
  });

  it('a comment whose response was lost is not added again by the retry', async () => {
    const { jira, connector, request } = await setup();
    const first = await connector().execute(request(ticketStep('upsert')));
    const step = ticketStep('upsert', { idempotencyKey: 'c'.repeat(64) });
    // Jira stores the comment, then the connection drops before the 201 arrives
    const lossy = await startFakeServer((req, params) =>
      req.method === 'POST' && req.path.endsWith('/comment') ? dropFirst(req, params) : jira.handler(req, params),
    );
    const dropFirst = failTimes(1, reset(), jira.handler, { when: 'after' });
    servers.push(lossy);
    const receiver = receiverFor(lossy.url);
    const flaky = createJiraConnector({ receiverName: 'soc-jira', receiver, env: { JIRA_EMAIL: EMAIL, JIRA_API_TOKEN: TOKEN } });
    const call = (attempt: number) =>
      flaky.execute({ step, receiverName: 'soc-jira', receiver, rendered: renderedJira(), existingTicket: first.ticket, attempt });
    await expect(call(1)).rejects.toMatchObject({ kind: 'retryable' });
    expect(jira.issue('SOC-1')!.comments).toHaveLength(1);
    const retry = await call(2);
    expect(retry.action).toBe('updated');
    expect(jira.issue('SOC-1')!.comments).toHaveLength(1);
    expect(lossy.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /rest/api/3/issue/SOC-1/comment',
      'POST /rest/api/3/issue/SOC-1/comment',
      'GET /rest/api/3/issue/SOC-1/comment',
    ]);
  });

  it('search before create finds an existing issue: no second create, a comment instead', async () => {
    const { jira, server, connector, request } = await setup();
    await connector().execute(request(ticketStep('upsert')));
    // a new process that lost its ticket store: only Jira's search can tell
    const again = await connector().execute(request(ticketStep('upsert')));
    expect(again.action).toBe('updated');
    expect(again.ticket?.key).toBe('SOC-1');
    expect(jira.countIssuesWithLabel('sentinel-12345')).toBe(1);
    expect(server.requests.filter((r) => r.path === '/rest/api/3/issue')).toHaveLength(1);
  });

  it('resolves by looking the transition up by name and posting its id with the comment', async () => {
    const transitions = [
      { id: '11', name: 'Start work', to: 'In Progress', toCategory: 'indeterminate' as const },
      { id: '701', name: 'Close Issue', to: 'Closed', toCategory: 'done' as const },
    ];
    const { jira, server, connector, request } = await setup({ transitions }, { doneTransition: 'close issue' });
    const created = await connector().execute(request(ticketStep('upsert')));
    server.requests.length = 0;
    const resolved = await connector().execute(request(ticketStep('resolve'), created.ticket));
    expect(resolved.action).toBe('resolved');
    expect(resolved.ticket?.state).toBe('resolved');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /rest/api/3/issue/SOC-1/transitions',
      'POST /rest/api/3/issue/SOC-1/transitions',
    ]);
    expect(JSON.parse(server.requests[1]!.body)).toEqual({
      transition: { id: '701' },
      update: { comment: [{ add: { body: adfDoc('Owner changed to Defender Experts; status Active.'), properties: [{ key: 'sentinel-playbook-kit', value: { idempotencyKey: 'a'.repeat(64) } }] } }] },
    });
    expect(jira.issue('SOC-1')!.status).toEqual({ name: 'Closed', category: 'done' });
    // the bytes on the wire are the builder's request, serialised once by the client exactly as the outbox file is
    const input = { step: ticketStep('resolve'), receiverName: 'soc-jira', receiver: receiverFor(server.url, { doneTransition: 'close issue' }), rendered: renderedJira(), operation: 'resolve' as const, ticket: created.ticket };
    expect(server.requests[1]!.body).toBe(outboxBody(jiraTransitionRequest(input, '701')));
    // closed again later (reopened in between, or a narrowed step): no transition to make, but the
    // changes still reach the ticket, once
    expect(jira.issue('SOC-1')!.comments).toHaveLength(1);
    const again = ticketStep('resolve', { idempotencyKey: 'd'.repeat(64) });
    expect((await connector().execute(request(again, resolved.ticket))).action).toBe('resolved');
    expect((await connector().execute(request(again, resolved.ticket))).action).toBe('resolved');
    expect(jira.issue('SOC-1')!.comments).toHaveLength(2);
  });

  it('matches the target status name when no transition has the configured name', async () => {
    const transitions = [{ id: '41', name: 'Resolve it', to: 'Resolved', toCategory: 'done' as const }];
    const { jira, connector, request } = await setup({ transitions }, { doneTransition: 'RESOLVED' });
    await connector().execute(request(ticketStep('resolve')));
    expect(jira.issue('SOC-1')!.status.name).toBe('Resolved');
  });

  it('a workflow without the transition is a terminal error listing what is available', async () => {
    const transitions = [
      { id: '21', name: 'In Progress', to: 'In Progress' },
      { id: '51', name: 'Won\'t Do', to: 'Rejected', toCategory: 'done' as const },
    ];
    const { jira, connector, request } = await setup({ transitions }, { doneTransition: 'Done' });
    const created = await connector().execute(request(ticketStep('upsert')));
    const err = await connector()
      .execute(request(ticketStep('resolve'), created.ticket))
      .then(() => undefined, (e: unknown) => e as KitError);
    expect(err).toBeInstanceOf(KitError);
    expect(err?.kind).toBe('terminal');
    expect(err?.message).toContain('"In Progress"');
    expect(err?.message).toContain('"Won\'t Do" (to Rejected)');
    expect(err?.where?.field).toBe('receivers.soc-jira.doneTransition');
    expect(jira.issue('SOC-1')!.status.name).toBe('To Do');
  });

  it('a resolve retried after the transition went through does not comment twice', async () => {
    const { jira, connector, request } = await setup();
    const created = await connector().execute(request(ticketStep('upsert')));
    await connector().execute(request(ticketStep('resolve'), created.ticket));
    const again = await connector().execute(request(ticketStep('resolve'), created.ticket));
    expect(again).toMatchObject({ action: 'resolved', ticket: { state: 'resolved' } });
    expect(jira.issue('SOC-1')!.comments).toHaveLength(1);
  });

  it('a resolve with no known ticket creates one, reports it, then transitions it', async () => {
    const { jira, server, connector, request } = await setup();
    const stored: TicketRef[] = [];
    const result = await connector({
      onTicketCreated: async (t) => {
        // the ticket store is written before the transition call is made
        expect(server.requests.some((r) => r.path.endsWith('/transitions'))).toBe(false);
        stored.push(t);
      },
    }).execute(request(ticketStep('resolve')));
    expect(result).toMatchObject({ action: 'resolved', ticket: { key: 'SOC-1', state: 'resolved' } });
    expect(stored.map((t) => t.key)).toEqual(['SOC-1']);
    expect(jira.issue('SOC-1')!.status.category).toBe('done');
  });

  describe('eventual consistency of search/jql', () => {
    it('inside the index delay a new process cannot see the issue: only the ticket store prevents a duplicate', async () => {
      const { jira, connector, request, advance } = await setup({ searchLagMs: 60_000 });
      const first = await connector().execute(request(ticketStep('upsert')));

      // the documented window: the ticket store write was lost and another instance retries within the lag
      const blind = await connector().execute(request(ticketStep('upsert')));
      expect(blind.action).toBe('created');
      expect(jira.countIssuesWithLabel('sentinel-12345')).toBe(2);

      // with the ticket store (ledger first) there is no search at all, so no duplicate
      const withStore = await connector().execute(request(ticketStep('upsert'), first.ticket));
      expect(withStore.action).toBe('updated');

      // once the index catches up, search finds the oldest issue
      advance(60_000);
      const later = await connector().execute(request(ticketStep('upsert')));
      expect(later).toMatchObject({ action: 'updated', ticket: { key: 'SOC-1' } });
      expect(jira.countIssuesWithLabel('sentinel-12345')).toBe(2);
    });

    it('the same process names the ids it created in reconcileIssues, so its retry finds the issue', async () => {
      const { jira, server, connector, request } = await setup({ searchLagMs: 60_000 });
      const one = connector();
      await one.execute(request(ticketStep('upsert')));
      const retry = await one.execute(request(ticketStep('upsert')));
      expect(retry.action).toBe('updated');
      expect(jira.countIssuesWithLabel('sentinel-12345')).toBe(1);
      const searches = server.requests.filter((r) => r.path === '/rest/api/3/search/jql').map((r) => JSON.parse(r.body) as Record<string, unknown>);
      expect(searches[0]).not.toHaveProperty('reconcileIssues');
      expect(searches[1]!.reconcileIssues).toEqual([10000]);
    });
  });

  describe('classified failures', () => {
    it('429 on create → rate-limited with Retry-After; X-RateLimit-Reset (ISO 8601) when that is all there is', async () => {
      const jira = createFakeJira({ project: 'SOC' });
      let mode: 'retry-after' | 'reset' = 'retry-after';
      const server = await startFakeServer((req, params) => {
        if (req.path !== '/rest/api/3/issue') return jira.handler(req, params);
        return mode === 'retry-after'
          ? rateLimited(9, { 'x-ratelimit-reset': new Date(Date.now() + 3_600_000).toISOString() })
          : reply(429, { errorMessages: ['Rate limit exceeded.'] }, { 'x-ratelimit-reset': new Date(Date.now() + 3_600_000).toISOString() });
      });
      servers.push(server);
      const connector = createJiraConnector({ receiverName: 'soc-jira', receiver: receiverFor(server.url), env: { JIRA_EMAIL: EMAIL, JIRA_API_TOKEN: TOKEN } });
      const req = (): DeliveryRequest => ({ step: ticketStep('upsert'), receiverName: 'soc-jira', receiver: receiverFor(server.url), rendered: renderedJira(), existingTicket: null });
      await expect(connector.execute(req())).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 9000 });
      mode = 'reset';
      const err = await connector.execute(req()).then(() => undefined, (e: unknown) => e as KitError);
      expect(err?.kind).toBe('rate-limited');
      expect(err?.retryAfterMs).toBeGreaterThan(3_500_000);
      expect(err?.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    });

    it('a create that failed after it was sent is retried only after the search index settles', async () => {
      const jira = createFakeJira({ project: 'SOC', email: EMAIL, apiToken: TOKEN });
      const server = await startFakeServer((req, params) =>
        req.path === '/rest/api/3/issue' ? serverError(503, { 'retry-after': '5' }) : jira.handler(req, params),
      );
      servers.push(server);
      const receiver = receiverFor(server.url);
      const connector = createJiraConnector({ receiverName: 'soc-jira', receiver, env: { JIRA_EMAIL: EMAIL, JIRA_API_TOKEN: TOKEN } });
      const err = await connector
        .execute({ step: ticketStep('upsert'), receiverName: 'soc-jira', receiver, rendered: renderedJira(), existingTicket: null })
        .then(() => undefined, (e: unknown) => e as KitError);
      expect(err).toMatchObject({ kind: 'retryable', statusCode: 503, retryAfterMs: JIRA_SEARCH_SETTLE_MS });
    });

    it('wrong credentials → auth, and the token never appears in the error', async () => {
      const { receiver, server } = await setup();
      const wrong = createJiraConnector({ receiverName: 'soc-jira', receiver, env: { JIRA_EMAIL: EMAIL, JIRA_API_TOKEN: 'not-the-right-token-123' } });
      const err = await wrong
        .execute({ step: ticketStep('upsert'), receiverName: 'soc-jira', receiver, rendered: renderedJira(), existingTicket: null })
        .then(() => undefined, (e: unknown) => e as KitError);
      expect(err?.kind).toBe('auth');
      expect(err?.message).not.toContain('not-the-right-token-123');
      expect(server.requests).toHaveLength(1);
    });

    it('a body Jira rejects → terminal with Jira\'s own words', async () => {
      const { connector, request } = await setup({ issueTypes: ['Bug'] });
      await expect(connector().execute(request(ticketStep('upsert')))).rejects.toMatchObject({
        kind: 'terminal',
        statusCode: 400,
        message: expect.stringContaining('Specify a valid issue type'),
      });
    });

    it('a missing secret is a config error before any request', async () => {
      const { receiver, server } = await setup();
      const connector = createJiraConnector({ receiverName: 'soc-jira', receiver, env: { JIRA_EMAIL: EMAIL } });
      await expect(
        connector.execute({ step: ticketStep('upsert'), receiverName: 'soc-jira', receiver, rendered: renderedJira(), existingTicket: null }),
      ).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('env:JIRA_API_TOKEN') });
      expect(server.requests).toHaveLength(0);
    });
  });

  it('30% of calls fail, half of them after Jira acted: re-queued as the errors say, one issue per incident', async () => {
    // the queue's visibility delay is modelled by moving the clock by retryAfterMs (or a 1 s backoff)
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const jira = createFakeJira({ project: 'SOC', email: EMAIL, apiToken: TOKEN, searchLagMs: 60_000, now: () => clock });
    const flaky = failWithProbability(0.15, 7, serverError(503), failWithProbability(0.15, 8, serverError(502), jira.handler, { when: 'after' }));
    const server = await startFakeServer(flaky);
    servers.push(server);
    const receiver = receiverFor(server.url);
    const store = new Map<string, TicketRef>();
    const connector = createJiraConnector({
      receiverName: 'soc-jira',
      receiver,
      env: { JIRA_EMAIL: EMAIL, JIRA_API_TOKEN: TOKEN },
      onTicketCreated: async (t) => {
        store.set(t.incidentKey, t);
      },
    });
    const keys = Array.from({ length: 12 }, (_, i) => String(20000 + i));
    let retries = 0;
    for (const key of keys) {
      for (const action of ['upsert', 'upsert', 'resolve'] as const) {
        const incident = makeIncident({ key });
        const step = ticketStep(action, { incident, incidentKey: key });
        for (let attempt = 1; ; attempt++) {
          try {
            const result = await connector.execute({ step, receiverName: 'soc-jira', receiver, rendered: renderedJira(incident), existingTicket: store.get(key) ?? null });
            if (result.ticket) store.set(key, result.ticket);
            break;
          } catch (e) {
            expect((e as KitError).kind).toBe('retryable');
            expect(attempt).toBeLessThan(50);
            clock += (e as KitError).retryAfterMs ?? 1000;
            retries++;
          }
        }
      }
    }
    expect(retries).toBeGreaterThan(10);
    expect(jira.duplicateLabels()).toEqual({});
    for (const key of keys) expect(jira.countIssuesWithLabel(`sentinel-${key}`)).toBe(1);
    expect(jira.issues.every((i) => i.status.category === 'done')).toBe(true);
  });
});
