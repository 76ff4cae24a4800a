/**
 * Email against its fakes, through the one notifier contract, one harness per transport: Azure
 * Communication Services Email (access-key HMAC; the send is followed to its operation's end) and
 * Microsoft Graph sendMail (managed identity token). email.test.ts covers what is particular to each.
 */
import { ACS_MAX_BYTES } from '../../functions/connectors/email/acs.js';
import { createEmailConnector } from '../../functions/connectors/email/email.js';
import { GRAPH_MAX_BYTES } from '../../functions/connectors/email/graph.js';
import type { EmailReceiver } from '../../functions/connectors/email/schema.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { reply, startFakeServer, type FakeHandler, type FakeResult } from '../helpers/fake-server.js';
import { createFakeAcsEmail, createFakeGraphMail, fakeCredential, renderedEmail } from './fakes/email.js';
import { notifierContract, type NotifierHarness } from './notifiers/contract.js';

const ACCESS_KEY = Buffer.from('contract-test-acs-access-key-0123456789abcdef0123456789').toString('base64');
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.Y29udHJhY3QtZ3JhcGgtdG9rZW4.c2lnbmF0dXJl';
const SENDER = 'DoNotReply@contoso.example';
const noWait = async () => {};

async function serve(fakeHandler: FakeHandler) {
  const queued: Array<{ result: FakeResult; left: number }> = [];
  const handler: FakeHandler = (req, params) => {
    const next = queued.find((q) => q.left > 0);
    if (!next) return fakeHandler(req, params);
    next.left--;
    return next.result;
  };
  const server = await startFakeServer(handler);
  return { server, answerNext: (result: FakeResult, times = 1) => void queued.push({ result, left: times }) };
}

/** a message whose HTML alone is over `bytes` */
const oversized = (bytes: number) => renderedEmail(makeIncident(), { html: `<!DOCTYPE html><html><body><p>${'Raspberry Robin worm spread. '.repeat(Math.ceil(bytes / 29) + 10)}</p></body></html>` });

async function makeAcsHarness(): Promise<NotifierHarness> {
  const acs = createFakeAcsEmail({ accessKey: ACCESS_KEY, senders: [SENDER] });
  const { server, answerNext } = await serve(acs.handler);
  const receiver: EmailReceiver = { kind: 'email', to: ['soc@contoso.example'], from: SENDER, acsEndpoint: server.url, acsAccessKey: 'env:ACS_ACCESS_KEY' };
  const step = makeStep({ kind: 'email', receiver: 'soc-email' });
  const request = (rendered = renderedEmail(step.incident)): DeliveryRequest => ({ step, receiverName: 'soc-email', receiver, rendered, existingTicket: null });
  const op = { id: '00000000-0000-8000-8000-000000000000' };
  return {
    // the fake never answers a hang, so the timeout only bounds the test; it must leave room for a 10 MB body on a busy machine
    connector: () => createEmailConnector({ receiverName: 'soc-email', receiver, env: { ACS_ACCESS_KEY: ACCESS_KEY }, fetchTimeoutMs: 2_000, sleep: noWait }),
    request: () => request(),
    oversizedRequest: () => request(oversized(ACS_MAX_BYTES)),
    maxBytes: ACS_MAX_BYTES,
    answerNext,
    successesThatFailed: [
      { reply: reply(202, { ...op, status: 'Failed', error: { code: 'EmailDroppedAllRecipientsSuppressed', message: 'All recipients are on the suppression list.' } }), kind: 'terminal' },
      { reply: reply(202, { ...op, status: 'Canceled' }), kind: 'terminal' },
      // a 202 ACS may have acted on, with an answer the kit cannot read: the retry looks the operation up first
      { reply: reply(202, '<html><body>Gateway</body></html>', { 'content-type': 'text/html' }), kind: 'retryable' },
      { reply: reply(202, { status: 'Running' }), kind: 'retryable' },
    ],
    accepted: () => acs.sent,
    bodies: () => server.requests.filter((r) => r.method === 'POST').map((r) => r.body),
    url: ACCESS_KEY,
    secrets: [ACCESS_KEY],
    close: () => server.close(),
  };
}

async function makeGraphHarness(): Promise<NotifierHarness> {
  const graph = createFakeGraphMail({ token: TOKEN, mailboxes: { 'sentinel-kit@contoso.example': {} } });
  const { server, answerNext } = await serve(graph.handler);
  const receiver: EmailReceiver = { kind: 'email', to: ['soc@contoso.example'], from: 'sentinel-kit@contoso.example', graphBaseUrl: `${server.url}/v1.0` };
  const step = makeStep({ kind: 'email', receiver: 'soc-email' });
  const request = (rendered = renderedEmail(step.incident)): DeliveryRequest => ({ step, receiverName: 'soc-email', receiver, rendered, existingTicket: null });
  return {
    connector: () => createEmailConnector({ receiverName: 'soc-email', receiver, credential: fakeCredential(TOKEN), fetchTimeoutMs: 1_000 }),
    request: () => request(),
    oversizedRequest: () => request(oversized(GRAPH_MAX_BYTES)),
    maxBytes: GRAPH_MAX_BYTES,
    answerNext,
    successesThatFailed: [
      // sendMail answers 202 and nothing else: these came from something in between
      { reply: reply(200, '<html><body>Sign in to continue</body></html>', { 'content-type': 'text/html' }), kind: 'terminal' },
      { reply: reply(204), kind: 'terminal' },
      { reply: reply(200, { error: { code: 'ErrorAccessDenied', message: 'Access is denied.' } }), kind: 'auth' },
      { reply: reply(200, { error: { code: 'MailboxNotEnabledForRESTAPI', message: 'REST API is not yet supported for this mailbox.' } }), kind: 'terminal' },
      { reply: reply(200, { error: { code: 'ApplicationThrottled', message: 'Application is over its MailboxConcurrency limit.' } }, { 'retry-after': '7' }), kind: 'rate-limited', retryAfterMs: 7_000 },
    ],
    accepted: () => graph.sent,
    bodies: () => server.requests.map((r) => r.body),
    url: TOKEN,
    secrets: [TOKEN],
    close: () => server.close(),
  };
}

notifierContract('email (ACS Email, access key)', makeAcsHarness);
notifierContract('email (Graph sendMail, managed identity)', makeGraphHarness);
