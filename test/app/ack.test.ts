/**
 * The ack function as the host calls it: a voice receiver's call asks "press 1" (the <Gather> action in
 * the TwiML the kit wrote), and Twilio posts the answer, signed with the account's Auth Token. A checked
 * "1" is recorded once and commented on the incident; forged, foreign, replayed or malformed requests
 * change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { ackHandler } from '../../functions/app/ack.js';
import { deliverHandler } from '../../functions/app/deliver.js';
import { setAppRuntimeForTests, type AppRuntime } from '../../functions/app/runtime.js';
import { commentIdFor } from '../../functions/connectors/sentinel/comment-message.js';
import { ACK_SAID, twilioSignature } from '../../functions/connectors/voice/ack.js';
import type { VoiceReceiver } from '../../functions/connectors/voice/schema.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { incidentCommenter } from '../../functions/pipeline/comment-back.js';
import { createMemoryStores, type MemoryStateStores } from '../../functions/state/memory.js';
import { reply, startFakeServer, type FakeServer } from '../helpers/fake-server.js';
import { harness, sampleLines } from '../pipeline/harness.js';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'twilio-auth-token-for-tests-00000';
const ACK_URL = 'https://spk-func.azurewebsites.net/api/ack/voice';
const CALLED = '+14255550123';
const callSid = (n: number) => `CA${n.toString(16).padStart(32, '0')}`;

const logs: string[] = [];
const context = () =>
  new InvocationContext({ functionName: 'ack', invocationId: `inv-${Math.random().toString(36).slice(2)}`, logHandler: (_l, ...args) => logs.push(args.map(String).join(' ')) });

let stores: MemoryStateStores;
let arm: FakeServer;
const armComments: Array<{ path: string; message: string }> = [];
let armDown = false;
let action: string;
let incidentKey: string;
let stepKey: string;

/** the POST Twilio makes to the <Gather> action, as the Functions host hands it over (its own host in the URL) */
function twilioPost(args: { url?: string; params?: Record<string, string>; token?: string; signature?: string | null; contentType?: string } = {}): HttpRequest {
  const signedFor = args.url ?? action;
  const params = { AccountSid: ACCOUNT_SID, CallSid: callSid(1), To: CALLED, From: '+18005550100', Digits: '1', CallStatus: 'in-progress', ...args.params };
  const body = new URLSearchParams(params).toString();
  const signature = args.signature === undefined ? twilioSignature(args.token ?? AUTH_TOKEN, signedFor, Object.entries(params)) : args.signature;
  const seenByHost = signedFor.replace('https://spk-func.azurewebsites.net', 'http://localhost:7071');
  return new HttpRequest({
    method: 'POST',
    url: seenByHost,
    params: { via: 'voice' },
    body: { string: body },
    headers: { 'content-type': args.contentType ?? 'application/x-www-form-urlencoded', ...(signature !== null ? { 'x-twilio-signature': signature } : {}) },
  });
}

beforeAll(async () => {
  stores = createMemoryStores();
  arm = await startFakeServer((req) => {
    if (armDown) return reply(503, { error: { code: 'ServiceUnavailable', message: 'try later' } });
    const message = (JSON.parse(req.body || '{}') as { properties?: { message?: string } }).properties?.message ?? '';
    armComments.push({ path: req.path, message });
    return reply(201, { id: req.path, name: req.path.split('/').pop(), properties: { message } });
  });
  const h = await harness(stores);
  const call = h.runtime.deliveryDeps.receivers['soc-lead-call'] as VoiceReceiver;
  // a dry run: the call is written to the outbox, with the same TwiML a live call would carry
  h.runtime.deliveryDeps.receivers['soc-lead-call'] = { ...call, dryRun: true, ackUrl: ACK_URL, twilioAccountSid: 'env:TWILIO_ACCOUNT_SID', twilioAuthToken: 'env:TWILIO_AUTH_TOKEN' };
  h.runtime.deliveryDeps.receivers['soc-lead-call-no-ack'] = { ...call, twilioAccountSid: 'env:TWILIO_ACCOUNT_SID', twilioAuthToken: 'env:TWILIO_AUTH_TOKEN' };
  const credential = { getToken: async () => ({ token: 'dummy-arm-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const runtime: AppRuntime = {
    ...h.runtime,
    stores,
    env: { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN },
    incidentComments: incidentCommenter({ credential, endpoint: arm.url }),
  };
  setAppRuntimeForTests(async () => runtime);

  const [first] = await sampleLines();
  const planned = await ingest(first, h.runtime.ingestDeps);
  const step = planned.steps.find((s) => s.receiver === 'soc-lead-call');
  expect(step).toBeDefined();
  incidentKey = planned.incidentKey;
  stepKey = step!.idempotencyKey;
  for (const m of await stores.queue.receive(32, 30_000)) {
    if (m.delivery.step.receiver !== 'soc-lead-call') continue;
    await deliverHandler(m.delivery, context());
    await stores.queue.delete(m);
  }
  const dir = join(h.outboxDir, 'soc-lead-call');
  const [file] = await readdir(dir);
  const twiml = await readFile(join(dir, file!), 'utf8');
  const m = /<Gather [^>]*action="([^"]+)"/.exec(twiml);
  expect(m).not.toBeNull();
  action = m![1]!.replaceAll('&amp;', '&');
});

afterAll(async () => {
  setAppRuntimeForTests(null);
  await arm?.close();
});

const said = (res: { body?: unknown }) => /<Say>([^<]*)<\/Say>/.exec(String(res.body))?.[1];

describe('ack (HTTP): a call\'s "press 1"', () => {
  it('the call the kit wrote asks for the key at its own ack URL, naming the step', () => {
    const url = new URL(action);
    expect(`${url.origin}${url.pathname}`).toBe(ACK_URL);
    expect(Object.fromEntries(url.searchParams)).toEqual({ receiver: 'soc-lead-call', step: stepKey, incident: incidentKey });
  });

  it('refuses a forged, unsigned or foreign request with nothing recorded', async () => {
    const forged = await ackHandler(twilioPost({ token: 'not-the-auth-token-000000000000000' }), context());
    expect(forged.status).toBe(403);
    expect((await ackHandler(twilioPost({ signature: null }), context())).status).toBe(403);
    // signed correctly, but the query was changed afterwards to point at another step
    const tampered = twilioPost();
    const moved = new HttpRequest({
      method: 'POST',
      url: tampered.url.replace(stepKey, 'f'.repeat(64)),
      params: { via: 'voice' },
      body: { string: await tampered.text() },
      headers: Object.fromEntries(tampered.headers),
    });
    expect((await ackHandler(moved, context())).status).toBe(403);
    // a request from another Twilio account, signed with this token (a leaked token used elsewhere)
    expect((await ackHandler(twilioPost({ params: { AccountSid: `AC${'f'.repeat(32)}` } }), context())).status).toBe(403);
    expect(await stores.acknowledgements.list(incidentKey)).toEqual([]);
    expect(armComments).toEqual([]);
  });

  it('answers 4xx for what is not a Twilio answer at all', async () => {
    expect((await ackHandler(twilioPost({ contentType: 'application/json' }), context())).status).toBe(415);
    const noQuery = new HttpRequest({ method: 'POST', url: 'http://localhost:7071/api/ack/voice', params: { via: 'voice' }, body: { string: 'Digits=1' }, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect((await ackHandler(noQuery, context())).status).toBe(400);
    const otherVia = new HttpRequest({ method: 'POST', url: 'http://localhost:7071/api/ack/mail', params: { via: 'mail' }, body: { string: '' }, headers: {} });
    expect((await ackHandler(otherVia, context())).status).toBe(404);
    const noAck = twilioPost({ url: action.replace('receiver=soc-lead-call', 'receiver=soc-lead-call-no-ack') });
    expect((await ackHandler(noAck, context())).status).toBe(404);
    expect((await ackHandler(twilioPost({ url: action.replace('receiver=soc-lead-call', 'receiver=nobody') }), context())).status).toBe(404);
    const huge = twilioPost({ params: { Padding: 'x'.repeat(20_000) } });
    expect((await ackHandler(huge, context())).status).toBe(400);
    expect(await stores.acknowledgements.list(incidentKey)).toEqual([]);
  });

  it('another key acknowledges nothing, and says so', async () => {
    const res = await ackHandler(twilioPost({ params: { Digits: '2', CallSid: callSid(2) } }), context());
    expect(res.status).toBe(200);
    expect(said(res)).toBe(ACK_SAID.otherKey);
    expect(await stores.acknowledgements.list(incidentKey)).toEqual([]);
  });

  it('a signed answer for a step the kit never delivered is not recorded; the caller hears to use Sentinel', async () => {
    const url = new URL(action);
    url.searchParams.set('step', 'e'.repeat(64));
    const res = await ackHandler(twilioPost({ url: url.toString() }), context());
    expect(res.status).toBe(200);
    expect(said(res)).toBe(ACK_SAID.failed);
    expect(await stores.acknowledgements.list(incidentKey)).toEqual([]);
  });

  it('records a checked "1" once, comments who, how and when on the incident, and a replay changes nothing', async () => {
    const res = await ackHandler(twilioPost(), context());
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'text/xml; charset=utf-8' });
    expect(said(res)).toBe(ACK_SAID.recorded);
    const acks = await stores.acknowledgements.list(incidentKey);
    expect(acks).toEqual([{ incidentKey, via: 'voice', receiver: 'soc-lead-call', stepKey, by: CALLED, ref: callSid(1), at: expect.any(String) }]);
    expect(armComments).toHaveLength(1);
    expect(armComments[0]!.path).toMatch(/\/providers\/Microsoft\.SecurityInsights\/incidents\/0b7d0c1e-3101-4c7d-9e10-2b4f6a8c3101\/comments\//);
    expect(armComments[0]!.path.endsWith(`/comments/${commentIdFor(`ack:voice:${callSid(1)}`)}`)).toBe(true);
    expect(armComments[0]!.message).toContain(`acknowledged by phone: ${CALLED} pressed 1 on the call from soc-lead-call at ${acks[0]!.at}`);

    // Twilio (or someone who captured the request) sends it again
    const replay = await ackHandler(twilioPost(), context());
    expect(said(replay)).toBe(ACK_SAID.again);
    expect(await stores.acknowledgements.list(incidentKey)).toEqual(acks);
    // the comment is rewritten under the same id with the first record's words: still one comment
    expect(new Set(armComments.map((c) => c.path)).size).toBe(1);
    expect(armComments.every((c) => c.message === armComments[0]!.message)).toBe(true);
  });

  it('a failing comment write leaves the acknowledgement recorded, and the retry comments it', async () => {
    armDown = true;
    const res = await ackHandler(twilioPost({ params: { CallSid: callSid(3) } }), context());
    expect(said(res)).toBe(ACK_SAID.failed);
    expect((await stores.acknowledgements.list(incidentKey)).map((a) => a.ref)).toContain(callSid(3));
    expect(logs.some((l) => l.includes('the acknowledgement was not recorded'))).toBe(true);
    const commentOf3 = `/comments/${commentIdFor(`ack:voice:${callSid(3)}`)}`;
    expect(armComments.some((c) => c.path.endsWith(commentOf3))).toBe(false);

    armDown = false;
    const retry = await ackHandler(twilioPost({ params: { CallSid: callSid(3) } }), context());
    expect(said(retry)).toBe(ACK_SAID.again);
    expect(armComments.filter((c) => c.path.endsWith(commentOf3))).toHaveLength(1);
    expect((await stores.acknowledgements.list(incidentKey)).filter((a) => a.ref === callSid(3))).toHaveLength(1);
  });
});
