/**
 * Voice, live through Twilio Calls: the wire format (exactly To, From and the builder's Twiml, one call per
 * number), each number its own unit across the tries of a step (and the windows in which a phone rings
 * twice), Twilio's error codes per recipient or for the whole round, the credential, the "press 1"
 * <Gather> in what Twilio receives, configuration errors before any request, and the hostile corpus inert
 * in the TwiML Twilio reads out.
 */
import { describe, expect, it } from 'vitest';
import { createConnector } from '../../functions/connectors/registry.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import { createVoiceConnector } from '../../functions/connectors/voice/call.js';
import { ACK_PROMPT, buildVoicePayload } from '../../functions/connectors/voice/payload.js';
import { voiceReceiver, type VoiceReceiver } from '../../functions/connectors/voice/schema.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { HOSTILE, TWIML_HOSTILE } from '../fixtures/hostile.js';
import { makeIncident } from '../fixtures/incident.js';
import { failure, useFakeServers } from '../helpers/errors.js';
import { reset, serverError, type FakeHandler, type FakeResult } from '../helpers/fake-server.js';
import { parseXml, xmlShape, type XmlElement } from '../render/markup.js';
import { loadShippedTemplates, seedStep } from '../render/shipped.js';
import { twilioError } from './fakes/sms.js';
import { createFakeTwilioCalls, type FakeTwilioCallsOptions } from './fakes/voice.js';

const PHONES = ['+14255550123', '+14255550124', '+14255550125'];
const FROM = '+18005550100';
const ACCOUNT_SID = 'AC' + 'ab'.repeat(16);
const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
const API_KEY = { sid: 'SK' + 'cd'.repeat(16), secret: 'api-key-secret-0123456789abcdefghij' };
const ENV = { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_KEY_SID: API_KEY.sid, TWILIO_API_KEY_SECRET: API_KEY.secret };
const ACK_URL = 'https://spk-func.azurewebsites.net/api/ack/voice';
const NAME = 'soc-lead-call';

const templates = compileTemplates(loadShippedTemplates());
const startServer = useFakeServers();

/**
 * The fake behind a script of answers for the next requests: 'pass' lets the fake answer, 'lost' lets it
 * place the call and then drops the connection (the 201 never arrives), anything else answers instead.
 */
async function twilioSetup(options: { to?: string[]; receiver?: Record<string, unknown>; fake?: Partial<FakeTwilioCallsOptions> } = {}) {
  const twilio = createFakeTwilioCalls({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiKey: API_KEY, callerIds: [FROM], ...options.fake });
  const script: Array<'pass' | 'lost' | FakeResult> = [];
  const handler: FakeHandler = async (req, params) => {
    const next = script.shift() ?? 'pass';
    if (next === 'pass') return twilio.handler(req, params);
    if (next === 'lost') return (await twilio.handler(req, params), reset());
    return next;
  };
  const server = await startServer(handler);
  const receiver = voiceReceiver.parse({
    kind: 'voice',
    to: options.to ?? PHONES,
    from: FROM,
    twilioAccountSid: 'env:TWILIO_ACCOUNT_SID',
    twilioAuthToken: 'env:TWILIO_AUTH_TOKEN',
    twilioApiUrl: server.url,
    ...options.receiver,
  });
  const connector = (more: Partial<Parameters<typeof createVoiceConnector>[0]> = {}) => createVoiceConnector({ receiverName: NAME, receiver, env: ENV, fetchTimeoutMs: 1_000, ...more });
  const forms = () => server.requests.filter((r) => r.path === twilio.path).map((r) => new URLSearchParams(r.body));
  return { twilio, server, receiver, connector, forms, answers: (...next: Array<'pass' | 'lost' | FakeResult>) => script.push(...next) };
}

let steps = 0;
function deliveryOf(receiver: VoiceReceiver, step?: DeliveryStep): DeliveryRequest {
  const s = step ?? seedStep('voice', 'awaiting-customer-action', { receiver: NAME, idempotencyKey: (++steps).toString(16).padStart(64, 'e'), plannedAt: new Date().toISOString() });
  return { step: s, receiverName: NAME, receiver, rendered: renderStep(templates, s, { receiverName: NAME, ticket: null }), existingTicket: null, attempt: 1 };
}

const basicUser = (authorization: unknown) => Buffer.from(String(authorization).slice('Basic '.length), 'base64').toString();

describe('Twilio Calls create', () => {
  it('places one call per distinct number, with exactly To, From and the Twiml the builder made, as the account', async () => {
    const { twilio, server, receiver, connector, forms } = await twilioSetup({ to: [...PHONES, PHONES[0]!] });
    const req = deliveryOf(receiver);
    await expect(connector().execute(req)).resolves.toEqual({ action: 'sent', ticket: null, outbox: null });
    expect(twilio.rejections).toEqual([]);
    const built = buildVoicePayload({ step: req.step, receiverName: NAME, receiver, rendered: req.rendered, operation: 'send', ticket: null });
    const twiml = 'text' in built.body ? built.body.text : '';
    expect(twiml.length).toBeGreaterThan(100);
    expect(forms().map((f) => [...f.entries()])).toEqual(PHONES.map((to) => [['To', to], ['From', FROM], ['Twiml', twiml]]));
    expect(server.requests.map((r) => [r.method, r.headers['content-type']])).toEqual(PHONES.map(() => ['POST', 'application/x-www-form-urlencoded']));
    expect(basicUser(server.requests[0]!.headers.authorization)).toBe(`${ACCOUNT_SID}:${AUTH_TOKEN}`);
    expect(twilio.calls.map((c) => c.to)).toEqual(PHONES);
  });

  it('an API key pair wins over the Auth Token; half a pair, or a SID of the wrong shape, is a configuration error before any request', async () => {
    const { twilio, server, receiver, connector } = await twilioSetup({ to: [PHONES[0]!], receiver: { twilioApiKeySid: 'env:TWILIO_API_KEY_SID', twilioApiKeySecret: 'env:TWILIO_API_KEY_SECRET' } });
    await connector().execute(deliveryOf(receiver));
    expect(basicUser(server.requests[0]!.headers.authorization)).toBe(`${API_KEY.sid}:${API_KEY.secret}`);
    expect(twilio.calls).toHaveLength(1);

    const half = { ...receiver, twilioApiKeySecret: undefined };
    expect(await failure(connector({ receiver: half }).execute(deliveryOf(half)))).toMatchObject({ kind: 'config', where: { field: `receivers.${NAME}.twilioApiKeySecret` } });
    const e2 = await failure(connector({ env: { ...ENV, TWILIO_API_KEY_SID: 'not-a-key-sid' } }).execute(deliveryOf(receiver)));
    expect(e2).toMatchObject({ kind: 'config', where: { field: `receivers.${NAME}.twilioApiKeySid` } });
    expect(e2.message).not.toContain('not-a-key-sid');
    const e3 = await failure(connector({ env: { ...ENV, TWILIO_ACCOUNT_SID: 'not-an-account-sid' } }).execute(deliveryOf(receiver)));
    expect(e3).toMatchObject({ kind: 'config', where: { field: `receivers.${NAME}.twilioAccountSid` } });
    expect(e3.message).not.toContain('not-an-account-sid');
    expect(server.requests).toHaveLength(1);
  });

  it('needs from, and with ackUrl the Auth Token (it checks the acknowledgement), even when an API key places the call', async () => {
    const { server, receiver, connector } = await twilioSetup({ to: [PHONES[0]!] });
    const noFrom = { ...receiver, from: undefined };
    const e1 = await failure(connector({ receiver: noFrom }).execute(deliveryOf(noFrom)));
    expect(e1).toMatchObject({ kind: 'config', where: { field: `receivers.${NAME}.from` } });
    expect(e1.message).toMatch(/^receivers\.soc-lead-call\.from is not set/);

    const keyOnly = { ...receiver, twilioAuthToken: undefined, twilioApiKeySid: 'env:TWILIO_API_KEY_SID', twilioApiKeySecret: 'env:TWILIO_API_KEY_SECRET', ackUrl: ACK_URL };
    const e2 = await failure(connector({ receiver: keyOnly }).execute(deliveryOf(keyOnly)));
    expect(e2).toMatchObject({ kind: 'config', where: { field: `receivers.${NAME}.twilioAuthToken` } });
    expect(e2.message).toMatch(/ackUrl.*signature.*Auth Token/);
    // the reference is there, its app setting is not
    const unset = { ...keyOnly, twilioAuthToken: 'env:TWILIO_AUTH_TOKEN' };
    const { TWILIO_AUTH_TOKEN: _token, ...withoutToken } = ENV;
    expect(await failure(connector({ receiver: unset, env: withoutToken }).execute(deliveryOf(unset)))).toMatchObject({ kind: 'config', where: { field: `receivers.${NAME}.twilioAuthToken` } });
    // without ackUrl an API key alone is enough
    const keyNoAck = { ...keyOnly, ackUrl: undefined };
    await connector({ receiver: keyNoAck, env: withoutToken }).execute(deliveryOf(keyNoAck));
    expect(server.requests).toHaveLength(1);
  });

  it('with ackUrl, Twilio receives the spoken text inside a "press 1" <Gather> whose action names the receiver, the step and the incident', async () => {
    const { twilio, receiver, connector, forms } = await twilioSetup({ to: [PHONES[0]!], receiver: { ackUrl: ACK_URL } });
    const req = deliveryOf(receiver);
    await connector().execute(req);
    expect(twilio.rejections).toEqual([]);
    const tree = parseXml(forms()[0]!.get('Twiml')!);
    expect(xmlShape(tree)).toBe('Response(Gather(Say,Pause,Say,Say),Say)');
    const gather = tree.children[0]!;
    expect(gather.attributes).toMatchObject({ input: 'dtmf', numDigits: '1', method: 'POST' });
    const action = new URL(gather.attributes.action!.replace(/&amp;/g, '&'));
    expect(`${action.origin}${action.pathname}`).toBe(ACK_URL);
    expect(Object.fromEntries(action.searchParams)).toEqual({ receiver: NAME, step: req.step.idempotencyKey, incident: req.step.incidentKey });
    expect(gather.children.at(-1)!.text).toBe(ACK_PROMPT);
  });
});

describe('each number is its own unit', () => {
  it('recipient 2 failing retryably: the same worker calls only it again; another worker (no memory) calls 1 and 3 again — the documented window', async () => {
    const { twilio, receiver, connector, answers } = await twilioSetup();
    const called = () => twilio.calls.map((c) => c.to);
    const onlyTheSecond = { kind: 'retryable', statusCode: 503, message: expect.stringMatching(/^voice \(twilio\): called 2 of 3 recipients; to\[1\] \(…0124\): [^+]*$/) };
    const first = deliveryOf(receiver);
    const worker = connector();
    answers('pass', serverError(503));
    await expect(worker.execute(first)).rejects.toMatchObject(onlyTheSecond);
    await expect(worker.execute({ ...first, attempt: 2 })).resolves.toMatchObject({ action: 'sent' });
    expect(called()).toEqual([PHONES[0], PHONES[2], PHONES[1]]);

    const second = deliveryOf(receiver);
    answers('pass', serverError(503));
    await expect(connector().execute(second)).rejects.toMatchObject(onlyTheSecond);
    await expect(connector().execute({ ...second, attempt: 2 })).resolves.toMatchObject({ action: 'sent' });
    expect(called().slice(3)).toEqual([PHONES[0], PHONES[2], PHONES[0], PHONES[1], PHONES[2]]);
  });

  it('a call whose 201 was lost is placed again by the retry: Twilio keeps no idempotency key (the documented window)', async () => {
    const { twilio, receiver, connector, answers } = await twilioSetup({ to: [PHONES[0]!] });
    answers('lost');
    const req = deliveryOf(receiver);
    const c = connector();
    expect((await failure(c.execute(req))).kind).toBe('retryable');
    await c.execute({ ...req, attempt: 2 });
    expect(twilio.calls).toHaveLength(2);
    expect(new Set(twilio.calls.map((x) => x.sid)).size).toBe(2);
  });

  it('a number only Twilio refuses (geo permission, invalid, blocked) fails the step as terminal and does not stop the others', async () => {
    const { twilio, receiver, connector, answers } = await twilioSetup({ fake: { geoBlocked: ['+1425555012'] }, to: ['+14255550123', '+442079460000', '+33142685300'] });
    const e1 = await failure(connector().execute(deliveryOf(receiver)));
    expect(e1).toMatchObject({ kind: 'terminal', statusCode: 400 });
    expect(e1.message).toMatch(/^voice \(twilio\): called 2 of 3 recipients; to\[0\] \(…0123\): .*Twilio error 21215.*Geo permissions/);
    expect(twilio.calls.map((c) => c.to)).toEqual(['+442079460000', '+33142685300']);

    for (const code of [13223, 13224, 21216, 21217]) {
      answers(twilioError(400, code, 'refused'));
      const e = await failure(connector().execute(deliveryOf(receiver)));
      expect(e.kind).toBe('terminal');
      expect(e.message).toContain(`Twilio error ${code}`);
    }
    expect(twilio.calls).toHaveLength(2 + 4 * 2);
  });

  it('a failure of the account, the caller id or Twilio\'s load stops the round', async () => {
    const badCallerId = await twilioSetup({ fake: { callerIds: ['+18005550199'] } });
    const e1 = await failure(badCallerId.connector().execute(deliveryOf(badCallerId.receiver)));
    expect(e1).toMatchObject({ kind: 'config', statusCode: 400 });
    expect(e1.message).toMatch(/called 0 of 3.*to\[0\] \(…0123\).*Twilio error 21210.*verified caller ID.*to\[1\] \(…0124\): not tried: the round stopped at to\[0\] \(config\)/);
    expect(badCallerId.forms()).toHaveLength(1);

    const limited = await twilioSetup();
    limited.answers('pass', twilioError(429, 20429, 'Too Many Requests'));
    expect(await failure(limited.connector().execute(deliveryOf(limited.receiver)))).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 5_000 });
    expect(limited.forms()).toHaveLength(2);
    limited.answers(twilioError(400, 10004, 'Call concurrency limit exceeded'));
    expect(await failure(limited.connector().execute(deliveryOf(limited.receiver)))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 5_000 });
    expect(limited.forms()).toHaveLength(3);

    const wrongToken = await twilioSetup();
    const e3 = await failure(wrongToken.connector({ env: { ...ENV, TWILIO_AUTH_TOKEN: 'f'.repeat(32) } }).execute(deliveryOf(wrongToken.receiver)));
    expect(e3).toMatchObject({ kind: 'auth', statusCode: 401 });
    expect(wrongToken.forms()).toHaveLength(1);

    const notACall = await twilioSetup();
    notACall.answers(twilioError(200, 0, 'x'));
    const e4 = await failure(notACall.connector().execute(deliveryOf(notACall.receiver)));
    expect(e4).toMatchObject({ kind: 'terminal', statusCode: 200 });
    expect(e4.message).toMatch(/not a Twilio Call/);
    expect(notACall.forms()).toHaveLength(1);
    for (const e of [e1, e3, e4]) expect(e.message).not.toContain(ACCOUNT_SID);
  });

  it('is what the registry loads for a voice receiver with its Account SID', async () => {
    const { twilio, receiver } = await twilioSetup({ to: [PHONES[0]!] });
    const live = createConnector(NAME, receiver, { outboxDir: '/nonexistent', env: ENV, fetchTimeoutMs: 1_000 });
    await expect(live.execute(deliveryOf(receiver))).resolves.toMatchObject({ action: 'sent' });
    expect(twilio.calls).toHaveLength(1);
  });
});

/** the character data of an element as a listener hears it: the five entities and character references decoded */
function spoken(el: XmlElement): string {
  return el.text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e]!,
  );
}

const elements = (el: XmlElement): XmlElement[] => [el, ...el.children.flatMap(elements)];

describe('the hostile corpus, in the TwiML Twilio receives', () => {
  const renderedWith = (text: string, key: number) => {
    const incident = makeIncident({ title: text, description: text, devices: [{ name: text, id: null }], users: [{ name: text, userPrincipalName: null, objectId: null }], tags: [text] });
    const step = seedStep('voice', 'owner-customer', { incident, guidanceOnly: true, exclusionMatches: [`device:${text}`], receiver: NAME, idempotencyKey: key.toString(16).padStart(64, 'c'), plannedAt: new Date().toISOString() });
    return { step, rendered: renderStep(templates, step, { receiverName: NAME, ticket: null, exclusionReason: 'Tier 0' }) };
  };

  it.each([
    ['without ackUrl', {}],
    ['with ackUrl', { ackUrl: ACK_URL }],
  ])('%s: the element tree and every attribute are the template\'s; the incident is only character data inside <Say>', async (_label, extra) => {
    const { twilio, receiver, connector, forms } = await twilioSetup({ to: [PHONES[0]!], receiver: extra });
    const c = connector();
    const corpus = [...HOSTILE, ...TWIML_HOSTILE];
    const trees: XmlElement[] = [];
    for (const [i, text] of ['Ransomware on FILESRV-02', ...corpus].entries()) {
      const { step, rendered } = renderedWith(text, i + 1);
      await c.execute({ step, receiverName: NAME, receiver, rendered, existingTicket: null, attempt: 1 });
      const twiml = forms().at(-1)!.get('Twiml')!;
      expect(twiml.length).toBeLessThanOrEqual(4000);
      trees.push(parseXml(twiml));
    }
    expect(twilio.rejections).toEqual([]);
    expect(twilio.calls).toHaveLength(corpus.length + 1);
    const [baseline, ...hostile] = trees;
    const attributes = (tree: XmlElement) => elements(tree).map((el) => el.attributes);
    // the ack action names the step, which differs per delivery: compare it without the query
    const withoutStep = (tree: XmlElement) => attributes(tree).map((a) => (a.action ? { ...a, action: a.action.split('?')[0] } : a));
    for (const [i, tree] of hostile.entries()) {
      expect(xmlShape(tree), corpus[i]!.slice(0, 40)).toBe(xmlShape(baseline!));
      expect(withoutStep(tree), corpus[i]!.slice(0, 40)).toEqual(withoutStep(baseline!));
      for (const el of elements(tree)) if (el.name !== 'Say') expect(el.text.trim()).toBe('');
    }
    // the strings aimed at TwiML arrive as words to be read out, verbatim
    for (const [i, text] of TWIML_HOSTILE.entries()) {
      const said = elements(hostile[HOSTILE.length + i]!).filter((el) => el.name === 'Say').map(spoken).join('\n');
      expect(said).toContain(text);
    }
  });
});
