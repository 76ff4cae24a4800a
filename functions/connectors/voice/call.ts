/**
 * Voice, live: Twilio Calls with the TwiML inline. For every distinct number in `to`, one
 * `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` with exactly To, From and Twiml, the document the
 * builder made (payload.ts: XML-escaped by the template, a <Response> root, at most 4000 characters,
 * Twilio's limit, error 32018; with ackUrl the "press 1" <Gather>). Twilio answers 201 with the Call
 * resource (`sid` CA…, `status` queued): the call is placed, and Twilio rings the phone after that.
 * The request, the round and the error classification are ../twilio/rest.ts, shared with SMS; the
 * account and its credential (API key pair, or the Auth Token) ../twilio/account.ts.
 *
 * Exactly once, and what is left: Twilio takes no idempotency key for a call, and a Call cannot be found
 * again by anything the kit could put in it. So a call whose 201 was lost (a timeout, a reset connection,
 * a worker that died during the request) is placed again by the retry: that phone rings twice for the
 * same moment. The kit keeps that window to one request per recipient per process: each number is its
 * own request, made after the previous one's answer, and a number whose 201 arrived is not called again
 * by a retry of the step in this process (../recipients.ts). A retry on another worker or after a
 * restart has no such memory and calls every number again; so does a redelivery after a crash between
 * the last 201 and the ledger write. A 201 that is not a Call (no CA sid) is terminal, not retried:
 * Twilio may have placed the call.
 *
 * Secrets are resolved per delivery; none of them, nor the Account SID in Twilio's path, appears in an
 * error, and a number appears only as its index and last four digits.
 */
import { KitError } from '../../core/errors.js';
import type { LiveConnectorOptions } from '../kind.js';
import { deliverToEach, RecipientProgress } from '../recipients.js';
import { resolveSecret } from '../secrets.js';
import { twilioAccount } from '../twilio/account.js';
import { createPerRecipient, twilioForm, type TwilioResource } from '../twilio/rest.js';
import type { Connector, DeliveryRequest, DeliveryResult } from '../types.js';
import { buildVoicePayload, TWIML_MAX_CHARS } from './payload.js';
import type { VoiceReceiver } from './schema.js';

export interface VoiceConnectorOptions extends LiveConnectorOptions<VoiceReceiver> {
  /** what each number of a step got, across its tries; default one per connector */
  progress?: RecipientProgress;
  /** clock for Retry-After dates and the progress memory (tests) */
  now?: () => number;
}

/** The form body of one call: exactly To, From and Twiml. */
export function twilioCallForm(args: { to: string; from: string; twiml: string }): string {
  return twilioForm([
    ['To', args.to],
    ['From', args.from],
    ['Twiml', args.twiml],
  ]);
}

const GEO_HINT = "enable the number's country in the Twilio Console, Voice → Settings → Geo permissions";

/** The Call resource (twilio/twilio-oai twilio_api_v2010.json call_enum_status) and the errors a Calls create answers with. */
export const TWILIO_CALL: TwilioResource = {
  list: 'Calls',
  noun: 'Call',
  sid: /^CA[0-9a-fA-F]{32}$/,
  /** the call will not ring (a 201 normally says queued) */
  failed: new Set(['failed', 'busy', 'no-answer', 'canceled']),
  statuses: new Set(['queued', 'ringing', 'in-progress', 'completed']),
  codes: {
    /** 10004 call concurrency limit exceeded: the account has too many calls up; later there is room */
    rate: new Set([10004]),
    /**
     * this number alone: 21211 invalid To, 21214 To cannot be reached, 21215 (and 13227) geo permission
     * for the number's country not enabled, 21216 calls to this number blocked by Twilio, 21217 the number
     * does not appear valid, 13223 not E.164, 13224 Twilio does not support calling it or it is invalid
     */
    recipient: new Set([21211, 21214, 21215, 13227, 21216, 21217, 13223, 13224]),
    /** the caller id: 21210 From is neither a number of the account nor a verified caller ID, 21213 From missing */
    sender: new Set([21210, 21213]),
    hints: {
      21210: 'from must be a voice-capable number of the Twilio account or one of its verified caller IDs (Console → Phone Numbers → Verified Caller IDs)',
      21215: GEO_HINT,
      13227: GEO_HINT,
      21216: "Twilio blocks calls to this number (fraud risk or regulation; for a +1 number, the account may need a Primary Customer Profile)",
      32018: `the Twiml is longer than Twilio's ${TWIML_MAX_CHARS} characters`,
    },
  },
};

function configError(message: string, field: string): KitError {
  return new KitError(message, { kind: 'config', where: { field } });
}

export function createVoiceConnector(options: VoiceConnectorOptions): Connector {
  const { receiverName, receiver, now } = options;
  // what each number got, kept across the tries of a step in this process
  const progress = options.progress ?? new RecipientProgress(now ? { now } : {});
  const env = () => options.env ?? process.env;
  const field = (name: string) => `receivers.${receiverName}.${name}`;

  function twiml(request: DeliveryRequest): string {
    const built = buildVoicePayload({ step: request.step, receiverName, receiver, rendered: request.rendered, operation: 'send', ticket: null });
    if (!('text' in built.body)) throw new KitError('voice: the builder made no TwiML document', { kind: 'template', where: { field: 'twiml' } });
    return built.body.text;
  }

  async function call(request: DeliveryRequest, script: string, to: string[]) {
    if (receiver.from === undefined) throw configError(`${field('from')} is not set: a live call needs the caller number (a number of the Twilio account or a verified caller ID)`, field('from'));
    const from = receiver.from;
    const e = env();
    if (receiver.ackUrl !== undefined && resolveSecret(receiver.twilioAuthToken, e, field('twilioAuthToken')) === undefined) {
      // the "press 1" answer is checked against Twilio's signature, which only the Auth Token makes: an
      // API key can place the call, but nobody could acknowledge it
      throw configError(
        `${field('twilioAuthToken')} is not set: with ackUrl the acknowledgement is checked against Twilio's signature, made with the Auth Token (also when an API key places the call)`,
        field('twilioAuthToken'),
      );
    }
    const { client, accountSid, secrets } = twilioAccount({ receiver, field, env: e, needs: 'a live call', fetchTimeoutMs: options.fetchTimeoutMs, ...(now ? { now } : {}) });
    return createPerRecipient({
      client,
      accountSid,
      resource: TWILIO_CALL,
      to,
      form: (number) => twilioCallForm({ to: number, from, twiml: script }),
      fromField: field('from'),
      secrets,
      ...(request.signal ? { signal: request.signal } : {}),
    });
  }

  return {
    async execute(request: DeliveryRequest): Promise<DeliveryResult> {
      const script = twiml(request);
      await deliverToEach({
        progress,
        stepKey: request.step.idempotencyKey,
        to: receiver.to,
        what: 'voice (twilio)',
        verb: 'called',
        send: (pending) => call(request, script, pending),
      });
      return { action: 'sent', ticket: null, outbox: null };
    },
  };
}
