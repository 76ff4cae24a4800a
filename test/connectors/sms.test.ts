/**
 * SMS, live: the wire format of each transport, one text per recipient and never a second one to a phone
 * that has it (ACS by repeatability id, Twilio by the connector's memory within a worker), each answer
 * classified, the hostile corpus inert in both wire formats, and the pipeline's retries through ACS.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKitOrThrow } from '../../functions/config/load.js';
import { outboxBody } from '../../functions/connectors/request.js';
import { ACS_SCOPE, ACS_SMS_PATH, repeatabilityFirstSent, repeatabilityRequestId } from '../../functions/connectors/sms/acs.js';
import { buildSmsPayload } from '../../functions/connectors/sms/payload.js';
import { smsReceiver, type SmsReceiver } from '../../functions/connectors/sms/schema.js';
import { createSmsConnector } from '../../functions/connectors/sms/sms.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { smsSegments } from '../../functions/render/sms.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { createMemoryStores } from '../../functions/state/index.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { failure } from '../helpers/errors.js';
import { reply, reset, serverError, startFakeServer, type FakeHandler, type FakeResult, type FakeServer } from '../helpers/fake-server.js';
import { REPO, sampleLines } from '../pipeline/harness.js';
import { loadShippedTemplates, seedStep } from '../render/shipped.js';
import { createFakeAcsSms, createFakeTwilio, twilioError } from './fakes/sms.js';

const PHONES = ['+14255550123', '+14255550124', '+14255550125'];
const FROM = '+18005550100';
const ACCESS_KEY = Buffer.from('sms-test-acs-access-key-fedcba9876543210').toString('base64');
const ACCOUNT_SID = 'AC' + 'ab'.repeat(16);
const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
const API_KEY = { sid: 'SK' + 'cd'.repeat(16), secret: 'api-key-secret-0123456789abcdefghij' };
const TEXT = 'Sentinel High #3177: owner is now Defender Experts.\nMulti-stage incident…';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** a fake behind a queue of answers that replace (or follow) its own */
async function serve(next: FakeHandler) {
  const queued: Array<(req: Parameters<FakeHandler>[0], p: Record<string, string>) => Promise<FakeResult>> = [];
  const server = await startFakeServer((req, params) => (queued.shift() ?? next)(req, params));
  servers.push(server);
  return {
    server,
    instead: (result: FakeResult) => queued.push(async () => result),
    /** the target acts, and its answer is lost */
    lost: () => queued.push(async (req, p) => (await next(req, p), reset())),
    pass: () => queued.push(async (req, p) => next(req, p)),
  };
}

const rendered = (text = TEXT): RenderedMessage => ({ kind: 'sms', template: 'incident-change', parts: { text } });
let steps = 0;
function deliveryOf(receiver: SmsReceiver, overrides: Partial<DeliveryRequest> & { step?: DeliveryStep } = {}): DeliveryRequest {
  const step = overrides.step ?? makeStep({ kind: 'sms', receiver: 'soc-lead-sms', idempotencyKey: (++steps).toString(16).padStart(64, 'e'), plannedAt: new Date().toISOString() });
  return { step, receiverName: 'soc-lead-sms', receiver, rendered: rendered(), existingTicket: null, attempt: 1, ...overrides };
}

async function acsSetup(to = PHONES, fake: Parameters<typeof createFakeAcsSms>[0] = { accessKey: ACCESS_KEY, numbers: [FROM] }) {
  const acs = createFakeAcsSms(fake);
  const s = await serve(acs.handler);
  const receiver = smsReceiver.parse({ kind: 'sms', to, from: FROM, acsEndpoint: s.server.url, ...(fake.accessKey ? { acsAccessKey: 'env:ACS_ACCESS_KEY' } : {}) });
  const connector = (extra: Partial<Parameters<typeof createSmsConnector>[0]> = {}) =>
    createSmsConnector({ receiverName: 'soc-lead-sms', receiver, env: { ACS_ACCESS_KEY: ACCESS_KEY }, fetchTimeoutMs: 1_000, ...extra });
  const bodies = () => s.server.requests.filter((r) => r.rawUrl === ACS_SMS_PATH).map((r) => JSON.parse(r.body) as { smsRecipients: Array<Record<string, string>>; message: string } & Record<string, unknown>);
  return { acs, ...s, receiver, connector, bodies };
}

async function twilioSetup(to = PHONES, extra: Record<string, unknown> = {}, fake: Partial<Parameters<typeof createFakeTwilio>[0]> = {}) {
  const twilio = createFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiKey: API_KEY, numbers: [FROM], ...fake });
  const s = await serve(twilio.handler);
  const receiver = smsReceiver.parse({
    kind: 'sms',
    to,
    from: FROM,
    provider: 'twilio',
    twilioAccountSid: 'env:TWILIO_ACCOUNT_SID',
    twilioAuthToken: 'env:TWILIO_AUTH_TOKEN',
    twilioApiUrl: s.server.url,
    ...extra,
  });
  const env = { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_KEY_SID: API_KEY.sid, TWILIO_API_KEY_SECRET: API_KEY.secret };
  const connector = (more: Partial<Parameters<typeof createSmsConnector>[0]> = {}) => createSmsConnector({ receiverName: 'soc-lead-sms', receiver, env, fetchTimeoutMs: 1_000, ...more });
  const forms = () => s.server.requests.filter((r) => r.path === twilio.path).map((r) => new URLSearchParams(r.body));
  return { twilio, ...s, receiver, connector, forms };
}

describe('ACS SMS', () => {
  it('sends one signed request with every recipient, each with its own repeatability id and the step\'s plannedAt as first-sent', async () => {
    const { acs, receiver, connector, bodies } = await acsSetup();
    const req = deliveryOf(receiver);
    await expect(connector().execute(req)).resolves.toEqual({ action: 'sent', ticket: null, outbox: null });
    expect(acs.rejections).toEqual([]);
    const [body] = bodies();
    expect(Object.keys(body!)).toEqual(['from', 'smsRecipients', 'message', 'smsSendOptions']);
    expect(body!.from).toBe(FROM);
    // exactly the text the outbox writes for the same step
    expect(body!.message).toBe(outboxBody(buildSmsPayload({ step: req.step, receiverName: 'soc-lead-sms', receiver, rendered: req.rendered, operation: 'send', ticket: null })));
    expect(body!.smsSendOptions).toEqual({ enableDeliveryReport: true, tag: `spk:${req.step.idempotencyKey.slice(0, 32)}` });
    const firstSent = new Date(req.step.plannedAt).toUTCString();
    expect(body!.smsRecipients).toEqual(PHONES.map((to) => ({ to, repeatabilityRequestId: repeatabilityRequestId(req.step.idempotencyKey, to), repeatabilityFirstSent: firstSent })));
    expect(firstSent).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(acs.sent.map((m) => m.to)).toEqual(PHONES);
  });

  it('derives repeatability ids: the same for every try of a step and recipient, different otherwise', () => {
    const id = repeatabilityRequestId('a'.repeat(64), PHONES[0]!);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(repeatabilityRequestId('a'.repeat(64), PHONES[0]!)).toBe(id);
    expect(new Set([id, repeatabilityRequestId('a'.repeat(64), PHONES[1]!), repeatabilityRequestId('b'.repeat(64), PHONES[0]!), repeatabilityRequestId('a'.repeat(64), PHONES[0]!, 'late')]).size).toBe(4);
    expect(repeatabilityFirstSent('2026-11-26T09:36:00.000Z')).toBe('Thu, 26 Nov 2026 09:36:00 GMT');
  });

  it('a 202 that was lost is sent again by another worker and ACS drops the repeat: nobody gets two texts', async () => {
    const { acs, receiver, connector, lost } = await acsSetup();
    const req = deliveryOf(receiver);
    lost();
    expect((await failure(connector().execute(req))).kind).toBe('retryable');
    expect(acs.sent).toHaveLength(3);
    await connector().execute({ ...req, attempt: 2 });
    expect(acs.sent).toHaveLength(3);
    expect(acs.replays).toBe(3);
  });

  it('recipient 2 failing retryably fails the step for it alone; the retry never texts recipient 1 or 3 again', async () => {
    const { acs, receiver, connector, bodies } = await acsSetup();
    acs.failRecipient(PHONES[1]!, { httpStatusCode: 503, successful: false, errorMessage: 'Service unavailable' });
    const req = deliveryOf(receiver);
    const same = connector();
    const err = await failure(same.execute(req));
    expect(err).toMatchObject({ kind: 'retryable', statusCode: 503 });
    expect(err.message).toMatch(/sent to 2 of 3 recipients; to\[1\] \(…0124\)/);
    expect(err.message).not.toContain(PHONES[1]);
    // the same worker sends only to recipient 2
    await same.execute({ ...req, attempt: 2 });
    expect(bodies().at(-1)!.smsRecipients.map((r) => r.to)).toEqual([PHONES[1]]);
    expect(acs.sent.map((m) => m.to).sort()).toEqual([...PHONES].sort());
    // another worker, without that memory, sends to all three and ACS drops the two repeats
    await connector().execute({ ...req, attempt: 3 });
    expect(acs.sent).toHaveLength(3);
  });

  it('a recipient ACS refuses for good fails the step as terminal, and its retry does not text the others', async () => {
    const { acs, receiver, connector } = await acsSetup();
    acs.failRecipient(PHONES[2]!, { httpStatusCode: 400, successful: false, errorMessage: 'Invalid To phone number format.' }, 5);
    acs.failRecipient(PHONES[1]!, { httpStatusCode: 429, successful: false, errorMessage: 'Too many requests' });
    const req = deliveryOf(receiver);
    const same = connector();
    expect(await failure(same.execute(req))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 60_000 });
    const err = await failure(same.execute({ ...req, attempt: 2 }));
    expect(err).toMatchObject({ kind: 'terminal', statusCode: 400 });
    expect(err.message).toBe('sms (acs): sent to 2 of 3 recipients; to[2] (…0125): acs: not sent (HTTP 400): Invalid To phone number format.');
    expect(acs.sent.map((m) => m.to)).toEqual([PHONES[0], PHONES[1]]);
  });

  it('takes a per-recipient result that names the number without its +, and a result for another number as none', async () => {
    const { receiver, connector, instead } = await acsSetup([PHONES[0]!]);
    instead(reply(202, { value: [{ to: PHONES[0]!.slice(1), messageId: 'Outgoing_1', httpStatusCode: 202, successful: true }] }));
    await expect(connector().execute(deliveryOf(receiver))).resolves.toMatchObject({ action: 'sent' });
    instead(reply(202, { value: [{ to: PHONES[1], messageId: 'Outgoing_2', httpStatusCode: 202, successful: true }] }));
    expect((await failure(connector().execute(deliveryOf(receiver)))).message).toMatch(/no result for this recipient/);
  });

  it("a step that waited past ACS's repeatability window is sent once on its first try, and refused rather than guessed on a later one", async () => {
    const { acs, receiver, connector, bodies } = await acsSetup([PHONES[0]!]);
    const late = makeStep({ kind: 'sms', receiver: 'soc-lead-sms', idempotencyKey: 'f'.repeat(64), plannedAt: new Date(Date.now() - 10 * 60_000).toISOString() });
    await connector().execute(deliveryOf(receiver, { step: late, attempt: 1 }));
    expect(acs.sent).toHaveLength(1);
    const [refused, resent] = bodies();
    expect(refused!.smsRecipients[0]!.repeatabilityFirstSent).toBe(new Date(late.plannedAt).toUTCString());
    expect(resent!.smsRecipients[0]!.repeatabilityRequestId).toBe(repeatabilityRequestId(late.idempotencyKey, PHONES[0]!, 'late'));
    expect(Date.now() - Date.parse(resent!.smsRecipients[0]!.repeatabilityFirstSent!)).toBeLessThan(5_000);

    const other = makeStep({ ...late, idempotencyKey: 'd'.repeat(64) });
    const err = await failure(connector().execute(deliveryOf(receiver, { step: other, attempt: 2 })));
    expect(err).toMatchObject({ kind: 'terminal', statusCode: 412 });
    expect(err.message).toMatch(/longer ago than ACS remembers/);
    expect(acs.sent).toHaveLength(1);
  });

  it('without an access key, asks the managed identity for a communication.azure.com token once and presents it', async () => {
    let asked: string[][] = [];
    const credential: TokenCredential = {
      getToken: async (scopes) => {
        asked.push([scopes].flat());
        return { token: 'entra-token-for-acs-0123456789', expiresOnTimestamp: Date.now() + 3_600_000 } satisfies AccessToken;
      },
    };
    const { acs, receiver, connector } = await acsSetup([PHONES[0]!], { bearerToken: 'entra-token-for-acs-0123456789' });
    const c = connector({ credential });
    await c.execute(deliveryOf(receiver));
    await c.execute(deliveryOf(receiver));
    expect(asked).toEqual([[ACS_SCOPE]]);
    expect(acs.sent).toHaveLength(2);

    asked = [];
    const wrong: TokenCredential = { getToken: async () => ({ token: 'a-token-of-another-resource', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const err = await failure(connector({ credential: wrong }).execute(deliveryOf(receiver)));
    expect(err.kind).toBe('auth');
    expect(err.message).not.toContain('a-token-of-another-resource');
  });

  it('refuses a receiver it cannot send for before any request: no endpoint, no sender, a key that is not a key', async () => {
    const { receiver, connector, server } = await acsSetup([PHONES[0]!]);
    const twilioOnly = smsReceiver.parse({ kind: 'sms', to: [PHONES[0]], from: FROM, twilioAccountSid: 'env:TWILIO_ACCOUNT_SID' });
    const e1 = await failure(createSmsConnector({ receiverName: 'soc-lead-sms', receiver: twilioOnly, env: {} }).execute(deliveryOf(twilioOnly)));
    expect(e1).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-lead-sms.acsEndpoint' } });
    expect(e1.message).toMatch(/add provider: twilio/);
    const noFrom = { ...receiver, from: undefined };
    expect(await failure(connector({ receiver: noFrom }).execute(deliveryOf(noFrom)))).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-lead-sms.from' } });
    const e3 = await failure(connector({ env: { ACS_ACCESS_KEY: 'endpoint=https://x.communication.azure.com/;accesskey=abc' } }).execute(deliveryOf(receiver)));
    expect(e3).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-lead-sms.acsAccessKey' } });
    expect(e3.message).not.toContain('accesskey=abc');
    expect(server.requests).toHaveLength(0);
  });
});

describe('Twilio Messages', () => {
  it('sends one form-encoded request per recipient, exactly To, From and Body, with Basic auth as the account', async () => {
    const { twilio, receiver, connector, forms, server } = await twilioSetup();
    const req = deliveryOf(receiver);
    await connector().execute(req);
    expect(twilio.rejections).toEqual([]);
    const text = outboxBody(buildSmsPayload({ step: req.step, receiverName: 'soc-lead-sms', receiver, rendered: req.rendered, operation: 'send', ticket: null }));
    expect(forms().map((f) => [...f.entries()])).toEqual(PHONES.map((to) => [['To', to], ['From', FROM], ['Body', text]]));
    expect(server.requests.map((r) => r.headers['content-type'])).toEqual(PHONES.map(() => 'application/x-www-form-urlencoded'));
    expect(Buffer.from(String(server.requests[0]!.headers.authorization).slice(6), 'base64').toString()).toBe(`${ACCOUNT_SID}:${AUTH_TOKEN}`);
    expect(twilio.messages.map((m) => m.to)).toEqual(PHONES);
  });

  it('an API key pair wins over the Auth Token, and a half pair is a configuration error', async () => {
    const { twilio, receiver, connector, server } = await twilioSetup([PHONES[0]!], { twilioApiKeySid: 'env:TWILIO_API_KEY_SID', twilioApiKeySecret: 'env:TWILIO_API_KEY_SECRET' });
    await connector().execute(deliveryOf(receiver));
    expect(Buffer.from(String(server.requests[0]!.headers.authorization).slice(6), 'base64').toString()).toBe(`${API_KEY.sid}:${API_KEY.secret}`);
    expect(twilio.messages).toHaveLength(1);
    const half = { ...receiver, twilioApiKeySecret: undefined };
    expect(await failure(connector({ receiver: half }).execute(deliveryOf(half)))).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-lead-sms.twilioApiKeySecret' } });
    const e = await failure(connector({ env: { TWILIO_ACCOUNT_SID: 'not-a-sid', TWILIO_AUTH_TOKEN: AUTH_TOKEN } }).execute(deliveryOf(receiver)));
    expect(e).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-lead-sms.twilioAccountSid' } });
    expect(e.message).not.toContain('not-a-sid');
  });

  it('recipient 2 failing retryably: the same worker sends only to it; another worker (no memory) texts 1 and 3 again — the documented window', async () => {
    const { twilio, receiver, connector, pass, instead } = await twilioSetup();
    pass();
    instead(serverError(503));
    const req = deliveryOf(receiver);
    const same = connector();
    const err = await failure(same.execute(req));
    expect(err).toMatchObject({ kind: 'retryable', statusCode: 503 });
    expect(err.message).toMatch(/sent to 2 of 3 recipients; to\[1\] \(…0124\)/);
    await same.execute({ ...req, attempt: 2 });
    expect(twilio.messages.map((m) => m.to)).toEqual([PHONES[0], PHONES[2], PHONES[1]]);

    const other = deliveryOf(receiver);
    pass();
    instead(serverError(503));
    await failure(connector().execute(other));
    await connector().execute({ ...other, attempt: 2 });
    expect(twilio.messages.slice(3).map((m) => m.to)).toEqual([PHONES[0], PHONES[2], PHONES[0], PHONES[1], PHONES[2]]);
  });

  it('a 201 that was lost is a second text on the retry: Twilio keeps no idempotency key (the documented window)', async () => {
    const { twilio, receiver, connector, lost } = await twilioSetup([PHONES[0]!]);
    lost();
    const req = deliveryOf(receiver);
    expect((await failure(connector().execute(req))).kind).toBe('retryable');
    await connector().execute({ ...req, attempt: 2 });
    expect(twilio.messages).toHaveLength(2);
  });

  it('classifies by Twilio error code: an opted-out phone alone is terminal, a bad sender or credential or 20429 stops the round', async () => {
    const optedOut = await twilioSetup(PHONES, {}, { optedOut: [PHONES[0]!] });
    const e1 = await failure(optedOut.connector().execute(deliveryOf(optedOut.receiver)));
    expect(e1).toMatchObject({ kind: 'terminal', statusCode: 400 });
    expect(e1.message).toMatch(/to\[0\] \(…0123\).*Twilio error 21610/);
    expect(optedOut.twilio.messages.map((m) => m.to)).toEqual([PHONES[1], PHONES[2]]);

    const badFrom = await twilioSetup(PHONES, {}, { numbers: ['+18005550199'] });
    expect((await failure(badFrom.connector().execute(deliveryOf(badFrom.receiver)))).message).toMatch(/sent to 0 of 3.*Twilio error 21606/);
    expect(badFrom.forms()).toHaveLength(1);

    const limited = await twilioSetup();
    limited.pass();
    limited.instead(twilioError(429, 20429, 'Too Many Requests'));
    const e3 = await failure(limited.connector().execute(deliveryOf(limited.receiver)));
    expect(e3).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 5_000 });
    expect(limited.forms()).toHaveLength(2);
    limited.twilio.rateLimitNext(1);
    expect((await failure(limited.connector().execute(deliveryOf(limited.receiver)))).message).toMatch(/sent to 0 of 3 recipients; to\[0\] \(…0123\): twilio: rate limited \(HTTP 429\).*to\[1\] \(…0124\): not tried: the round stopped at to\[0\]/);
    expect(limited.forms()).toHaveLength(3);

    const queueFull = await twilioSetup([PHONES[0]!]);
    queueFull.instead(twilioError(400, 21611, "This 'From' number has exceeded the maximum number of queued messages"));
    expect(await failure(queueFull.connector().execute(deliveryOf(queueFull.receiver)))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 5_000 });

    const wrongToken = await twilioSetup();
    const e4 = await failure(wrongToken.connector({ env: { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: 'f'.repeat(32) } }).execute(deliveryOf(wrongToken.receiver)));
    expect(e4).toMatchObject({ kind: 'auth', statusCode: 401 });
    expect(wrongToken.forms()).toHaveLength(1);
    for (const e of [e1, e3, e4]) expect(e.message).not.toContain(ACCOUNT_SID);
  });
});

/** the escaping corpus of test/render/escaping.test.ts (copied: importing a test file would run its tests here) */
const HOSTILE: string[] = [
  '<script>alert(1)</script>',
  '"><svg onload=alert(1)>',
  '<!channel> <@U0123ABC> <http://evil.example|Open in Defender>',
  '[Open in Defender](https://evil.example/login) **bold** `code`',
  '{{DATE(2017-02-14T06:08:39Z, SHORT)}} ${incident.title} {{incident.title}}',
  '"}],"smsRecipients":[{"to":"+15555550100"}],"x":"',
  'x&To=%2B15555550100&From=+15555550101&Body=pwned&StatusCallback=https://evil.example',
  'C:\\Windows\\System32\\ \\" \\\\u0041 \\n',
  'line\u2028separator\u2029paragraph',
  '</Say><Redirect>https://evil.example/twiml</Redirect><Say>',
  'x\r\nBcc: victim@example.com\r\n\r\nbody',
  'a\u0000b\u0007c\u001bd\u007fe\u0085f\u000bg\u000ch',
  '\u202Etxt.exe \u2066isolate\u2069 \u200Fmark',
  '🔥😀👩‍💻🇺🇸 #️⃣',
  'A'.repeat(100_000),
  '&<'.repeat(50_000),
  '\uD800 lone \uDFFF surrogates',
  'nonchars \uFFFE\uFFFF',
  'javascript:alert(1) https://evil.example/login',
  '&amp;&lt;&#x3C;&#60; %0d%0a %26To%3D',
  'Z̴̡̛a̸l̵g̶o̷ 事件 инцидент',
  '\u0000',
];
const CONTROL = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;

describe('the hostile corpus, on the wire', () => {
  const set = compileTemplates(loadShippedTemplates());
  const renderedWith = (text: string) => {
    const incident = makeIncident({ title: text, description: text, devices: [{ name: text, id: null }], users: [{ name: text, userPrincipalName: null, objectId: null }], tags: [text] });
    const step = seedStep('sms', 'owner-customer', { incident, guidanceOnly: true, exclusionMatches: [`device:${text}`], receiver: 'soc-lead-sms', plannedAt: new Date().toISOString() });
    return { step, rendered: renderStep(set, step, { receiverName: 'soc-lead-sms', ticket: null, exclusionReason: 'Tier 0' }) };
  };

  it('ACS gets a well-formed SendMessageRequest whose message is the cut, normalised text and nothing else', async () => {
    const { acs, receiver, connector, bodies } = await acsSetup([PHONES[0]!]);
    const c = connector();
    for (const [i, text] of HOSTILE.entries()) {
      const { step, rendered: r } = renderedWith(text);
      const expected = outboxBody(buildSmsPayload({ step, receiverName: 'soc-lead-sms', receiver, rendered: r, operation: 'send', ticket: null }));
      await c.execute(deliveryOf(receiver, { step: { ...step, idempotencyKey: (i + 1).toString(16).padStart(64, 'c') }, rendered: r }));
      const body = bodies().at(-1)!;
      expect(Object.keys(body)).toEqual(['from', 'smsRecipients', 'message', 'smsSendOptions']);
      expect(body.smsRecipients.map((x) => x.to)).toEqual([PHONES[0]]);
      expect(body.message).toBe(expected);
      expect(body.message).not.toMatch(CONTROL);
      expect(smsSegments(body.message)).toBeLessThanOrEqual(2);
    }
    expect(acs.rejections).toEqual([]);
    expect(acs.sent.map((m) => m.to)).toEqual(HOSTILE.map(() => PHONES[0]));
  });

  it('Twilio gets exactly To, From and Body, the Body the same text, whatever the incident says', async () => {
    const { twilio, receiver, connector, forms } = await twilioSetup([PHONES[0]!]);
    const c = connector();
    for (const [i, text] of HOSTILE.entries()) {
      const { step, rendered: r } = renderedWith(text);
      const expected = outboxBody(buildSmsPayload({ step, receiverName: 'soc-lead-sms', receiver, rendered: r, operation: 'send', ticket: null }));
      await c.execute(deliveryOf(receiver, { step: { ...step, idempotencyKey: (i + 1).toString(16).padStart(64, 'b') }, rendered: r }));
      const form = forms().at(-1)!;
      expect([...form.keys()]).toEqual(['To', 'From', 'Body']);
      expect(form.get('To')).toBe(PHONES[0]);
      expect(form.get('Body')).toBe(expected);
      expect(Array.from(expected).length).toBeLessThanOrEqual(1600);
    }
    expect(twilio.rejections).toEqual([]);
    expect(twilio.messages).toHaveLength(HOSTILE.length);
  });
});

describe('through the pipeline (ACS)', () => {
  it('a recipient that failed is retried alone and a lost answer is not a second text: each phone gets each moment once', async () => {
    const acs = createFakeAcsSms({ accessKey: ACCESS_KEY, numbers: [FROM], trackedDurationMs: 60 * 60_000 });
    const s = await serve(acs.handler);
    let clock = Date.now();
    const stores = createMemoryStores({ now: () => clock });
    const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
    const sms = smsReceiver.parse({ kind: 'sms', to: PHONES.slice(0, 2), from: FROM, acsEndpoint: s.server.url, acsAccessKey: 'env:ACS_ACCESS_KEY' });
    const runtime = createRuntime({ ...kit, config: { ...kit.config, receivers: { ...kit.config.receivers, 'soc-lead-sms': sms } } }, stores, {
      outboxDir: await mkdtemp(join(tmpdir(), 'spk-sms-')),
      env: { ACS_ACCESS_KEY: ACCESS_KEY },
      fetchTimeoutMs: 2_000,
      now: () => new Date(clock),
    });
    const steps: DeliveryStep[] = [];
    for (const line of (await sampleLines()).slice(0, 40)) steps.push(...(await ingest(line, runtime.ingestDeps)).steps.filter((st) => st.receiver === 'soc-lead-sms'));
    expect(steps.length).toBeGreaterThanOrEqual(2);
    const [first, second] = steps;

    acs.failRecipient(PHONES[1]!, { httpStatusCode: 500, successful: false, errorMessage: 'Internal error' });
    expect((await processDelivery({ step: first!, attempt: 1 }, runtime.deliveryDeps)).action).toBe('requeued');
    clock += 10 * 60_000;
    expect((await processDelivery({ step: first!, attempt: 2 }, runtime.deliveryDeps)).action).toBe('sent');

    s.lost();
    expect((await processDelivery({ step: second!, attempt: 1 }, runtime.deliveryDeps)).action).toBe('requeued');
    clock += 10 * 60_000;
    expect((await processDelivery({ step: second!, attempt: 2 }, runtime.deliveryDeps)).action).toBe('sent');
    expect((await processDelivery({ step: second!, attempt: 3 }, runtime.deliveryDeps)).action).toBe('skipped-duplicate');

    const byStep = (step: DeliveryStep) => acs.sent.filter((m) => m.tag === `spk:${step.idempotencyKey.slice(0, 32)}`).map((m) => m.to).sort();
    expect(byStep(first!)).toEqual(PHONES.slice(0, 2));
    expect(byStep(second!)).toEqual(PHONES.slice(0, 2));
    expect(acs.rejections).toEqual([]);
  });
});
