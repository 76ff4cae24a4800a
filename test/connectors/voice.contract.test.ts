/** Voice calls against the Twilio Calls fake, through the one notifier contract. */
import { createVoiceConnector, twilioCallForm } from '../../functions/connectors/voice/call.js';
import { voiceReceiver } from '../../functions/connectors/voice/schema.js';
import type { DeliveryRequest } from '../../functions/connectors/types.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeStep } from '../fixtures/incident.js';
import { reply, startFakeServer } from '../helpers/fake-server.js';
import { queueAnswers, twilioHarnessParts } from './fakes/harness.js';
import { createFakeTwilioCalls, TWIML_FAKE_MAX } from './fakes/voice.js';
import { notifierContract, type NotifierHarness } from './notifiers/contract.js';

const TO = '+14255550123';
const FROM = '+18005550100';
const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
/** the widest a Twiml character can be in the form body: 3 UTF-8 bytes, each percent-encoded */
const WIDEST = '事';

const rendered = (twiml: string): RenderedMessage => ({ kind: 'voice', template: 'incident-change', parts: { twiml } });
const script = (said: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Say language="en-US">${said}</Say><Pause length="1"/></Response>`;
const ORDINARY = script('This is the Sentinel Playbook Kit with a High severity Microsoft Sentinel alert. Incident 3177. Owner is now Defender Experts.');
const OVERSIZED = script('Raspberry Robin worm 🔥 spread through USB devices on WS-FIN-042. '.repeat(4000));

async function makeHarness(): Promise<NotifierHarness> {
  const twilio = createFakeTwilioCalls({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, callerIds: [FROM] });
  const { handler, answerNext } = queueAnswers(twilio.handler);
  const server = await startFakeServer(handler);
  const receiver = voiceReceiver.parse({
    kind: 'voice',
    to: [TO],
    from: FROM,
    twilioAccountSid: 'env:TWILIO_ACCOUNT_SID',
    twilioAuthToken: 'env:TWILIO_AUTH_TOKEN',
    twilioApiUrl: server.url,
  });
  let n = 0;
  // one step per delivery: the connector remembers, per step, who was called
  const request = (twiml: string): DeliveryRequest => {
    const step = makeStep({ kind: 'voice', receiver: 'soc-lead-call', idempotencyKey: (++n).toString(16).padStart(64, '0'), plannedAt: new Date().toISOString() });
    return { step, receiverName: 'soc-lead-call', receiver, rendered: rendered(twiml), existingTicket: null, attempt: 1 };
  };
  const call = (status: string, sid = `CA${'0'.repeat(32)}`) => ({ sid, status, to: TO, from: FROM, account_sid: ACCOUNT_SID });
  return {
    // a hung connection must end the call; the fake never answers it, so the outcome does not depend on timing
    connector: () => createVoiceConnector({ receiverName: 'soc-lead-call', receiver, env: { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN }, fetchTimeoutMs: 250 }),
    request: () => request(ORDINARY),
    oversizedRequest: () => request(OVERSIZED),
    maxBytes: Buffer.byteLength(twilioCallForm({ to: TO, from: FROM, twiml: WIDEST.repeat(TWIML_FAKE_MAX) })),
    answerNext,
    successesThatFailed: [
      // none is retried: each may be an answer to a call Twilio placed, and a retry would ring the phone again
      { reply: reply(200, '<html><body>Sign in to continue</body></html>', { 'content-type': 'text/html' }), kind: 'terminal' },
      { reply: reply(201, { status: 'queued' }), kind: 'terminal' },
      { reply: reply(201, call('queued', `SM${'0'.repeat(32)}`)), kind: 'terminal' },
      { reply: reply(201, call('teleported')), kind: 'terminal' },
      { reply: reply(201, call('failed')), kind: 'terminal' },
      { reply: reply(201, call('canceled')), kind: 'terminal' },
    ],
    accepted: () => twilio.calls,
    ...twilioHarnessParts(server, twilio.path, { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
  };
}

notifierContract('voice (twilio calls)', makeHarness);
