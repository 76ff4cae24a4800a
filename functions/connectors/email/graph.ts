/**
 * Microsoft Graph sendMail: `POST {graphBaseUrl}/users/{from}/sendMail` with the application permission
 * Mail.Send, through the Function App's managed identity. Graph answers 202 Accepted with no body; it
 * has nothing to ask afterwards and no idempotency key, so a send whose 202 was lost (a reset or a
 * timeout after Graph took it) is sent again by the retry: the duplicate window docs/RECEIVERS.md
 * describes. Both copies carry the same X-SPK-Message-ID, so they can be told apart from two updates.
 *
 * Threading: sendMail takes only custom `x-` headers in internetMessageHeaders, so the .eml's
 * In-Reply-To/References (and its Message-ID) cannot be set. The mail carries X-SPK-Thread (the same
 * value as the .eml's References) for rules and searches; the subject is the template's, as in the
 * .eml, and clients that group by subject group the incident's mails by it.
 */
import { KitError, type KitErrorKind } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { parseRetryAfter, successThatFailed, type ResponseCheck } from '../http/index.js';
import type { EmailMessage } from './payload.js';

export const GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';
/**
 * Graph's limit for one request (a JSON mail body with inline content); larger mail needs a draft and
 * an upload session, which a notification never should
 */
export const GRAPH_MAX_BYTES = 4 * 1024 * 1024;

/** The token's scope: the Graph host's own `/.default` (graph.microsoft.com, or a national cloud's host). */
export function graphScope(graphBaseUrl: string): string {
  return `${new URL(graphBaseUrl).origin}/.default`;
}

/** x- headers only: Graph refuses any other name in internetMessageHeaders */
export function graphHeaders(m: EmailMessage): Array<{ name: string; value: string }> {
  return [
    { name: 'X-Sentinel-Incident', value: m.incident },
    { name: 'X-SPK-Thread', value: m.thread },
    { name: 'X-SPK-Message-ID', value: m.messageId },
    { name: 'X-Auto-Response-Suppress', value: 'All' },
  ];
}

const recipients = (addresses: string[]) => addresses.map((address) => ({ emailAddress: { address } }));

/** The sendMail body. saveToSentItems false: the sender mailbox does not fill up with notifications. */
export function graphSendMailBody(m: EmailMessage): Record<string, unknown> {
  return {
    message: {
      subject: m.subject,
      body: { contentType: 'HTML', content: m.html },
      toRecipients: recipients(m.to),
      ...(m.replyTo.length > 0 ? { replyTo: recipients(m.replyTo) } : {}),
      internetMessageHeaders: graphHeaders(m),
    },
    saveToSentItems: false,
  };
}

export function graphSendMailPath(m: EmailMessage): string {
  return `/users/${encodeURIComponent(m.from)}/sendMail`;
}

const CODE = /^[A-Za-z0-9_.]{1,64}$/;

/** Graph error codes that say more than their HTTP status, and what to check for each. */
const BY_CODE: Record<string, { kind: Extract<KitErrorKind, 'auth' | 'terminal' | 'retryable' | 'rate-limited'>; hint: string }> = {
  ErrorAccessDenied: { kind: 'auth', hint: 'grant the managed identity the Mail.Send application permission, and check that the application access policy includes the sender mailbox' },
  Authorization_RequestDenied: { kind: 'auth', hint: 'grant the managed identity the Mail.Send application permission (admin consent)' },
  ErrorSendAsDenied: { kind: 'auth', hint: 'the identity may not send as this mailbox: check the application access policy' },
  InvalidAuthenticationToken: { kind: 'auth', hint: 'the token is not for this Graph host: check graphBaseUrl' },
  MailboxNotEnabledForRESTAPI: { kind: 'terminal', hint: 'the sender has no Exchange Online mailbox (or it is on-premises): use a licensed cloud mailbox as from' },
  ErrorInvalidUser: { kind: 'terminal', hint: 'no such user: from must be the sending mailbox\'s user principal name' },
  ResourceNotFound: { kind: 'terminal', hint: 'no such user: from must be the sending mailbox\'s user principal name' },
  ErrorInvalidRecipients: { kind: 'terminal', hint: 'Exchange refused a recipient in to/replyTo' },
  ApplicationThrottled: { kind: 'rate-limited', hint: 'Graph throttles this app' },
  MailboxConcurrency: { kind: 'rate-limited', hint: 'more than 4 requests at once for this mailbox' },
  ErrorServerBusy: { kind: 'retryable', hint: 'Exchange is busy' },
  ServiceUnavailable: { kind: 'retryable', hint: 'Graph is unavailable' },
};

/** the `error.code` of a Graph error body, where an error message quotes it */
export function graphCodeOf(text: string): string | undefined {
  const m = /"code"\s*:\s*"([^"]{1,64})"/.exec(text);
  return m && CODE.test(m[1]!) ? m[1] : undefined;
}

/** A transport error reworded with what Graph's code means; its kind changes only where the code says more. */
export function graphError(err: unknown): unknown {
  if (!(err instanceof KitError) || err.statusCode === undefined) return err;
  const code = graphCodeOf(err.message);
  const known = code ? BY_CODE[code] : undefined;
  if (!code || !known) return err;
  // 429/5xx keep the transport's kind and Retry-After; the code only names the cause
  const kind = err.kind === 'rate-limited' || err.kind === 'retryable' ? err.kind : known.kind;
  return new KitError(`${err.message} (${code}: ${known.hint})`, {
    kind,
    statusCode: err.statusCode,
    ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : kind === 'rate-limited' ? { retryAfterMs: 60_000 } : {}),
    cause: err.cause,
  });
}

/**
 * sendMail succeeds with 202 and no body. Any other 2xx did not come from sendMail (a proxy's page,
 * a gateway's JSON): an error body is classified by its code, anything else is terminal.
 */
export const graphSendMailCheck: ResponseCheck = (res, ctx) => {
  let body: unknown = undefined;
  try {
    body = res.text.trim() === '' ? undefined : JSON.parse(res.text);
  } catch {
    throw successThatFailed(res, ctx, 'terminal', 'the answer is not Graph\'s 202 Accepted');
  }
  const error = isJsonObject(body) && isJsonObject(body.error) ? body.error : undefined;
  if (!error) {
    if (res.status === 202) return;
    throw successThatFailed(res, ctx, 'terminal', 'the answer is not Graph\'s 202 Accepted');
  }
  const code = typeof error.code === 'string' && CODE.test(error.code) ? error.code : 'unknown';
  const known = BY_CODE[code];
  const retryAfterMs = parseRetryAfter(res.headers, ctx.now);
  throw successThatFailed(res, ctx, known?.kind ?? 'terminal', `Graph says ${code}${known ? `: ${known.hint}` : ''}`, retryAfterMs === undefined ? {} : { retryAfterMs });
};
