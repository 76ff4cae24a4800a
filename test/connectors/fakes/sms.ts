/**
 * Loopback fakes of the two SMS APIs the kit sends through, keeping state as the real ones do.
 *
 * ACS SMS (`POST /sms?api-version=2021-03-07`): access-key requests are checked by the shared
 * createFakeAcs (it recomputes the HMAC signature from the request as it arrived), Entra requests by
 * their bearer token. The body is checked against SendMessageRequest of the published spec
 * (Azure/azure-rest-api-specs communicationservicessms.json, copied below as rules), and each recipient's
 * repeatability id is remembered as ACS does (OASIS Repeatable Requests, learn.microsoft.com
 * rest/api/communication/repeatable-requests): a repeat with the same body within the tracked duration
 * is answered with the first result and sends nothing; a repeat with another body, or a malformed id or
 * date, is rejected with 400; a first-sent older than the tracked duration with 412.
 *
 * Twilio Messages (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`): Basic auth with the Account
 * SID and Auth Token or an API key, form fields checked against the OpenAPI spec (twilio/twilio-oai
 * twilio_api_v2010.json: the parameter names, To required, Body ≤ 1,600 characters), 201 with the Message
 * resource, errors as `{code, message, more_info, status}`. Twilio keeps no idempotency key: every
 * accepted request is a message. What every Twilio create checks first (route, Basic auth, account,
 * method, form, parameter names) is createTwilioGate, which the Calls fake (voice.ts) uses too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createFakeAcs, reply, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

const one = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
export const E164 = /^\+[1-9][0-9]{6,14}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** IMF-fixdate (RFC 7231 §7.1.1.1), what ACS asks of Repeatability-First-Sent */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

// ---------------------------------------------------------------------------------------------
// ACS SMS
// ---------------------------------------------------------------------------------------------

/** SendMessageRequest / SmsRecipient / SmsSendOptions properties of the published spec */
const SEND_MESSAGE_REQUEST = ['from', 'smsRecipients', 'message', 'smsSendOptions'];
const SMS_RECIPIENT = ['to', 'repeatabilityRequestId', 'repeatabilityFirstSent'];
const SMS_SEND_OPTIONS = ['enableDeliveryReport', 'tag', 'deliveryReportTimeoutInSeconds', 'messagingConnect'];
export const ACS_FAKE_MESSAGE_MAX = 2048;

export interface AcsSentSms {
  to: string;
  from: string;
  message: string;
  messageId: string;
  tag: string | undefined;
}

export interface AcsResultItem {
  to: string;
  messageId?: string;
  httpStatusCode: number;
  repeatabilityResult?: 'accepted' | 'rejected';
  successful: boolean;
  errorMessage?: string;
}

export interface FakeAcsSmsOptions {
  /** access-key auth: the resource's key (base64); requests must carry a valid HMAC signature */
  accessKey?: string;
  /** Entra auth: the token the fake takes as `Authorization: Bearer <token>` */
  bearerToken?: string;
  /** numbers the resource owns (ACS refuses another `from`); default any */
  numbers?: string[];
  /** how long repeatability ids are remembered; default 5 minutes (what ACS documents for its repeatable APIs) */
  trackedDurationMs?: number;
  now?: () => number;
}

export interface FakeAcsSms {
  handler: FakeHandler;
  /** texts the fake sent, one per recipient, repeats excluded */
  sent: AcsSentSms[];
  /** every request that passed auth */
  requests: RecordedRequest[];
  /** repeats answered from memory instead of sending */
  replays: number;
  /** the next `times` sends to `to` get this result instead of going out (a per-recipient failure in a 202) */
  failRecipient(to: string, result: Omit<AcsResultItem, 'to'>, times?: number): void;
  rejections: string[];
}

export function createFakeAcsSms(options: FakeAcsSmsOptions): FakeAcsSms {
  const now = options.now ?? Date.now;
  const tracked = options.trackedDurationMs ?? 5 * 60_000;
  const hmac = options.accessKey !== undefined ? createFakeAcs({ accessKey: options.accessKey, now }) : undefined;
  const sent: AcsSentSms[] = [];
  const requests: RecordedRequest[] = [];
  const rejections: string[] = [];
  const seen = new Map<string, { fingerprint: string; firstSent: string; result: AcsResultItem }>();
  const failures = new Map<string, Array<{ result: Omit<AcsResultItem, 'to'>; left: number }>>();
  let replays = 0;
  const refuse = (status: number, code: string, message: string): FakeReply => {
    rejections.push(`${status} ${code}: ${message}`);
    return reply(status, { error: { code, message } });
  };

  function validate(body: unknown): string | null {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a SendMessageRequest object';
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !SEND_MESSAGE_REQUEST.includes(k));
    if (unknown.length) return `unknown properties ${unknown.join(', ')}`;
    if (typeof b.from !== 'string' || b.from === '') return 'from is required';
    if (typeof b.message !== 'string') return 'message is required';
    if (b.message.length > ACS_FAKE_MESSAGE_MAX) return `message is longer than ${ACS_FAKE_MESSAGE_MAX} characters`;
    if (!Array.isArray(b.smsRecipients) || b.smsRecipients.length < 1 || b.smsRecipients.length > 100) return 'smsRecipients must have 1 to 100 entries';
    for (const r of b.smsRecipients as unknown[]) {
      if (typeof r !== 'object' || r === null) return 'each recipient must be an SmsRecipient';
      const extra = Object.keys(r).filter((k) => !SMS_RECIPIENT.includes(k));
      if (extra.length) return `unknown recipient properties ${extra.join(', ')}`;
      if (typeof (r as { to?: unknown }).to !== 'string') return 'each recipient needs to';
    }
    if (b.smsSendOptions !== undefined) {
      const o = b.smsSendOptions as Record<string, unknown>;
      if (typeof o !== 'object' || o === null) return 'smsSendOptions must be an object';
      const extra = Object.keys(o).filter((k) => !SMS_SEND_OPTIONS.includes(k));
      if (extra.length) return `unknown smsSendOptions properties ${extra.join(', ')}`;
      if (typeof o.enableDeliveryReport !== 'boolean') return 'smsSendOptions.enableDeliveryReport is required';
      if (o.tag !== undefined && typeof o.tag !== 'string') return 'smsSendOptions.tag must be a string';
    }
    return null;
  }

  function sendOne(to: string, from: string, message: string, tag: string | undefined): AcsResultItem {
    if (!E164.test(to)) return { to, httpStatusCode: 400, successful: false, errorMessage: 'Invalid To phone number format.' };
    const queued = failures.get(to)?.find((f) => f.left > 0);
    if (queued) {
      queued.left--;
      return { to, ...queued.result };
    }
    const messageId = `Outgoing_${new Date(now()).toISOString().replace(/\D/g, '').slice(0, 14)}${randomBytes(16).toString('hex')}_noam`;
    sent.push({ to, from, message, messageId, tag });
    return { to, messageId, httpStatusCode: 202, successful: true };
  }

  function recipientResult(r: { to: string; repeatabilityRequestId?: unknown; repeatabilityFirstSent?: unknown }, from: string, message: string, tag: string | undefined): AcsResultItem {
    const id = r.repeatabilityRequestId;
    const firstSent = r.repeatabilityFirstSent;
    if (id === undefined && firstSent === undefined) return sendOne(r.to, from, message, tag);
    const rejected = (status: number, errorMessage: string): AcsResultItem => ({ to: r.to, httpStatusCode: status, repeatabilityResult: 'rejected', successful: false, errorMessage });
    if (typeof id !== 'string' || !UUID.test(id)) return rejected(400, 'Invalid format for repeatability request id.');
    if (typeof firstSent !== 'string' || !IMF_FIXDATE.test(firstSent) || Number.isNaN(Date.parse(firstSent))) return rejected(400, 'Invalid format for repeatability first sent.');
    if (now() - Date.parse(firstSent) > tracked) return rejected(412, 'The Repeatability-First-Sent is outside of the tracked duration.');
    const fingerprint = createHash('sha256').update(JSON.stringify([r.to, from, message])).digest('hex');
    const before = seen.get(id);
    if (before) {
      if (before.fingerprint !== fingerprint || before.firstSent !== firstSent) return rejected(400, 'A request with this repeatability id was made with another body.');
      replays++;
      return before.result;
    }
    const result = { ...sendOne(r.to, from, message, tag), repeatabilityResult: 'accepted' as const };
    // a 5xx is not remembered (ACS documents that its repeat is executed again), nor a 429: a throttled
    // request was not executed. Every other answer is what a repeat gets back.
    if (result.httpStatusCode < 500 && result.httpStatusCode !== 429) seen.set(id, { fingerprint, firstSent, result });
    return result;
  }

  const api: FakeHandler = (req) => {
    if (req.path !== '/sms') return refuse(404, 'NotFound', 'The resource was not found.');
    if (req.method !== 'POST') return refuse(405, 'MethodNotAllowed', 'Use POST.');
    if (req.query.get('api-version') !== '2021-03-07') return refuse(400, 'UnsupportedApiVersion', `The api-version ${req.query.get('api-version') ?? '(none)'} is not supported.`);
    if (!/^application\/json\b/i.test(one(req.headers['content-type']) ?? '')) return refuse(415, 'UnsupportedMediaType', 'The content type must be application/json.');
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return refuse(400, 'InvalidRequest', 'The body is not valid JSON.');
    }
    const problem = validate(body);
    if (problem) return refuse(400, 'InvalidRequest', problem);
    const b = body as { from: string; message: string; smsRecipients: Array<{ to: string }>; smsSendOptions?: { tag?: string } };
    if (options.numbers && !options.numbers.includes(b.from)) return refuse(400, 'InvalidFrom', 'The from number is not owned by this resource.');
    const value = b.smsRecipients.map((r) => recipientResult(r, b.from, b.message, b.smsSendOptions?.tag));
    return reply(202, { value });
  };

  const handler: FakeHandler = async (req, params) => {
    if (hmac) {
      const before = hmac.accepted.length;
      let answer;
      try {
        answer = await hmac.handler(req, params);
      } catch {
        answer = undefined; // its own /sms route parses the body; the checks here report a bad one
      }
      if (hmac.accepted.length === before) {
        rejections.push(...hmac.rejections.splice(0));
        return answer ?? refuse(401, 'Denied', 'Denied by the resource provider.');
      }
    } else if (options.bearerToken !== undefined) {
      if (one(req.headers.authorization) !== `Bearer ${options.bearerToken}`) return refuse(401, 'Unauthorized', 'The bearer token is missing or not valid for this resource.');
    }
    requests.push(req);
    return api(req, params);
  };

  return {
    handler,
    sent,
    requests,
    get replays() {
      return replays;
    },
    failRecipient(to, result, times = 1) {
      const list = failures.get(to) ?? [];
      list.push({ result, left: times });
      failures.set(to, list);
    },
    rejections,
  };
}

// ---------------------------------------------------------------------------------------------
// Twilio Messages
// ---------------------------------------------------------------------------------------------

/** Messages create parameters of the published spec (requestBody properties) */
const TWILIO_MESSAGE_PARAMS = new Set([
  'To', 'StatusCallback', 'ApplicationSid', 'MaxPrice', 'ProvideFeedback', 'Attempt', 'ValidityPeriod', 'ForceDelivery', 'ContentRetention',
  'AddressRetention', 'SmartEncoded', 'PersistentAction', 'TrafficType', 'ShortenUrls', 'ScheduleType', 'SendAt', 'SendAsMms', 'ContentVariables',
  'RiskCheck', 'From', 'FallbackFrom', 'MessagingServiceSid', 'Body', 'MediaUrl', 'ContentSid',
]);
export const TWILIO_FAKE_BODY_MAX = 1600;

export interface TwilioSentMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
}

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
  /** an API key of the account, taken as Basic auth instead of the Auth Token */
  apiKey?: { sid: string; secret: string };
  /** the account's numbers; another From is refused (21606) */
  numbers: string[];
  /** numbers that texted STOP (21610) */
  optedOut?: string[];
}

export interface FakeTwilio {
  handler: FakeHandler;
  /** the path of Messages create for the account */
  path: string;
  /** messages created, in order: Twilio has no idempotency key, so a repeat is a second message */
  messages: TwilioSentMessage[];
  /** the next `n` creates answer 429 with Twilio error 20429 */
  rateLimitNext(n: number): void;
  rejections: string[];
}

export function twilioError(status: number, code: number, message: string): FakeReply {
  return reply(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

export interface TwilioGateOptions {
  accountSid: string;
  authToken: string;
  /** an API key of the account, taken as Basic auth instead of the Auth Token */
  apiKey?: { sid: string; secret: string };
  /** the list resource a create goes to */
  list: 'Messages' | 'Calls';
  /** the create's parameters in the published spec */
  params: ReadonlySet<string>;
}

/** What every Twilio REST create checks before its own parameters; the Messages and the Calls fakes share it. */
export interface TwilioGate {
  /** `/2010-04-01/Accounts/{AccountSid}/{list}.json` of the account */
  path: string;
  /** route, Basic auth, account, method, a queued 429, form content type, known and unrepeated parameters: the form, or Twilio's refusal */
  check(req: RecordedRequest): URLSearchParams | FakeReply;
  /** answers with a Twilio error, and notes why */
  refuse(status: number, code: number, message: string): FakeReply;
  /** the next `n` creates answer 429 with Twilio error 20429 */
  rateLimitNext(n: number): void;
  rejections: string[];
}

export function createTwilioGate(options: TwilioGateOptions): TwilioGate {
  const path = `/2010-04-01/Accounts/${options.accountSid}/${options.list}.json`;
  const route = new RegExp(`^/2010-04-01/Accounts/([^/]+)/${options.list}\\.json$`);
  const rejections: string[] = [];
  let limited = 0;
  const refuse = (status: number, code: number, message: string): FakeReply => {
    rejections.push(`${status} ${code}: ${message}`);
    return twilioError(status, code, message);
  };
  const credentials = new Map<string, string>([[options.accountSid, options.authToken]]);
  if (options.apiKey) credentials.set(options.apiKey.sid, options.apiKey.secret);

  const check = (req: RecordedRequest): URLSearchParams | FakeReply => {
    const m = route.exec(req.path);
    if (!m) return refuse(404, 20404, 'The requested resource was not found');
    const auth = /^Basic ([A-Za-z0-9+/=]+)$/.exec(one(req.headers.authorization) ?? '');
    const [user, ...rest] = auth ? Buffer.from(auth[1]!, 'base64').toString('utf8').split(':') : [];
    if (!user || credentials.get(user) !== rest.join(':')) return refuse(401, 20003, 'Authenticate');
    if (m[1] !== options.accountSid) return refuse(404, 20404, 'The requested resource was not found');
    if (req.method !== 'POST') return refuse(405, 20004, 'Method not allowed');
    if (limited > 0) {
      limited--;
      return refuse(429, 20429, 'Too Many Requests');
    }
    if (!/^application\/x-www-form-urlencoded\b/i.test(one(req.headers['content-type']) ?? '')) return refuse(415, 21650, 'Unsupported media type');
    const form = new URLSearchParams(req.body);
    const names = [...form.keys()];
    const unknown = names.filter((k) => !options.params.has(k));
    if (unknown.length) return refuse(400, 21601, `Unknown parameters ${unknown.join(', ')}`);
    if (names.some((k, i) => names.indexOf(k) !== i)) return refuse(400, 21601, 'A parameter is given twice');
    return form;
  };
  return {
    path,
    check,
    refuse,
    rateLimitNext(n) {
      limited = n;
    },
    rejections,
  };
}

export function createFakeTwilio(options: FakeTwilioOptions): FakeTwilio {
  const gate = createTwilioGate({ ...options, list: 'Messages', params: TWILIO_MESSAGE_PARAMS });
  const { path, refuse, rejections } = gate;
  const messages: TwilioSentMessage[] = [];

  const handler: FakeHandler = (req) => {
    const form = gate.check(req);
    if (!(form instanceof URLSearchParams)) return form;
    const to = form.get('To');
    const from = form.get('From');
    const body = form.get('Body');
    if (!to) return refuse(400, 21604, "A 'To' phone number is required.");
    if (!from) return refuse(400, 21603, "A 'From' phone number is required.");
    if (body === null || body === '') return refuse(400, 21602, 'Message body is required.');
    if (Array.from(body).length > TWILIO_FAKE_BODY_MAX) return refuse(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (!E164.test(to)) return refuse(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (!options.numbers.includes(from)) return refuse(400, 21606, `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`);
    if (options.optedOut?.includes(to)) return refuse(400, 21610, 'Attempt to send to unsubscribed recipient');
    const sid = `SM${randomBytes(16).toString('hex')}`;
    messages.push({ sid, to, from, body });
    const date = new Date().toUTCString().replace('GMT', '+0000');
    return reply(201, {
      account_sid: options.accountSid,
      api_version: '2010-04-01',
      body,
      date_created: date,
      date_sent: null,
      date_updated: date,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from,
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: `${path.replace(/\.json$/, '')}/${sid}/Media.json` },
      to,
      uri: `${path.replace(/\.json$/, '')}/${sid}.json`,
    });
  };

  return { handler, path, messages, rateLimitNext: gate.rateLimitNext, rejections };
}
