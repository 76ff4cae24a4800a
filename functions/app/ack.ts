/**
 * ack — POST /api/ack/voice: the key a person pressed on a kit call (the <Gather> action of a voice
 * receiver with ackUrl). Anonymous at the Functions level because Twilio cannot hold a function key in a
 * way that is better than its own signature: every request is checked against the receiver's Twilio Auth
 * Token (connectors/voice/ack.ts) before anything is read from it, and refused with 403 when it does not
 * match. A checked "1" is recorded once and commented on the incident (pipeline/acknowledge.ts).
 *
 * Twilio plays whatever TwiML comes back, and on an error status only says "an application error has
 * occurred"; so a checked request whose recording fails still gets a 200 with words that tell the person
 * to acknowledge in Sentinel, and the failure goes to the logs. Requests that are not Twilio's get 4xx.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { KitError } from '../core/errors.js';
import { resolveSecret } from '../connectors/secrets.js';
import { ACK_SAID, ackQuery, ackTwiml, MAX_ACK_BODY_BYTES, verifyVoiceAck } from '../connectors/voice/ack.js';
import type { VoiceReceiver } from '../connectors/voice/schema.js';
import { acknowledge } from '../pipeline/acknowledge.js';
import { invocationLogger } from './log.js';
import { appRuntime } from './runtime.js';

function problem(status: number, message: string): HttpResponseInit {
  return { status, jsonBody: { error: message } };
}

function spoken(said: string): HttpResponseInit {
  return { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: ackTwiml(said) };
}

export async function ackHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const log = invocationLogger(context);
  if (request.params.via !== 'voice') return problem(404, 'acknowledgements come through /api/ack/voice');
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_ACK_BODY_BYTES) return problem(413, `body is ${length} bytes; the limit is ${MAX_ACK_BODY_BYTES}`);
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return problem(415, `content-type must be application/x-www-form-urlencoded (Twilio's), got "${type}"`);
  let query: ReturnType<typeof ackQuery>;
  try {
    query = ackQuery(request.url);
  } catch (e) {
    return problem(400, e instanceof Error ? e.message : String(e));
  }
  let runtime: Awaited<ReturnType<typeof appRuntime>>;
  try {
    runtime = await appRuntime(log);
  } catch (e) {
    log.error('ack: the runtime did not start', { error: e instanceof Error ? e.message : String(e) });
    return { status: 503, headers: { 'retry-after': '5' }, jsonBody: { error: 'temporarily unavailable' } };
  }
  const configured = runtime.deliveryDeps.receivers[query.receiver];
  // the same answer for "no such receiver" and "not a voice receiver with acknowledgements": nothing to probe
  if (!configured || configured.kind !== 'voice' || configured.ackUrl === undefined) return problem(404, 'no voice receiver with ackUrl has that name');
  const receiver: VoiceReceiver = configured;
  const field = (name: string) => `receivers.${query.receiver}.${name}`;
  const env = runtime.env ?? process.env;
  let verified: ReturnType<typeof verifyVoiceAck>;
  try {
    const authToken = resolveSecret(receiver.twilioAuthToken, env, field('twilioAuthToken'));
    const accountSid = resolveSecret(receiver.twilioAccountSid, env, field('twilioAccountSid'));
    if (authToken === undefined || accountSid === undefined) {
      log.error('ack: the receiver cannot check Twilio signatures', { receiver: query.receiver, missing: authToken === undefined ? 'twilioAuthToken' : 'twilioAccountSid' });
      return { status: 503, jsonBody: { error: 'this receiver cannot check acknowledgements: see the Function App logs' } };
    }
    const body = await request.text();
    verified = verifyVoiceAck({ ackUrl: receiver.ackUrl!, requestUrl: request.url, body, signature: request.headers.get('x-twilio-signature'), authToken, accountSid });
  } catch (e) {
    if (e instanceof KitError && e.statusCode !== undefined && e.statusCode < 500) {
      log.warn('ack: refused', { receiver: query.receiver, status: e.statusCode, reason: e.message });
      return problem(e.statusCode, e.message);
    }
    log.error('ack: could not check the request', { error: e instanceof Error ? e.message : String(e) });
    return { status: 503, jsonBody: { error: 'temporarily unavailable' } };
  }
  if (verified.digits !== '1') return spoken(ACK_SAID.otherKey);
  try {
    const outcome = await acknowledge(
      { stores: runtime.stores, ...(runtime.incidentComments ? { comment: runtime.incidentComments } : {}) },
      { incidentKey: verified.incidentKey, via: 'voice', receiver: verified.receiver, stepKey: verified.stepKey, by: verified.called, ref: verified.callSid },
    );
    log.info('acknowledged', { incidentKey: verified.incidentKey, receiver: verified.receiver, via: 'voice', result: outcome.result, commented: outcome.commented });
    return spoken(outcome.result === 'recorded' ? ACK_SAID.recorded : ACK_SAID.again);
  } catch (e) {
    log.error('ack: the acknowledgement was not recorded', { incidentKey: verified.incidentKey, receiver: verified.receiver, error: e instanceof Error ? e.message : String(e) });
    return spoken(ACK_SAID.failed);
  }
}

app.http('ack', { methods: ['POST'], authLevel: 'anonymous', route: 'ack/{via}', handler: ackHandler });
