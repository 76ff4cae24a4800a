/**
 * The email kind's own behaviour, live: the transport a receiver chooses; ACS Email's request (the
 * .eml's message, its Message-ID and threading headers, the Operation-Id / repeatability headers that
 * stay the same on every try), its operation followed to the end within a bound, a lost answer or a
 * still-running operation retried without a second send, Entra or HMAC auth; Graph sendMail's request
 * (x- headers only), its error codes, and the duplicate window it leaves; and the hostile corpus inert
 * in both wire formats.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { receiverSchema } from '../../functions/config/schema.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import { ACS_SCOPE, acsOperationId } from '../../functions/connectors/email/acs.js';
import { createEmailConnector, transportOf, type EmailConnectorOptions } from '../../functions/connectors/email/email.js';
import { graphScope } from '../../functions/connectors/email/graph.js';
import { decodeHeaderValue, readMime } from '../../functions/connectors/email/mime-reader.js';
import { buildEmailPayload, emailMessage } from '../../functions/connectors/email/payload.js';
import type { EmailReceiver } from '../../functions/connectors/email/schema.js';
import { deliversLive, LIVE_KINDS } from '../../functions/connectors/kinds.js';
import { outboxBody } from '../../functions/connectors/request.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { makeStep } from '../fixtures/incident.js';
import { rateLimited, reply, reset, resetMidBody, serverError, startFakeServer, type FakeHandler, type FakeResult, type FakeServer, type RecordedRequest } from '../helpers/fake-server.js';
import { htmlTagShapes, strayAngleBrackets } from '../render/markup.js';
import { loadShippedTemplates, seedStep } from '../render/shipped.js';
import { createFakeAcsEmail, createFakeGraphMail, fakeCredential, renderedEmail, type FakeAcsEmailOptions } from './fakes/email.js';

const ACCESS_KEY = Buffer.from('email-test-acs-access-key-fedcba9876543210fedcba98765').toString('base64');
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.ZW1haWwtdGVzdC10b2tlbg.c2ln';
const SENDER = 'DoNotReply@contoso.example';
const MAILBOX = 'sentinel-kit@contoso.example';
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the delivery to fail'); }, (e: unknown) => e as KitError);

interface Interposed {
  when: (req: RecordedRequest) => boolean;
  result: FakeResult;
  /** after: the fake acts first (the answer is what is lost) */
  after: boolean;
}

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(fake: FakeHandler) {
  const interposed: Interposed[] = [];
  const server = await startFakeServer(async (req, params) => {
    const i = interposed.findIndex((x) => x.when(req));
    if (i < 0) return fake(req, params);
    const [x] = interposed.splice(i, 1);
    if (x!.after) await fake(req, params);
    return x!.result;
  });
  servers.push(server);
  const inject = (method: string, result: FakeResult, after = false) => void interposed.push({ when: (r) => r.method === method, result, after });
  return { server, inject };
}

async function acsSetup(fakeOptions: Partial<FakeAcsEmailOptions> = {}, receiverFields: Partial<EmailReceiver> = {}, connectorOptions: Partial<EmailConnectorOptions> = {}) {
  const acs = createFakeAcsEmail({ accessKey: ACCESS_KEY, senders: [SENDER], ...fakeOptions });
  const { server, inject } = await serve(acs.handler);
  const receiver: EmailReceiver = { kind: 'email', to: ['soc@contoso.example', 'lead@contoso.example'], from: SENDER, acsEndpoint: server.url, acsAccessKey: 'env:ACS_ACCESS_KEY', ...receiverFields };
  const waits: number[] = [];
  const connector = createEmailConnector({
    receiverName: 'soc-email',
    receiver,
    env: { ACS_ACCESS_KEY: ACCESS_KEY },
    fetchTimeoutMs: 250,
    sleep: async (ms) => void waits.push(ms),
    ...connectorOptions,
  });
  const deliver = (step: DeliveryStep = makeStep({ kind: 'email', receiver: 'soc-email' }), attempt = 1, rendered: RenderedMessage = renderedEmail(step.incident)) =>
    connector.execute({ step, receiverName: 'soc-email', receiver, rendered, existingTicket: null, attempt });
  const posts = () => server.requests.filter((r) => r.method === 'POST');
  const gets = () => server.requests.filter((r) => r.method === 'GET');
  return { acs, server, inject, receiver, deliver, waits, posts, gets };
}

async function graphSetup(mailbox: { allowed?: boolean; rest?: boolean } = {}, receiverFields: Partial<EmailReceiver> = {}) {
  const graph = createFakeGraphMail({ token: TOKEN, mailboxes: { [MAILBOX]: mailbox } });
  const { server, inject } = await serve(graph.handler);
  const receiver: EmailReceiver = { kind: 'email', to: ['soc@contoso.example'], from: MAILBOX, graphBaseUrl: `${server.url}/v1.0`, ...receiverFields };
  const credential = fakeCredential(TOKEN);
  const connector = createEmailConnector({ receiverName: 'soc-email', receiver, credential, fetchTimeoutMs: 250 });
  const deliver = (step: DeliveryStep = makeStep({ kind: 'email', receiver: 'soc-email' }), attempt = 1, rendered: RenderedMessage = renderedEmail(step.incident)) =>
    connector.execute({ step, receiverName: 'soc-email', receiver, rendered, existingTicket: null, attempt });
  return { graph, server, inject, receiver, credential, deliver };
}

/** the message the outbox .eml of this delivery holds, read back from its bytes */
function emlOf(receiver: EmailReceiver, step: DeliveryStep, rendered: RenderedMessage) {
  const body = outboxBody(buildEmailPayload({ step, receiverName: 'soc-email', receiver, rendered, operation: 'send', ticket: null }));
  const { headers, leaves } = readMime({ path: 'soc-email/x.eml', body } as Parameters<typeof readMime>[0]);
  const crlf = (s: string | undefined) => (s ?? '').replace(/\r\n/g, '\n');
  return {
    subject: decodeHeaderValue({ path: 'x', body } as Parameters<typeof decodeHeaderValue>[0], headers.get('Subject')!),
    messageId: headers.get('Message-ID'),
    references: headers.get('References'),
    inReplyTo: headers.get('In-Reply-To'),
    text: crlf(leaves.find((l) => l.type === 'text/plain')?.text),
    html: crlf(leaves.find((l) => l.type === 'text/html')?.text),
  };
}

describe('choosing the transport', () => {
  const base = { kind: 'email' as const, to: ['soc@contoso.example'], from: SENDER };
  it('acs when acsEndpoint is set (also beside graphBaseUrl), graph when only graphBaseUrl is, or as transport says', () => {
    expect(transportOf({ ...base, acsEndpoint: 'https://contoso.communication.azure.com' }, 'r')).toBe('acs');
    expect(transportOf({ ...base, graphBaseUrl: 'https://graph.microsoft.com/v1.0' }, 'r')).toBe('graph');
    expect(transportOf({ ...base, acsEndpoint: 'https://contoso.communication.azure.com', graphBaseUrl: 'https://graph.microsoft.com/v1.0' }, 'r')).toBe('acs');
    expect(transportOf({ ...base, transport: 'graph', acsEndpoint: 'https://contoso.communication.azure.com', graphBaseUrl: 'https://graph.microsoft.com/v1.0' }, 'r')).toBe('graph');
  });

  it('a transport without its endpoint, or an access key on Graph, is a config error naming the field', () => {
    const cases: Array<[Partial<EmailReceiver>, string]> = [
      [{ transport: 'acs', graphBaseUrl: 'https://graph.microsoft.com/v1.0' }, 'receivers.r.acsEndpoint'],
      [{ transport: 'graph', acsEndpoint: 'https://contoso.communication.azure.com' }, 'receivers.r.graphBaseUrl'],
      [{ graphBaseUrl: 'https://graph.microsoft.com/v1.0', acsAccessKey: 'env:ACS_ACCESS_KEY' }, 'receivers.r.acsAccessKey'],
      [{}, 'receivers.r'],
    ];
    for (const [fields, field] of cases) {
      let err: unknown;
      try {
        transportOf({ ...base, ...fields }, 'r');
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ kind: 'config', where: { field } });
    }
  });

  it('the schema takes the new fields, refuses a literal key and an unknown transport; any one endpoint makes the receiver live', () => {
    expect(LIVE_KINDS.has('email')).toBe(true);
    const live = receiverSchema.parse({ ...base, acsEndpoint: 'https://contoso.communication.azure.com', acsAccessKey: 'env:ACS_ACCESS_KEY', replyTo: ['soc@contoso.example'] });
    expect(deliversLive(live)).toBe(true);
    expect(deliversLive(receiverSchema.parse({ ...base, graphBaseUrl: 'https://graph.microsoft.com/v1.0' }))).toBe(true);
    expect(deliversLive(receiverSchema.parse(base))).toBe(false);
    expect(receiverSchema.safeParse({ ...base, acsEndpoint: 'https://contoso.communication.azure.com', acsAccessKey: 'bGl0ZXJhbC1rZXk=' }).success).toBe(false);
    expect(deliversLive(receiverSchema.parse({ ...base, smtpHost: 'smtp-relay.contoso.example' }))).toBe(true);
    expect(receiverSchema.safeParse({ ...base, transport: 'sendmail' }).success).toBe(false);
  });

  it('replyTo reaches the .eml as Reply-To; without it the .eml has none', () => {
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const eml = (r: EmailReceiver) => outboxBody(buildEmailPayload({ step, receiverName: 'soc-email', receiver: r, rendered: renderedEmail(step.incident), operation: 'send', ticket: null }));
    expect(eml({ ...base, replyTo: ['soc@contoso.example'] })).toContain('\r\nReply-To: soc@contoso.example\r\n');
    expect(eml(base)).not.toMatch(/\r\nReply-To:/);
  });
});

describe('ACS Email', () => {
  it('sends the .eml\'s message: subject, text, HTML, Message-ID and threading headers, recipients and sender from config only', async () => {
    const { acs, deliver, receiver, posts } = await acsSetup({}, { replyTo: ['soc-replies@contoso.example'] });
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const rendered = renderedEmail(step.incident);
    await expect(deliver(step, 1, rendered)).resolves.toEqual({ action: 'sent', ticket: null, outbox: null });
    expect(acs.rejections).toEqual([]);
    expect(acs.sent).toHaveLength(1);
    const { message, headers } = acs.sent[0]!;
    const eml = emlOf(receiver, step, rendered);
    expect(message).toEqual({
      senderAddress: SENDER,
      recipients: { to: [{ address: 'soc@contoso.example' }, { address: 'lead@contoso.example' }] },
      content: { subject: eml.subject, plainText: eml.text, html: eml.html },
      replyTo: [{ address: 'soc-replies@contoso.example' }],
      headers: {
        'Message-ID': eml.messageId,
        'In-Reply-To': eml.inReplyTo,
        References: eml.references,
        'X-Sentinel-Incident': '12345',
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
      },
      userEngagementTrackingDisabled: true,
    });
    expect(eml.references).toBe('<sentinel-incident-12345@contoso.example>');
    expect(posts()[0]!.path).toBe('/emails:send');
    expect(posts()[0]!.query.get('api-version')).toBe('2023-03-31');
    expect(headers['operation-id']).toBe(acsOperationId(step.idempotencyKey));
    expect(headers['repeatability-request-id']).toBe(headers['operation-id']);
    expect(headers['repeatability-first-sent']).toBe('Thu, 26 Nov 2026 09:36:00 GMT');
  });

  it('the operation id is a UUID, the same for every try of a step and different for another step', () => {
    const a = acsOperationId('a'.repeat(64));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(acsOperationId('a'.repeat(64))).toBe(a);
    expect(acsOperationId('b'.repeat(64))).not.toBe(a);
  });

  it('follows Operation-Location until Succeeded, waiting the Retry-After ACS gives before each status check', async () => {
    const { deliver, waits, gets } = await acsSetup({ pollsUntilDone: 2, retryAfter: '3' });
    await deliver();
    expect(gets().map((r) => r.path)).toEqual(Array(3).fill(`/emails/operations/${acsOperationId('a'.repeat(64))}`));
    expect(waits).toEqual([3_000, 3_000, 3_000]);
  });

  it('a Failed operation is terminal with ACS\'s code', async () => {
    const { deliver } = await acsSetup({ outcome: () => ({ code: 'EmailDroppedAllRecipientsSuppressed', message: 'All recipients are suppressed.' }) });
    const err = await failure(deliver());
    expect(err).toMatchObject({ kind: 'terminal' });
    expect(err.message).toContain('EmailDroppedAllRecipientsSuppressed');
  });

  it('still running after the bound is retryable (not "sent"); the retry follows the operation and never sends again', async () => {
    const { acs, deliver, posts } = await acsSetup({ pollsUntilDone: 20, retryAfter: '2' }, {}, { acsMaxPolls: 3 });
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const err = await failure(deliver(step));
    expect(err).toMatchObject({ kind: 'retryable', retryAfterMs: 2_000 });
    expect(err.message).toMatch(/still Running after 3 status check/);
    acs.operations.get(acsOperationId(step.idempotencyKey))!.pollsLeft = 0;
    await expect(deliver(step, 2)).resolves.toMatchObject({ action: 'sent' });
    expect(posts()).toHaveLength(1);
    expect(acs.sent).toHaveLength(1);
  });

  it('a Retry-After longer than the wait budget is handed to the re-queued retry instead of slept on', async () => {
    const { deliver, waits } = await acsSetup({ retryAfter: '60' });
    expect(await failure(deliver())).toMatchObject({ kind: 'retryable', retryAfterMs: 60_000 });
    expect(waits).toEqual([]);
  });

  it('a send whose answer was lost after ACS took it is not sent twice: the retry finds the operation', async () => {
    for (const lost of [reset(), resetMidBody(202), serverError(503)]) {
      const { acs, inject, deliver, posts } = await acsSetup();
      const step = makeStep({ kind: 'email', receiver: 'soc-email' });
      inject('POST', lost, true);
      expect((await failure(deliver(step))).kind).toBe('retryable');
      await expect(deliver(step, 2)).resolves.toMatchObject({ action: 'sent' });
      expect(acs.sent).toHaveLength(1);
      expect(posts()).toHaveLength(1);
    }
  });

  it('a retry of a send that never reached ACS looks, finds nothing (404) and sends once', async () => {
    const { acs, inject, deliver, gets } = await acsSetup();
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    inject('POST', reset());
    await failure(deliver(step));
    await deliver(step, 2);
    expect(acs.sent).toHaveLength(1);
    expect(gets()[0]!.path).toBe(`/emails/operations/${acsOperationId(step.idempotencyKey)}`);
  });

  it('a status check that fails is retryable, and the retry does not send again; a 429 keeps its Retry-After', async () => {
    const { acs, inject, deliver } = await acsSetup();
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    inject('GET', rateLimited(11));
    expect(await failure(deliver(step))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 11_000 });
    inject('GET', reply(200, '<html>Gateway Timeout</html>', { 'content-type': 'text/html' }));
    expect((await failure(deliver(step, 2))).kind).toBe('retryable');
    await deliver(step, 3);
    expect(acs.sent).toHaveLength(1);
  });

  it('a 409 for a reused Operation-Id follows the operation that exists', async () => {
    const { acs, deliver } = await acsSetup({ reusedOperationId: 'conflict' });
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    await deliver(step);
    // a first try run twice (a redelivered queue message whose count did not rise)
    await expect(deliver(step, 1)).resolves.toMatchObject({ action: 'sent' });
    expect(acs.sent).toHaveLength(1);
  });

  it('an Operation-Location on another host is not followed: the status is read from the receiver\'s endpoint', async () => {
    const acs = createFakeAcsEmail({ accessKey: ACCESS_KEY, senders: [SENDER] });
    const elsewhere = await startFakeServer(() => reply(200, { id: 'x', status: 'Succeeded' }));
    // the credential would go with a request there: the kit reads the operation on its own endpoint
    servers.push(elsewhere);
    const { server } = await serve(async (req, params) => {
      const r = await acs.handler(req, params);
      if (req.method !== 'POST' || 'fault' in r) return r;
      const id = (r.body as { id: string }).id;
      return { ...r, headers: { ...r.headers, 'operation-location': `${elsewhere.url}/emails/operations/${id}?api-version=2023-03-31` } };
    });
    const receiver: EmailReceiver = { kind: 'email', to: ['soc@contoso.example'], from: SENDER, acsEndpoint: server.url, acsAccessKey: 'env:ACS_ACCESS_KEY' };
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    await createEmailConnector({ receiverName: 'soc-email', receiver, env: { ACS_ACCESS_KEY: ACCESS_KEY }, sleep: async () => {} }).execute({
      step,
      receiverName: 'soc-email',
      receiver,
      rendered: renderedEmail(step.incident),
      existingTicket: null,
    });
    expect(elsewhere.requests).toHaveLength(0);
    const polls = server.requests.filter((r) => r.method === 'GET');
    expect(polls.length).toBeGreaterThan(0);
    for (const r of polls) expect(r.path).toBe(`/emails/operations/${acsOperationId(step.idempotencyKey)}`);
  });

  it('without acsAccessKey, the managed identity\'s Entra token for ACS signs in, once for many deliveries', async () => {
    const credential = fakeCredential(TOKEN);
    const { acs, deliver } = await acsSetup({ accessKey: undefined, bearerToken: TOKEN }, { acsAccessKey: undefined }, { credential });
    await deliver(makeStep({ kind: 'email', receiver: 'soc-email', idempotencyKey: '1'.repeat(64) }));
    await deliver(makeStep({ kind: 'email', receiver: 'soc-email', idempotencyKey: '2'.repeat(64) }));
    expect(acs.sent).toHaveLength(2);
    expect(credential.scopes).toEqual([[ACS_SCOPE]]);
    expect(ACS_SCOPE).toBe('https://communication.azure.com/.default');
  });

  it('a wrong access key is auth; the fake verified the signature of every accepted request', async () => {
    const { acs, deliver } = await acsSetup({ accessKey: Buffer.from('another-key-entirely-0123456789abcdef').toString('base64') });
    expect((await failure(deliver())).kind).toBe('auth');
    expect(acs.rejections.join(' ')).toContain('signature does not match');
  });

  it('a delivery cancelled while it waits for the operation is retryable', async () => {
    const { receiver } = await acsSetup({ retryAfter: '5' });
    const connector = createEmailConnector({ receiverName: 'soc-email', receiver, env: { ACS_ACCESS_KEY: ACCESS_KEY }, acsPollBudgetMs: 60_000 });
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await failure(connector.execute({ step, receiverName: 'soc-email', receiver, rendered: renderedEmail(step.incident), existingTicket: null, signal: controller.signal }));
    expect(err.kind).toBe('retryable');
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});

describe('Graph sendMail', () => {
  it('POSTs users/{from}/sendMail with the .eml\'s subject and HTML, config recipients, x- headers only and saveToSentItems false', async () => {
    const { graph, server, deliver, receiver, credential } = await graphSetup({}, { replyTo: ['soc@contoso.example'] });
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const rendered = renderedEmail(step.incident);
    await expect(deliver(step, 1, rendered)).resolves.toEqual({ action: 'sent', ticket: null, outbox: null });
    expect(graph.rejections).toEqual([]);
    expect(server.requests[0]!.path).toBe(`/v1.0/users/${encodeURIComponent(MAILBOX)}/sendMail`);
    expect(credential.scopes).toEqual([[graphScope(receiver.graphBaseUrl!)]]);
    const eml = emlOf(receiver, step, rendered);
    expect(graph.sent[0]).toEqual({
      user: MAILBOX,
      saveToSentItems: false,
      message: {
        subject: eml.subject,
        body: { contentType: 'HTML', content: eml.html },
        toRecipients: [{ emailAddress: { address: 'soc@contoso.example' } }],
        replyTo: [{ emailAddress: { address: 'soc@contoso.example' } }],
        internetMessageHeaders: [
          { name: 'X-Sentinel-Incident', value: '12345' },
          { name: 'X-SPK-Thread', value: eml.references },
          { name: 'X-SPK-Message-ID', value: eml.messageId },
          { name: 'X-Auto-Response-Suppress', value: 'All' },
        ],
      },
    });
  });

  it('asks for the Graph host\'s own scope: the global cloud and national clouds', () => {
    expect(graphScope('https://graph.microsoft.com/v1.0')).toBe('https://graph.microsoft.com/.default');
    expect(graphScope('https://graph.microsoft.us/v1.0')).toBe('https://graph.microsoft.us/.default');
    expect(graphScope('https://microsoftgraph.chinacloudapi.cn/v1.0')).toBe('https://microsoftgraph.chinacloudapi.cn/.default');
  });

  it('classifies Graph\'s errors: access policy and permission as auth, a mailbox without REST or an unknown user as terminal', async () => {
    const denied = await graphSetup({ allowed: false });
    const e1 = await failure(denied.deliver());
    expect(e1).toMatchObject({ kind: 'auth', statusCode: 403 });
    expect(e1.message).toContain('ErrorAccessDenied');
    expect(e1.message).toContain('application access policy');
    const onPrem = await graphSetup({ rest: false });
    expect(await failure(onPrem.deliver())).toMatchObject({ kind: 'terminal', statusCode: 404, message: expect.stringContaining('MailboxNotEnabledForRESTAPI') });
    const unknown = await graphSetup({}, { from: 'nobody@contoso.example' });
    expect(await failure(unknown.deliver())).toMatchObject({ kind: 'terminal', message: expect.stringContaining('ErrorInvalidUser') });
    const { inject, deliver } = await graphSetup();
    inject('POST', reply(403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } }));
    expect(await failure(deliver())).toMatchObject({ kind: 'auth', message: expect.stringContaining('Mail.Send') });
  });

  it('429 keeps Graph\'s Retry-After; 503 and 504 are retryable, with Retry-After when given', async () => {
    const { inject, deliver, graph } = await graphSetup();
    inject('POST', reply(429, { error: { code: 'ApplicationThrottled', message: 'Application is over its MailboxConcurrency limit.' } }, { 'retry-after': '2.5' }));
    expect(await failure(deliver())).toMatchObject({ kind: 'rate-limited', retryAfterMs: 2_500 });
    inject('POST', serverError(503, { 'retry-after': '9' }));
    expect(await failure(deliver())).toMatchObject({ kind: 'retryable', retryAfterMs: 9_000 });
    inject('POST', serverError(504));
    expect((await failure(deliver())).kind).toBe('retryable');
    expect(graph.sent).toHaveLength(0);
  });

  it('a 401 drops the cached token, so the next delivery asks the identity again', async () => {
    const { inject, deliver, credential } = await graphSetup();
    await deliver();
    inject('POST', reply(401, { error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed, the token is expired.' } }));
    expect((await failure(deliver())).kind).toBe('auth');
    await deliver();
    expect(credential.scopes).toHaveLength(2);
  });

  it('has no idempotency: a 202 lost after Graph took the mail is sent again by the retry (the documented duplicate window)', async () => {
    const { graph, inject, deliver } = await graphSetup();
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    inject('POST', reset(), true);
    expect((await failure(deliver(step))).kind).toBe('retryable');
    await deliver(step, 2);
    expect(graph.sent).toHaveLength(2);
    const id = (n: number) => graph.sent[n]!.message.internetMessageHeaders.find((h: { name: string }) => h.name === 'X-SPK-Message-ID').value;
    expect(id(1)).toBe(id(0));
  });
});

// a sample of test/render/escaping.test.ts's corpus: what attacks HTML, headers, JSON and the limits
const HOSTILE: string[] = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(1)>',
  '</td></tr></table><a href="https://evil.example">click</a>',
  '<!-- x --> <![CDATA[ y ]]>',
  'x\r\nBcc: victim@example.com\r\nSubject: pwned\r\n\r\nbody',
  '=?UTF-8?B?PHNjcmlwdD4=?= %0d%0aBcc: v@example.com',
  'a\u0000b\u0007c\u001bd\u007fe\u0085f\u000bg\u000ch',
  'line\u2028separator\u2029paragraph',
  '"}],"headers":{"Bcc":"victim@example.com"},"x":[{"a":"',
  '{"name":"Bcc","value":"victim@example.com"}',
  '\u202Etxt.exe \u2066isolate\u2069 \u200Fmark',
  '🔥😀👩‍💻🇺🇸 #️⃣',
  'A'.repeat(100_000),
  '&<'.repeat(50_000),
  '\uD800 lone \uDFFF surrogates',
  'javascript:alert(1)',
  '"Evil" <evil@example.com>',
  '&amp;&lt;&#x3C;&#60;',
];

describe('the hostile corpus, through the shipped template, as ACS and Graph get it', () => {
  const set = compileTemplates(loadShippedTemplates());
  const render = (text: string) => {
    const step = seedStep('email', 'owner-customer', {
      incident: {
        ...seedStep('email', 'owner-customer').incident,
        title: text,
        description: text,
        devices: [{ name: text, id: null }],
        users: [{ name: text, userPrincipalName: null, objectId: null }],
        alerts: { count: 1, titles: [text], products: [], tactics: [] },
        tags: [text],
      },
    });
    return { step, rendered: renderStep(set, step, { receiverName: 'soc-email', ticket: null }) };
  };
  // <br> is the kit's own rendering of a line break in incident text (the br helper)
  const tags = (html: string) => htmlTagShapes(html).filter((t) => t !== 'br');
  // eslint-disable-next-line no-control-regex
  const LINE_BREAK_OR_CONTROL = /[\u0000-\u001f\u007f\u0085\u2028\u2029]/;

  it('adds no recipient, header or HTML element, and keeps the subject one line', async () => {
    const acs = await acsSetup();
    const graph = await graphSetup();
    const baseline = render('Multi-stage incident');
    await acs.deliver(baseline.step, 1, baseline.rendered);
    await graph.deliver(baseline.step, 1, baseline.rendered);
    const acsBase = acs.acs.sent[0]!.message;
    const graphBase = graph.graph.sent[0]!.message;
    for (const [i, text] of HOSTILE.entries()) {
      const { step, rendered } = render(text);
      const s = { ...step, idempotencyKey: `${i}`.padStart(64, 'h') };
      await acs.deliver(s, 1, rendered);
      await graph.deliver(s, 1, rendered);
    }
    expect(acs.acs.rejections).toEqual([]);
    expect(graph.graph.rejections).toEqual([]);
    expect(acs.acs.sent).toHaveLength(HOSTILE.length + 1);
    for (const { message: m } of acs.acs.sent.slice(1)) {
      expect(m.senderAddress).toBe(acsBase.senderAddress);
      expect(m.recipients).toEqual(acsBase.recipients);
      expect(Object.keys(m.headers!)).toEqual(Object.keys(acsBase.headers!));
      expect(m.headers!.References).toBe(acsBase.headers!.References);
      expect(m.content.subject).not.toMatch(LINE_BREAK_OR_CONTROL);
      expect(Array.from(m.content.subject).length).toBeLessThanOrEqual(255);
      expect(tags(m.content.html!)).toEqual(tags(acsBase.content.html!));
      expect(m.content.html).not.toMatch(/<script|<img|<svg|<a href="https:\/\/evil|=\s*["']?\s*javascript:/i);
      expect(strayAngleBrackets(m.content.html!)).toBe(0);
    }
    for (const { message: m } of graph.graph.sent.slice(1)) {
      expect(m.toRecipients).toEqual(graphBase.toRecipients);
      expect(m.internetMessageHeaders.map((h: { name: string }) => h.name)).toEqual(graphBase.internetMessageHeaders.map((h: { name: string }) => h.name));
      expect(m.subject).not.toMatch(LINE_BREAK_OR_CONTROL);
      expect(tags(m.body.content)).toEqual(tags(graphBase.body.content));
    }
    // the text the people read is the same text the .eml holds
    const last = render(HOSTILE[0]!);
    expect(acs.acs.sent[1]!.message.content.subject).toBe(emailMessage({ step: last.step, receiverName: 'soc-email', receiver: acs.receiver, rendered: last.rendered, operation: 'send', ticket: null }).subject);
  });
});
