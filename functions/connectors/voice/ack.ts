/**
 * The answer to a call's "press 1": the request Twilio makes to the <Gather> action (payload.ts,
 * `voiceAckAction`), checked the way Twilio documents (https://www.twilio.com/docs/usage/security#validating-requests):
 * HMAC-SHA1, keyed with the account's Auth Token, over the full URL Twilio requested followed by every POST
 * parameter's name and value sorted by name, base64 in X-Twilio-Signature. The URL is rebuilt from the
 * receiver's configured ackUrl and the query as received, not from the Host header the request claims,
 * because behind Azure's front end the app sees its own host and scheme. The query (receiver, step,
 * incident) is inside the signed URL, so nobody without the Auth Token can name another step.
 *
 * Twilio signs no timestamp, so a captured request can be replayed: the acknowledgement is keyed by the
 * call's CallSid and recorded once (state AcknowledgementStore), so a replay changes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { KitError } from '../../core/errors.js';

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
/** what Twilio posts to a <Gather> action is a few hundred bytes; anything far larger is not Twilio */
export const MAX_ACK_BODY_BYTES = 16 * 1024;

/** Twilio's request signature of a form POST. */
export function twilioSignature(authToken: string, url: string, params: ReadonlyArray<readonly [string, string]>): string {
  const sorted = [...params].sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const data = url + sorted.map(([k, v]) => k + v).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The URL Twilio signed: the receiver's ackUrl (scheme, host, port, path) with the query Twilio sent. */
export function signedUrl(ackUrl: string, requestUrl: string): string {
  const configured = new URL(ackUrl);
  const received = new URL(requestUrl, configured);
  return `${configured.origin}${configured.pathname}${received.search}`;
}

export interface VoiceAckRequest {
  receiver: string;
  stepKey: string;
  incidentKey: string;
  /** the call's CallSid */
  callSid: string;
  accountSid: string;
  /** the number that was called (who pressed the key) */
  called: string;
  digits: string;
}

function refused(message: string, statusCode: number): KitError {
  return new KitError(`ack: ${message}`, { kind: statusCode === 403 ? 'auth' : 'validation', statusCode });
}

/** The query names which receiver's Auth Token to check with; nothing in it is believed before the check. */
export function ackQuery(requestUrl: string): { receiver: string; stepKey: string; incidentKey: string } {
  const q = new URL(requestUrl, 'https://ack.invalid').searchParams;
  const receiver = q.get('receiver');
  const stepKey = q.get('step');
  const incidentKey = q.get('incident');
  if (!receiver || !stepKey || !incidentKey) throw refused('the URL must carry receiver, step and incident (the <Gather> action the kit wrote)', 400);
  if (!/^[0-9a-f]{64}$/.test(stepKey)) throw refused('step is not a step key', 400);
  return { receiver, stepKey, incidentKey };
}

/**
 * Checks one <Gather> answer: the signature with the receiver's Auth Token, the account it came from, and
 * the fields the kit needs. Throws a KitError with statusCode 400 (not what Twilio sends) or 403 (not
 * signed by this account); returns what was pressed, by whom, on which call.
 */
export function verifyVoiceAck(args: {
  ackUrl: string;
  requestUrl: string;
  body: string;
  signature: string | null;
  authToken: string;
  accountSid: string;
}): VoiceAckRequest {
  if (Buffer.byteLength(args.body, 'utf8') > MAX_ACK_BODY_BYTES) throw refused(`the body is larger than ${MAX_ACK_BODY_BYTES} bytes`, 400);
  const query = ackQuery(args.requestUrl);
  const params = [...new URLSearchParams(args.body)];
  if (!args.signature) throw refused('X-Twilio-Signature is missing', 403);
  const expected = twilioSignature(args.authToken, signedUrl(args.ackUrl, args.requestUrl), params);
  if (!sameSignature(expected, args.signature.trim())) throw refused('X-Twilio-Signature does not match: not signed with this receiver\'s Twilio Auth Token', 403);
  const form = new Map(params);
  const accountSid = form.get('AccountSid') ?? '';
  if (!ACCOUNT_SID.test(accountSid) || accountSid !== args.accountSid.trim()) throw refused('the request is for another Twilio account', 403);
  const callSid = form.get('CallSid') ?? '';
  if (!CALL_SID.test(callSid)) throw refused('CallSid is missing or not a call SID', 400);
  return { ...query, callSid, accountSid, called: form.get('To') ?? form.get('Called') ?? '', digits: form.get('Digits') ?? '' };
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** What the person hears after pressing a key: TwiML for the answer to Twilio's request. */
export function ackTwiml(said: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Say>${xmlText(said)}</Say></Response>`;
}

export const ACK_SAID = {
  recorded: 'Thank you. The alert is acknowledged, and the incident says so.',
  again: 'This alert was already acknowledged on this call. Goodbye.',
  otherKey: 'That was not 1: the alert is not acknowledged. Acknowledge it in Microsoft Sentinel instead.',
  failed: 'The acknowledgement could not be recorded. Please acknowledge the incident in Microsoft Sentinel.',
} as const;
