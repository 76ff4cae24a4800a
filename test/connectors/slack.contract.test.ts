/**
 * Slack against its fake, through the one notifier contract, three ways: the incoming webhook, and the
 * Web API for a later moment of an incident whose first message the kit holds — as a thread reply
 * (chat.postMessage with thread_ts) and as an edit (chat.update). The first message itself returns the
 * new TicketRef, which the contract's "sent, no ticket" does not allow; slack.test.ts covers that call.
 */
import { SLACK_MAX_BODY_BYTES } from '../../functions/connectors/slack/payload.js';
import { createChannelPacer } from '../../functions/connectors/slack/pacer.js';
import { createSlackConnector } from '../../functions/connectors/slack/slack.js';
import { slackTicketRef } from '../../functions/connectors/slack/message-ref.js';
import type { SlackReceiver } from '../../functions/connectors/slack/schema.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import type { KitErrorKind } from '../../functions/core/errors.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { reply, startFakeServer, type FakeHandler, type FakeReply, type FakeResult } from '../helpers/fake-server.js';
import { createFakeSlack, oversizedSlack, renderedSlack } from './fakes/slack.js';
import { notifierContract, type NotifierHarness } from './notifiers/contract.js';

const TOKEN = 'xoxb-1234567890-0987654321-c29tZS1ib3QtdG9rZW4tZm9yLXRlc3Rz';
const CHANNEL = 'C0123456789';
const okFalse = (error: string, headers: Record<string, string> = {}): FakeReply => reply(200, { ok: false, error }, headers);
const html = (status: number, body: string): FakeReply => reply(status, body, { 'content-type': 'text/html' });

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

/** no pacing between the contract's calls: the pacer has tests of its own */
const unpaced = () => createChannelPacer({ intervalMs: 0 });

async function makeWebhookHarness(): Promise<NotifierHarness> {
  const slack = createFakeSlack({ botToken: TOKEN });
  const { server, answerNext } = await serve(slack.handler);
  const url = `${server.url}${slack.webhookPath}`;
  const receiver: SlackReceiver = { kind: 'slack', webhookUrl: 'env:SLACK_SOC_WEBHOOK_URL' };
  const step = makeStep({ kind: 'slack', receiver: 'soc-slack' });
  const request = (rendered = renderedSlack(step.incident)): DeliveryRequest => ({ step, receiverName: 'soc-slack', receiver, rendered, existingTicket: null });
  return {
    connector: () => createSlackConnector({ receiverName: 'soc-slack', receiver, env: { SLACK_SOC_WEBHOOK_URL: url }, fetchTimeoutMs: 250, pacer: unpaced() }),
    request: () => request(),
    oversizedRequest: () => request(oversizedSlack(makeIncident())),
    maxBytes: SLACK_MAX_BODY_BYTES,
    answerNext,
    successesThatFailed: [
      // a proxy or captive portal answering for hooks.slack.com: it never reached Slack
      { reply: html(200, '<html><body>Sign in to continue</body></html>'), kind: 'terminal' },
      { reply: html(200, 'invalid_token'), kind: 'terminal' },
    ],
    accepted: () => slack.webhookMessages,
    bodies: () => server.requests.map((r) => r.body),
    url,
    secrets: ['XXXXXXXXXXXXXXXXXXXXXXXX'],
    close: () => server.close(),
  };
}

/** Web API answers that are HTTP 200 and still failures, as slackWebApiCheck classifies them */
const WEB_API_FAILURES: Array<{ reply: FakeReply; kind: KitErrorKind; retryAfterMs?: number }> = [
  { reply: okFalse('ratelimited', { 'retry-after': '30' }), kind: 'rate-limited', retryAfterMs: 30_000 },
  { reply: okFalse('invalid_auth'), kind: 'auth' },
  { reply: okFalse('token_revoked'), kind: 'auth' },
  { reply: okFalse('account_inactive'), kind: 'auth' },
  { reply: okFalse('channel_not_found'), kind: 'terminal' },
  { reply: okFalse('not_in_channel'), kind: 'terminal' },
  { reply: okFalse('msg_too_long'), kind: 'terminal' },
  { reply: okFalse('internal_error'), kind: 'retryable' },
  { reply: html(200, '<html>Service status</html>'), kind: 'terminal' },
];

function makeWebApiHarness(updates: 'thread' | 'edit') {
  return async (): Promise<NotifierHarness> => {
    const slack = createFakeSlack({ botToken: TOKEN, channels: [CHANNEL] });
    const { server, answerNext } = await serve(slack.handler);
    const receiver: SlackReceiver = { kind: 'slack', botToken: 'env:SLACK_BOT_TOKEN', channel: CHANNEL, updates, apiUrl: `${server.url}/api` };
    const step = makeStep({ kind: 'slack', receiver: 'soc-slack' });
    // the incident's first message, posted by an earlier delivery and held in the kit's ticket store
    const first = slack.addMessage({ channel: CHANNEL, text: 'first moment', bot: true, metadata: { event_type: 'sentinel_incident_change', event_payload: { incident_key: step.incidentKey } } });
    const existingTicket = slackTicketRef('soc-slack', step.incidentKey, first);
    const request = (rendered = renderedSlack(step.incident)): DeliveryRequest => ({ step, receiverName: 'soc-slack', receiver, rendered, existingTicket });
    return {
      connector: () => createSlackConnector({ receiverName: 'soc-slack', receiver, env: { SLACK_BOT_TOKEN: TOKEN }, fetchTimeoutMs: 250, pacer: unpaced() }),
      request: () => request(),
      oversizedRequest: () => request(oversizedSlack(makeIncident())),
      maxBytes: SLACK_MAX_BODY_BYTES,
      answerNext,
      successesThatFailed: WEB_API_FAILURES,
      accepted: () => (updates === 'thread' ? slack.replies(CHANNEL, first.ts) : slack.messages.flatMap((m) => Array.from({ length: m.edits }, () => m))),
      bodies: () => server.requests.map((r) => r.body),
      url: TOKEN,
      secrets: [TOKEN],
      close: () => server.close(),
    };
  };
}

notifierContract('slack (incoming webhook)', makeWebhookHarness);
notifierContract('slack (Web API, thread reply)', makeWebApiHarness('thread'));
notifierContract('slack (Web API, chat.update)', makeWebApiHarness('edit'));
