/**
 * Loopback fake of Twilio Calls create (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json`), keeping
 * state as Twilio does: every accepted request is a call (Twilio takes no idempotency key), answered 201
 * with the Call resource (`sid` CA…, `status` queued); errors as `{code, message, more_info, status}`.
 *
 * What every Twilio create checks first (route, Basic auth with the Account SID and Auth Token or an API
 * key, the account, POST, form content type, parameter names of the published spec, twilio/twilio-oai
 * twilio_api_v2010.json CreateCall, none twice) is the Messages fake's createTwilioGate (sms.ts). On top,
 * what this fake holds the kit to, stricter than Twilio:
 *   - exactly To, From and Twiml, nothing else (no Url, no StatusCallback, no ApplicationSid);
 *   - Twiml at most 4000 characters (Twilio error 32018), well-formed XML (its own parser, not the kit's:
 *     test/render/markup.ts), a <Response> root and only TwiML verbs: at the top Say, Play, Pause, Gather,
 *     Hangup; inside <Gather> only Say, Play, Pause; inside <Say> only SSML; no Redirect, Dial, Record,
 *     Sms or anything else an incident could use to take over the call.
 * Then Twilio's own refusals: From not a number of the account or a verified caller ID (21210), To not
 * E.164 (21211), a country not enabled in the Voice geo permissions (21215).
 */
import { randomBytes } from 'node:crypto';
import { reply, type FakeHandler, type FakeReply } from '../../helpers/fake-server.js';
import { parseXml, type XmlElement } from '../../render/markup.js';
import { createTwilioGate, E164 } from './sms.js';

/** CreateCall parameters of the published spec (requestBody properties) */
const TWILIO_CALL_PARAMS = new Set([
  'To', 'From', 'Method', 'FallbackUrl', 'FallbackMethod', 'StatusCallback', 'StatusCallbackEvent', 'StatusCallbackMethod', 'SendDigits',
  'Timeout', 'Record', 'RecordingChannels', 'RecordingStatusCallback', 'RecordingStatusCallbackMethod', 'SipAuthUsername', 'SipAuthPassword',
  'MachineDetection', 'MachineDetectionTimeout', 'RecordingStatusCallbackEvent', 'Trim', 'CallerId', 'MachineDetectionSpeechThreshold',
  'MachineDetectionSpeechEndThreshold', 'MachineDetectionSilenceTimeout', 'AsyncAmd', 'AsyncAmdStatusCallback', 'AsyncAmdStatusCallbackMethod',
  'Byoc', 'CallReason', 'CallToken', 'RecordingTrack', 'TimeLimit', 'ClientNotificationUrl', 'Url', 'Twiml', 'ApplicationSid',
]);
/** what the kit sends, in this order */
const KIT_PARAMS = ['To', 'From', 'Twiml'];
export const TWIML_FAKE_MAX = 4000;

/** the verbs a kit call may use, and what each may hold (SSML inside <Say>) */
const SSML = new Set(['break', 'emphasis', 'lang', 'p', 'phoneme', 'prosody', 's', 'say-as', 'sub', 'w']);
const ALLOWED: Record<string, ReadonlySet<string>> = {
  Response: new Set(['Say', 'Play', 'Pause', 'Gather', 'Hangup']),
  Gather: new Set(['Say', 'Play', 'Pause']),
  Say: SSML,
  Play: new Set(),
  Pause: new Set(),
  Hangup: new Set(),
  ...Object.fromEntries([...SSML].map((t) => [t, SSML])),
};

/** null when the document is a TwiML script a kit call may be, else what is wrong with it */
export function twimlProblem(twiml: string): string | null {
  let root: XmlElement;
  try {
    root = parseXml(twiml);
  } catch (e) {
    return `not well-formed XML (${e instanceof Error ? e.message : String(e)})`;
  }
  if (root.name !== 'Response') return `the root is <${root.name}>, not <Response>`;
  const walk = (el: XmlElement): string | null => {
    const allowed = ALLOWED[el.name];
    for (const child of el.children) {
      if (!allowed?.has(child.name)) return `<${child.name}> inside <${el.name}>`;
      const p = walk(child);
      if (p) return p;
    }
    return null;
  };
  return walk(root);
}

export interface TwilioPlacedCall {
  sid: string;
  to: string;
  from: string;
  twiml: string;
}

export interface FakeTwilioCallsOptions {
  accountSid: string;
  authToken: string;
  apiKey?: { sid: string; secret: string };
  /** the account's voice numbers and verified caller IDs; another From is refused (21210) */
  callerIds: string[];
  /** E.164 prefixes of countries not enabled in the account's Voice geo permissions (21215) */
  geoBlocked?: string[];
}

export interface FakeTwilioCalls {
  handler: FakeHandler;
  /** the path of Calls create for the account */
  path: string;
  /** calls placed, in order: a repeat is a second call */
  calls: TwilioPlacedCall[];
  /** the next `n` creates answer 429 with Twilio error 20429 */
  rateLimitNext(n: number): void;
  /** why each refused request was refused */
  rejections: string[];
}

export function createFakeTwilioCalls(options: FakeTwilioCallsOptions): FakeTwilioCalls {
  const gate = createTwilioGate({ ...options, list: 'Calls', params: TWILIO_CALL_PARAMS });
  const { path, refuse, rejections } = gate;
  const calls: TwilioPlacedCall[] = [];

  const handler: FakeHandler = (req): FakeReply => {
    const form = gate.check(req);
    if (!(form instanceof URLSearchParams)) return form;
    const names = [...form.keys()];
    if (names.join(',') !== KIT_PARAMS.join(',')) return refuse(400, 21601, `the kit sends exactly ${KIT_PARAMS.join(', ')}; got ${names.join(', ') || 'nothing'}`);
    const to = form.get('To')!;
    const from = form.get('From')!;
    const twiml = form.get('Twiml')!;
    if (twiml.length > TWIML_FAKE_MAX) return refuse(400, 32018, `Twiml size exceeded maximum allowed value of ${TWIML_FAKE_MAX} characters`);
    const problem = twimlProblem(twiml);
    if (problem) return refuse(400, 12100, `Document parse failure: ${problem}`);
    if (!E164.test(to)) return refuse(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (!options.callerIds.includes(from)) return refuse(400, 21210, `The source phone number provided, ${from}, is not yet verified for your account.`);
    if (options.geoBlocked?.some((prefix) => to.startsWith(prefix))) return refuse(400, 21215, `Account not authorized to call ${to}. Perhaps you need to enable some international permissions.`);
    const sid = `CA${randomBytes(16).toString('hex')}`;
    calls.push({ sid, to, from, twiml });
    const date = new Date().toUTCString().replace('GMT', '+0000');
    const uri = `${path.replace(/\.json$/, '')}/${sid}`;
    return reply(201, {
      account_sid: options.accountSid,
      annotation: null,
      answered_by: null,
      api_version: '2010-04-01',
      caller_name: null,
      date_created: date,
      date_updated: date,
      direction: 'outbound-api',
      duration: null,
      end_time: null,
      forwarded_from: null,
      from,
      from_formatted: from,
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: null,
      price: null,
      price_unit: 'USD',
      queue_time: '0',
      sid,
      start_time: null,
      status: 'queued',
      subresource_uris: { notifications: `${uri}/Notifications.json`, recordings: `${uri}/Recordings.json`, events: `${uri}/Events.json` },
      to,
      to_formatted: to,
      trunk_sid: null,
      uri: `${uri}.json`,
    });
  };

  return { handler, path, calls, rateLimitNext: gate.rateLimitNext, rejections };
}
