/**
 * Twilio's REST API (2010-04-01), the part the SMS kind (Messages, sms/twilio.ts) and the voice kind
 * (Calls, voice/call.ts) share: `POST /2010-04-01/Accounts/{AccountSid}/{Messages|Calls}.json`,
 * form-encoded, one request per recipient, answered 201 with the created resource (`sid`, `status`).
 * Errors are JSON `{code, message, more_info, status}`; the code says more than the status (a 400 may be
 * a wrong number, an unverified caller ID or a sender's full queue), so an error is classified by its
 * code where the code is known, by its HTTP status otherwise.
 *
 * Twilio takes no idempotency key for a message or a call (none is documented), so a create whose 201
 * was lost (timeout, reset, a worker that died mid-call) is made again by the retry. The kit keeps that
 * window to one request per recipient: each recipient is its own request, made only after the previous
 * one's answer, and a recipient whose 201 arrived is not sent to again by a retry in the same process
 * (../recipients.ts). docs/RECEIVERS.md "SMS" and "Voice call" state the window.
 */
import { KitError } from '../../core/errors.js';
import { bodyExcerpt, type TargetClient } from '../http/index.js';
import type { RecipientOutcome } from '../recipients.js';

export const TWILIO_API_URL = 'https://api.twilio.com';
export const TWILIO_ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
export const TWILIO_API_KEY_SID = /^SK[0-9a-fA-F]{32}$/;
/** Twilio's 429 (20429, too many concurrent requests) names no delay; the request was not processed, so come back soon */
export const TWILIO_DEFAULT_RETRY_AFTER_MS = 5_000;

export type TwilioList = 'Messages' | 'Calls';

export function twilioListPath(accountSid: string, list: TwilioList): string {
  return `/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/${list}.json`;
}

/** A create's form body, exactly these parameters in this order (URLSearchParams encodes &, =, <, > and every non-ASCII byte). */
export function twilioForm(params: ReadonlyArray<readonly [string, string]>): string {
  return new URLSearchParams(params.map(([name, value]): [string, string] => [name, value])).toString();
}

/** credential problems: 20003 authenticate, 20005 account not active */
const AUTH_CODES = new Set([20003, 20005]);
/** too many concurrent requests: the request was not processed */
const RATE_CODES = new Set([20429]);
const TRANSIENT_CODES = new Set([20500, 20503]);

/** What one API's own error codes mean, beyond the ones every Twilio API shares (auth, 20429, 20500/20503). */
export interface TwilioCodes {
  /** busy for now (a sender's queue, a concurrency limit): rate-limited, tried again later */
  rate: ReadonlySet<number>;
  /** refusals about this one recipient: terminal for it, and the other recipients are still tried */
  recipient: ReadonlySet<number>;
  /** the account cannot use `from`: a configuration error at receivers.<name>.from, and the round stops */
  sender: ReadonlySet<number>;
  /** what a person can do about a code, added to its message */
  hints: Readonly<Record<number, string>>;
}

/** One kind of resource a create makes, and how to recognise it in a 201. */
export interface TwilioResource {
  list: TwilioList;
  /** how messages name it: 'Message', 'Call' */
  noun: string;
  sid: RegExp;
  /** statuses of a created resource that say it will not go out */
  failed: ReadonlySet<string>;
  /** when set, every status the resource may have (its enum): a 201 with another one is not this resource */
  statuses?: ReadonlySet<string>;
  codes: TwilioCodes;
}

const ERROR_CODE = /"code"\s*:\s*(\d{5})\b/;
/** errors `created` made from a 201: already classified by their code */
const FROM_A_201 = new WeakMap<KitError, number | undefined>();

/** The Twilio error code in a transport error's excerpt of the body, when there is one. */
export function twilioCodeOf(err: unknown): number | undefined {
  if (!(err instanceof KitError)) return undefined;
  const m = ERROR_CODE.exec(err.message);
  return m ? Number(m[1]) : undefined;
}

function reclassified(err: KitError, code: number, codes: TwilioCodes, fromField: string | undefined): KitError {
  const hint = codes.hints[code];
  const more = ` (Twilio error ${code}, https://www.twilio.com/docs/errors/${code})${hint ? `: ${hint}` : ''}`;
  const message = `${err.message}${more}`;
  if (AUTH_CODES.has(code)) return new KitError(message, { kind: 'auth', statusCode: err.statusCode, cause: err.cause });
  if (RATE_CODES.has(code) || codes.rate.has(code)) {
    const retryAfterMs = err.retryAfterMs ?? TWILIO_DEFAULT_RETRY_AFTER_MS;
    return new KitError(`${message}; retry in ${retryAfterMs} ms`, { kind: 'rate-limited', statusCode: err.statusCode, retryAfterMs, cause: err.cause });
  }
  if (TRANSIENT_CODES.has(code)) return new KitError(message, { kind: 'retryable', statusCode: err.statusCode, retryAfterMs: err.retryAfterMs, cause: err.cause });
  if (codes.sender.has(code)) {
    return new KitError(message, { kind: 'config', statusCode: err.statusCode, cause: err.cause, ...(fromField ? { where: { field: fromField } } : {}) });
  }
  return new KitError(message, { kind: err.kind, statusCode: err.statusCode, retryAfterMs: err.retryAfterMs, cause: err.cause });
}

/** Whether the next recipient may still be tried after this failure (not when it is the account, the sender or Twilio's load). */
function onlyThisRecipient(err: KitError, code: number | undefined, codes: TwilioCodes): boolean {
  if (err.kind === 'retryable') return true;
  return err.kind === 'terminal' && code !== undefined && codes.recipient.has(code);
}

interface CreatedResource {
  sid?: unknown;
  status?: unknown;
  error_code?: unknown;
}

/** A 201 is the created resource; anything else did not come from that Twilio API, or says it failed. */
function created(res: { status: number; text: string }, resource: TwilioResource, secrets: readonly string[], fromField: string | undefined): string {
  let r: CreatedResource | null = null;
  try {
    const v = JSON.parse(res.text) as unknown;
    if (typeof v === 'object' && v !== null) r = v as CreatedResource;
  } catch {
    // handled below: not the resource
  }
  const said = bodyExcerpt(res.text, secrets);
  const status = typeof r?.status === 'string' ? r.status : undefined;
  const known = resource.statuses === undefined || (status !== undefined && (resource.statuses.has(status) || resource.failed.has(status)));
  if (!r || typeof r.sid !== 'string' || !resource.sid.test(r.sid) || !known) {
    // no sid, no resource: a proxy's page or another API answered. Not retried: if Twilio did take it,
    // a retry would text or call twice
    const err = new KitError(`twilio: HTTP ${res.status} but the answer is not a Twilio ${resource.noun}${said ? `: ${said}` : ''}`, { kind: 'terminal', statusCode: res.status });
    FROM_A_201.set(err, undefined);
    throw err;
  }
  if (status !== undefined && resource.failed.has(status)) {
    const code = typeof r.error_code === 'number' ? r.error_code : undefined;
    const err = new KitError(`twilio: HTTP ${res.status} but the ${resource.noun.toLowerCase()} ${r.sid} is ${status}${said ? `: ${said}` : ''}`, { kind: 'terminal', statusCode: res.status });
    const classified = code === undefined ? err : reclassified(err, code, resource.codes, fromField);
    FROM_A_201.set(classified, code);
    throw classified;
  }
  return r.sid;
}

export interface TwilioCreateArgs {
  client: TargetClient;
  accountSid: string;
  resource: TwilioResource;
  to: ReadonlyArray<string>;
  /** the form body of the create for one recipient */
  form: (to: string) => string;
  /** receivers.<name>.from, where a refusal of the sender points */
  fromField?: string;
  secrets: readonly string[];
  signal?: AbortSignal;
}

/**
 * One create per recipient, in order, each after the previous one's answer. A failure that concerns the
 * account, the sender or Twilio's load (auth, 429, a bad From) stops the round: the recipients after it
 * get the same error and are tried on the step's next try.
 */
export async function createPerRecipient(args: TwilioCreateArgs): Promise<RecipientOutcome[]> {
  const outcomes: RecipientOutcome[] = [];
  const path = twilioListPath(args.accountSid, args.resource.list);
  const { codes } = args.resource;
  for (const [i, to] of args.to.entries()) {
    try {
      const res = await args.client.send({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: args.form(to),
        ...(args.signal ? { signal: args.signal } : {}),
      });
      outcomes.push({ to, sent: true, messageId: created(res, args.resource, args.secrets, args.fromField) });
    } catch (err) {
      if (!(err instanceof KitError)) throw err;
      const fromA201 = FROM_A_201.has(err);
      const code = fromA201 ? FROM_A_201.get(err) : twilioCodeOf(err);
      const error = code !== undefined && !fromA201 ? reclassified(err, code, codes, args.fromField) : err;
      outcomes.push({ to, sent: false, error });
      if (!onlyThisRecipient(error, code, codes)) {
        const notTried = new KitError(`not tried: the round stopped at to[${i}] (${error.kind})`, {
          kind: error.kind,
          ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
          ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
        });
        for (const rest of args.to.slice(i + 1)) outcomes.push({ to: rest, sent: false, error: notTried });
        break;
      }
    }
  }
  return outcomes;
}
