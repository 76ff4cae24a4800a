/** SMS against its fakes, through the one notifier contract: once through ACS (access key), once through Twilio. */
import { acsSmsRequest, ACS_SMS_PATH, repeatabilityFirstSent, repeatabilityRequestId } from '../../functions/connectors/sms/acs.js';
import { smsReceiver } from '../../functions/connectors/sms/schema.js';
import { createSmsConnector } from '../../functions/connectors/sms/sms.js';
import { twilioMessageForm } from '../../functions/connectors/sms/twilio.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeStep } from '../fixtures/incident.js';
import { reply, startFakeServer } from '../helpers/fake-server.js';
import { queueAnswers, twilioHarnessParts } from './fakes/harness.js';
import { createFakeAcsSms, createFakeTwilio } from './fakes/sms.js';
import { notifierContract, type NotifierHarness } from './notifiers/contract.js';

const TO = '+14255550123';
const FROM = '+18005550100';
const ACCESS_KEY = Buffer.from('contract-acs-access-key-0123456789abcdef').toString('base64');
const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
/** the widest a message of the documented length can be in UTF-8: 3 bytes a character */
const WIDEST = '事';

const rendered = (text: string): RenderedMessage => ({ kind: 'sms', template: 'incident-change', parts: { text } });
const ORDINARY = 'Sentinel High #3177: owner is now Defender Experts.\nMulti-stage incident involving…\nhttps://security.microsoft.com/incidents/12345';
const OVERSIZED = 'Raspberry Robin worm 🔥 spread through USB devices on WS-FIN-042. '.repeat(4000);

/** one step per delivery: ACS remembers repeatability ids, and the contract counts messages sent */
function requests(): (text: string) => DeliveryRequest {
  let n = 0;
  return (text) => {
    const step = makeStep({ kind: 'sms', receiver: 'soc-lead-sms', idempotencyKey: (++n).toString(16).padStart(64, '0'), plannedAt: new Date().toISOString() });
    return { step, receiverName: 'soc-lead-sms', receiver: smsReceiver.parse({ kind: 'sms', to: [TO] }), rendered: rendered(text), existingTicket: null, attempt: 1 };
  };
}

async function makeAcsHarness(): Promise<NotifierHarness> {
  const acs = createFakeAcsSms({ accessKey: ACCESS_KEY, numbers: [FROM] });
  const { handler, answerNext } = queueAnswers(acs.handler);
  const server = await startFakeServer(handler);
  const receiver = smsReceiver.parse({ kind: 'sms', to: [TO], from: FROM, provider: 'acs', acsEndpoint: server.url, acsAccessKey: 'env:ACS_ACCESS_KEY' });
  const request = requests();
  const recipient = (to: string) => ({ to, repeatabilityRequestId: repeatabilityRequestId('0'.repeat(64), to), repeatabilityFirstSent: repeatabilityFirstSent(new Date().toISOString()) });
  const item = (status: number, errorMessage: string) => ({ value: [{ to: TO, httpStatusCode: status, successful: false, repeatabilityResult: 'accepted', errorMessage }] });
  return {
    // a hung connection must end the call; the fake never answers it, so the outcome does not depend on timing
    connector: () => createSmsConnector({ receiverName: 'soc-lead-sms', receiver, env: { ACS_ACCESS_KEY: ACCESS_KEY }, fetchTimeoutMs: 250 }),
    request: () => ({ ...request(ORDINARY), receiver }),
    oversizedRequest: () => ({ ...request(OVERSIZED), receiver }),
    maxBytes: Buffer.byteLength(JSON.stringify(acsSmsRequest({ from: FROM, recipients: [recipient(TO)], message: WIDEST.repeat(2048), idempotencyKey: '0'.repeat(64) }))),
    answerNext,
    successesThatFailed: [
      { reply: reply(202, item(400, 'Invalid To phone number format.')), kind: 'terminal' },
      { reply: reply(202, item(429, 'Too many requests for this number.'), { 'retry-after': '7' }), kind: 'rate-limited', retryAfterMs: 7_000 },
      { reply: reply(202, item(503, 'Service unavailable.')), kind: 'retryable' },
      { reply: reply(202, { value: [] }), kind: 'retryable' },
      { reply: reply(202, 'accepted', { 'content-type': 'text/plain' }), kind: 'retryable' },
    ],
    accepted: () => acs.sent,
    bodies: () => server.requests.filter((r) => r.rawUrl === ACS_SMS_PATH).map((r) => r.body),
    url: `${server.url}${ACS_SMS_PATH}`,
    secrets: [ACCESS_KEY],
    close: () => server.close(),
  };
}

async function makeTwilioHarness(): Promise<NotifierHarness> {
  const twilio = createFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, numbers: [FROM] });
  const { handler, answerNext } = queueAnswers(twilio.handler);
  const server = await startFakeServer(handler);
  const receiver = smsReceiver.parse({
    kind: 'sms',
    to: [TO],
    from: FROM,
    provider: 'twilio',
    twilioAccountSid: 'env:TWILIO_ACCOUNT_SID',
    twilioAuthToken: 'env:TWILIO_AUTH_TOKEN',
    twilioApiUrl: server.url,
  });
  const request = requests();
  const failedMessage = (code: number) => ({ sid: `SM${'0'.repeat(32)}`, status: 'failed', error_code: code, error_message: 'refused' });
  return {
    connector: () =>
      createSmsConnector({ receiverName: 'soc-lead-sms', receiver, env: { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN }, fetchTimeoutMs: 250 }),
    request: () => ({ ...request(ORDINARY), receiver }),
    oversizedRequest: () => ({ ...request(OVERSIZED), receiver }),
    maxBytes: Buffer.byteLength(twilioMessageForm({ to: TO, from: FROM, body: WIDEST.repeat(1600) })),
    answerNext,
    successesThatFailed: [
      // a proxy's page: not Twilio's answer, and not retried (had Twilio taken it, a retry would text twice)
      { reply: reply(200, '<html><body>Sign in to continue</body></html>', { 'content-type': 'text/html' }), kind: 'terminal' },
      { reply: reply(201, { status: 'queued' }), kind: 'terminal' },
      { reply: reply(201, failedMessage(21610)), kind: 'terminal' },
      { reply: reply(201, failedMessage(20429)), kind: 'rate-limited', retryAfterMs: 5_000 },
    ],
    accepted: () => twilio.messages,
    ...twilioHarnessParts(server, twilio.path, { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
  };
}

notifierContract('sms (acs)', makeAcsHarness);
notifierContract('sms (twilio)', makeTwilioHarness);
