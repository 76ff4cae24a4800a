/**
 * The Function App's handlers, called as the host calls them (HttpRequest / queue payload +
 * InvocationContext), on Azurite, with the comment back going to a loopback ARM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { TokenCredential } from '@azure/identity';
import { dispatchHandler } from '../../functions/app/dispatch.js';
import { deliverHandler, hostTryOf, maxDequeueCount } from '../../functions/app/deliver.js';
import { MAX_DEQUEUE_COUNT_SETTING } from '../../functions/pipeline/process-delivery.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { KitError } from '../../functions/core/errors.js';
import type { Ledger } from '../../functions/state/ports.js';
import { healthHandler } from '../../functions/app/health.js';
import { findPlaybooksDir, setAppRuntimeForTests } from '../../functions/app/runtime.js';
import { commentBack } from '../../functions/pipeline/comment-back.js';
import { commentIdFor } from '../../functions/connectors/sentinel/comment.js';
import { createAzureStores, type AzureStateStores } from '../../functions/state/index.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { createFakeTeams, reply, startFakeServer, type FakeServer } from '../helpers/fake-server.js';
import { harness, sampleLines } from '../pipeline/harness.js';

const connection = useAzurite();
const logs: string[] = [];
const context = (triggerMetadata?: Record<string, unknown>) =>
  new InvocationContext({
    functionName: 'test',
    invocationId: `inv-${Math.random().toString(36).slice(2)}`,
    logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')),
    ...(triggerMetadata ? { triggerMetadata } : {}),
  });
const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  new HttpRequest({ method: 'POST', url: 'http://localhost/api/dispatch', body: { string: body }, headers });

const credential: TokenCredential = { getToken: async () => ({ token: 'dummy-arm-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
let stores: AzureStateStores;
let arm: FakeServer;
let teamsServer: FakeServer;
const teams = createFakeTeams({ sig: 'SECRETSIGNATURE0123456789abcdef' });
const armComments: Array<{ path: string; message: string }> = [];
let appRuntimeForTests: Parameters<typeof setAppRuntimeForTests>[0] = null;

beforeAll(async () => {
  stores = await createAzureStores({ connectionString: connection(), ...uniqueNames() });
  arm = await startFakeServer((req) => {
    const message = (JSON.parse(req.body || '{}') as { properties?: { message?: string } }).properties?.message ?? '';
    armComments.push({ path: req.path, message });
    return reply(201, { id: req.path, name: req.path.split('/').pop(), properties: { message } });
  });
  teamsServer = await startFakeServer(teams.handler);
  const h = await harness(stores, { teamsWebhookUrl: `${teamsServer.url}${teams.path}?sig=SECRETSIGNATURE0123456789abcdef` }, { afterDelivered: commentBack({ credential, endpoint: arm.url }) });
  appRuntimeForTests = async () => ({ ...h.runtime, stores });
  setAppRuntimeForTests(appRuntimeForTests);
});

afterAll(async () => {
  setAppRuntimeForTests(null);
  await arm?.close();
  await teamsServer?.close();
});

describe('dispatch (HTTP)', () => {
  it('answers 202 with what was planned, then deliver sends it and comments back once per delivery', async () => {
    const [first] = await sampleLines();
    const res = await dispatchHandler(post(JSON.stringify(first)), context());
    expect(res.status).toBe(202);
    const planned = res.jsonBody as { incidentKey: string; steps: Array<{ receiver: string; idempotencyKey: string }>; changes: unknown[] };
    expect(planned.incidentKey).toBe('3101');
    expect(planned.changes).toEqual([
      { kind: 'owner', from: null, to: 'Defender Experts' },
      { kind: 'status', from: null, to: 'Active' },
    ]);
    expect(planned.steps.length).toBe(12);

    // the host hands each queue message (base64 JSON, decoded) to the deliver function
    for (let i = 0; i < 3; i++) {
      const messages = await stores.queue.receive(32, 30_000);
      for (const m of messages) {
        await deliverHandler(m.delivery, context());
        await stores.queue.delete(m);
      }
    }
    expect(await stores.queue.approximateCount()).toBe(0);
    expect(teams.messages).toHaveLength(1);
    for (const s of planned.steps) expect((await stores.ledger.get(s.idempotencyKey))?.status).toBe('done');
    // one comment per delivery, each with the id derived from its idempotency key
    const ids = armComments.map((c) => c.path.split('/').pop());
    expect(ids.sort()).toEqual(planned.steps.map((s) => commentIdFor(s.idempotencyKey)).sort());
    expect(armComments.every((c) => c.path.includes('/providers/Microsoft.SecurityInsights/incidents/0b7d0c1e-3101-4c7d-9e10-2b4f6a8c3101/comments/'))).toBe(true);
    expect(armComments.find((c) => c.message.includes('soc-jira'))?.message).toMatch(/created/);

    // the Logic App retries the same body: planned again, delivered never twice, no new comments
    const again = await dispatchHandler(post(JSON.stringify(first)), context());
    expect((again.jsonBody as { replay: boolean }).replay).toBe(true);
    const before = armComments.length;
    for (const m of await stores.queue.receive(32, 30_000)) {
      await deliverHandler(m.delivery, context());
      await stores.queue.delete(m);
    }
    expect(teams.messages).toHaveLength(1);
    expect(armComments.length).toBe(before);

    // the webhook's signature never reached a log line
    expect(logs.join('\n')).not.toContain('SECRETSIGNATURE');
    expect(logs.some((l) => l.includes('"idempotencyKey"') && l.includes('"receiver":"soc-teams"'))).toBe(true);
  });

  it.each([
    ['not JSON', post('{"object": '), 400, /not valid JSON/],
    ['empty', post('  '), 400, /empty body/],
    ['not an incident', post('{"hello":"world"}'), 400, /incident/i],
    ['a Sentinel body without a title', post(JSON.stringify({ objectSchemaType: 'Incident', object: { name: 'x', properties: { severity: 'High' } } })), 400, /title/],
    ['the wrong content type', post('<xml/>', { 'content-type': 'text/xml' }), 415, /content-type/],
    ['too large', post('{}', { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) }), 413, /limit/],
  ])('answers a caller mistake (%s) with a clear 4xx, never 500', async (_name, request, status, message) => {
    const res = await dispatchHandler(request, context());
    expect(res.status).toBe(status);
    expect((res.jsonBody as { error: string }).error).toMatch(message);
  });
});

describe('deliver (queue)', () => {
  it('moves a message that is not a delivery to the poison queue instead of crashing', async () => {
    await expect(deliverHandler({ unexpected: true }, context())).resolves.toBeUndefined();
    await expect(deliverHandler('garbage', context())).resolves.toBeUndefined();
    await expect(deliverHandler({ step: { idempotencyKey: 'half' }, attempt: 1 }, context())).resolves.toBeUndefined();
    const poison = await stores.queue.peekPoisonEntries(10);
    const malformed = poison.filter((p) => p.reason.startsWith('malformed message'));
    expect(malformed.map((p) => p.raw)).toEqual(['{"unexpected":true}', 'garbage', '{"step":{"idempotencyKey":"half"},"attempt":1}']);
  });
});

describe('deliver (queue): the host\'s retries', () => {
  it('reads dequeueCount from the trigger metadata and the host\'s limit from host.json or its app setting', async () => {
    const { readFile } = await import('node:fs/promises');
    const hostJson = JSON.parse(await readFile(new URL('../../host.json', import.meta.url), 'utf8')) as { extensions: { queues: { maxDequeueCount: number } } };
    expect(maxDequeueCount({})).toBe(hostJson.extensions.queues.maxDequeueCount);
    expect(maxDequeueCount({ [MAX_DEQUEUE_COUNT_SETTING]: '8' })).toBe(8);
    expect(maxDequeueCount({ [MAX_DEQUEUE_COUNT_SETTING]: 'many' })).toBe(hostJson.extensions.queues.maxDequeueCount);
    expect(hostTryOf(context({ dequeueCount: 3 }), {})).toEqual({ dequeueCount: 3, maxDequeueCount: 5 });
    expect(hostTryOf(context({ dequeueCount: '4' }), {})).toEqual({ dequeueCount: 4, maxDequeueCount: 5 });
    expect(hostTryOf(context(), {})).toEqual({ maxDequeueCount: 5 });
  });

  it('a try that keeps throwing after Teams accepted: attempts rise, the last try marks it failed with a poison record, one message only', async () => {
    // fresh state, and a ledger that refuses writes from the moment Teams accepted until the operator fixes it
    const own = await createAzureStores({ connectionString: connection(), ...uniqueNames() });
    const ownTeams = createFakeTeams();
    const server = await startFakeServer(ownTeams.handler);
    let broken = true;
    const refuse = () => {
      if (broken && ownTeams.messages.length > 0) throw new KitError('table service 403: AuthorizationPermissionMismatch', { kind: 'auth', statusCode: 403 });
    };
    const ledger: Ledger = {
      get: async (k) => (refuse(), own.ledger.get(k)),
      list: () => own.ledger.list(),
      record: async (e) => (refuse(), own.ledger.record(e)),
    };
    const failingStores = { ...own, ledger };
    try {
      const h = await harness(failingStores, { teamsWebhookUrl: `${server.url}${ownTeams.path}` });
      setAppRuntimeForTests(async () => ({ ...h.runtime, stores: failingStores }));
      const [first] = await sampleLines();
      const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-teams')!;
      const message = JSON.parse(JSON.stringify({ step, attempt: 1 })) as unknown; // as the host decodes it
      const before = logs.length;

      // the host hands the same message over again after each try that threw
      for (const dequeueCount of [1, 2, 3, 4]) await expect(deliverHandler(message, context({ dequeueCount }))).rejects.toThrow(/403/);
      expect(ownTeams.messages).toHaveLength(1);
      broken = false;
      await expect(deliverHandler(message, context({ dequeueCount: 5 }))).resolves.toBeUndefined();

      expect(ownTeams.messages).toHaveLength(1);
      const entry = await own.ledger.get(step.idempotencyKey);
      expect(entry).toMatchObject({ status: 'failed', attempts: 5 });
      const poisoned = (await own.queue.peekPoison(10)).filter((p) => p.delivery.step.idempotencyKey === step.idempotencyKey);
      expect(poisoned).toHaveLength(1);
      expect(poisoned[0]!.reason).toMatch(/Functions host handed this message over 5 time\(s\)/);
      const lines = logs.slice(before);
      // each try logged its own attempt number, and the end was reported with the idempotency key
      for (const attempt of [1, 2, 3, 4]) expect(lines.some((l) => l.includes('delivery try threw') && l.includes(`"attempt":${attempt}`))).toBe(true);
      expect(lines.some((l) => l.includes('retried it to its limit') && l.includes(`"idempotencyKey":"${step.idempotencyKey}"`))).toBe(true);
    } finally {
      setAppRuntimeForTests(appRuntimeForTests);
      await server.close();
    }
  });
});

describe('the packaged app finds its playbooks', () => {
  it('beside the bundle, or where SPK_PLAYBOOKS_DIR says', async () => {
    const { existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    expect(existsSync(join(findPlaybooksDir({}), 'receivers.yaml'))).toBe(true);
    expect(findPlaybooksDir({ SPK_PLAYBOOKS_DIR: '/srv/kit/playbooks' })).toBe('/srv/kit/playbooks');
  });
});

describe('health (HTTP GET)', () => {
  it('reports ok with the receiver count', async () => {
    const res = await healthHandler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }), context());
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ status: 'ok', receivers: 12 });
  });
});
