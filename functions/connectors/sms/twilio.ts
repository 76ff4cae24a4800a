/**
 * Twilio Messages: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded To, From and
 * Body, one request per recipient, answered 201 with the Message resource (`sid` SM…/MM…). Errors are
 * JSON `{code, message, more_info, status}`; the code says more than the status (a 400 may mean a wrong
 * number, an opted-out phone or a full sender queue), so it is classified by code where the code is known.
 *
 * Twilio takes no idempotency key for a message (none is documented), so a send whose 201 was lost
 * (timeout, reset, a worker that died mid-call) is sent again by the retry: that recipient can get the
 * text twice. The kit keeps that window to one request per recipient: each recipient is its own request,
 * made only after the previous one's answer, and a recipient whose 201 arrived is not sent to again by a
 * retry in the same process (recipients.ts). docs/RECEIVERS.md "SMS" states the window.
 */
import { KitError } from '../../core/errors.js';
import { bodyExcerpt, type TargetClient } from '../http/index.js';
import type { RecipientOutcome } from './recipients.js';

export const TWILIO_API_URL = 'https://api.twilio.com';
export const TWILIO_ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
export const TWILIO_API_KEY_SID = /^SK[0-9a-fA-F]{32}$/;
const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
/** Twilio's 429 (20429, too many concurrent requests) names no delay; the request was not processed, so come back soon */
export const TWILIO_DEFAULT_RETRY_AFTER_MS = 5_000;

export function twilioMessagesPath(accountSid: string): string {
  return `/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
}

/** The form body of one message: exactly To, From and Body (URLSearchParams encodes &, = and every non-ASCII byte). */
export function twilioMessageForm(args: { to: string; from: string; body: string }): string {
  return new URLSearchParams([
    ['To', args.to],
    ['From', args.from],
    ['Body', args.body],
  ]).toString();
}

/** credential problems */
const AUTH_CODES = new Set([20003, 20005]);
/** Twilio is busy or this sender's queue is full: the message was not taken, later it will be */
const RATE_CODES = new Set([20429, 14107, 21611]);
const TRANSIENT_CODES = new Set([20500, 20503]);
/** refusals about this one recipient (invalid or unreachable To, opted out, region not enabled, unverified on a trial account) */
const RECIPIENT_CODES = new Set([21211, 21214, 21408, 21608, 21610, 21612, 21614]);

const ERROR_CODE = /"code"\s*:\s*(\d{5})\b/;
/** errors `created` made from a 201: already classified by their code */
const FROM_A_201 = new WeakMap<KitError, number | undefined>();

/** The Twilio error code in a transport error's excerpt of the body, when there is one. */
export function twilioCodeOf(err: unknown): number | undefined {
  if (!(err instanceof KitError)) return undefined;
  const m = ERROR_CODE.exec(err.message);
  return m ? Number(m[1]) : undefined;
}

function reclassified(err: KitError, code: number): KitError {
  const more = ` (Twilio error ${code}, https://www.twilio.com/docs/errors/${code})`;
  if (AUTH_CODES.has(code)) return new KitError(`${err.message}${more}`, { kind: 'auth', statusCode: err.statusCode, cause: err.cause });
  if (RATE_CODES.has(code)) {
    const retryAfterMs = err.retryAfterMs ?? TWILIO_DEFAULT_RETRY_AFTER_MS;
    return new KitError(`${err.message}${more}; retry in ${retryAfterMs} ms`, { kind: 'rate-limited', statusCode: err.statusCode, retryAfterMs, cause: err.cause });
  }
  if (TRANSIENT_CODES.has(code)) return new KitError(`${err.message}${more}`, { kind: 'retryable', statusCode: err.statusCode, retryAfterMs: err.retryAfterMs, cause: err.cause });
  return new KitError(`${err.message}${more}`, { kind: err.kind, statusCode: err.statusCode, retryAfterMs: err.retryAfterMs, cause: err.cause });
}

/** Whether the next recipient may still be tried after this failure (not when it is the account, the sender or Twilio's load). */
function onlyThisRecipient(err: KitError, code: number | undefined): boolean {
  if (err.kind === 'retryable') return true;
  return err.kind === 'terminal' && code !== undefined && RECIPIENT_CODES.has(code);
}

interface TwilioMessage {
  sid?: unknown;
  status?: unknown;
  error_code?: unknown;
  error_message?: unknown;
}

/** A 201 is the Message resource; anything else did not come from Twilio's Messages API, or says it failed. */
function created(res: { status: number; text: string }, secrets: readonly string[]): string {
  let m: TwilioMessage | null = null;
  try {
    const v = JSON.parse(res.text) as unknown;
    if (typeof v === 'object' && v !== null) m = v as TwilioMessage;
  } catch {
    // handled below: not a Message resource
  }
  const said = bodyExcerpt(res.text, secrets);
  if (!m || typeof m.sid !== 'string' || !MESSAGE_SID.test(m.sid)) {
    // no sid, no message: a proxy's page or another API answered. Not retried: if Twilio did take it, a retry would text twice
    const err = new KitError(`twilio: HTTP ${res.status} but the answer is not a Twilio Message${said ? `: ${said}` : ''}`, { kind: 'terminal', statusCode: res.status });
    FROM_A_201.set(err, undefined);
    throw err;
  }
  if (m.status === 'failed' || m.status === 'undelivered') {
    const code = typeof m.error_code === 'number' ? m.error_code : undefined;
    const err = new KitError(`twilio: HTTP ${res.status} but the message ${m.sid} is ${m.status}${said ? `: ${said}` : ''}`, { kind: 'terminal', statusCode: res.status });
    const classified = code === undefined ? err : reclassified(err, code);
    FROM_A_201.set(classified, code);
    throw classified;
  }
  return m.sid;
}

export interface TwilioSendArgs {
  client: TargetClient;
  accountSid: string;
  from: string;
  text: string;
  to: ReadonlyArray<string>;
  secrets: readonly string[];
  signal?: AbortSignal;
}

/**
 * One request per recipient, in order. A failure that concerns the account, the sender or Twilio's
 * load (auth, 429, a bad From) stops the round: the recipients after it get the same error and are
 * tried on the step's next try.
 */
export async function sendTwilio(args: TwilioSendArgs): Promise<RecipientOutcome[]> {
  const outcomes: RecipientOutcome[] = [];
  const path = twilioMessagesPath(args.accountSid);
  for (const [i, to] of args.to.entries()) {
    try {
      const res = await args.client.send({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: twilioMessageForm({ to, from: args.from, body: args.text }),
        ...(args.signal ? { signal: args.signal } : {}),
      });
      outcomes.push({ to, sent: true, messageId: created(res, args.secrets) });
    } catch (err) {
      if (!(err instanceof KitError)) throw err;
      const fromA201 = FROM_A_201.has(err);
      const code = fromA201 ? FROM_A_201.get(err) : twilioCodeOf(err);
      const error = code !== undefined && !fromA201 ? reclassified(err, code) : err;
      outcomes.push({ to, sent: false, error });
      if (!onlyThisRecipient(error, code)) {
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
