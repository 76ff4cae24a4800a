/**
 * Azure Communication Services SMS: `POST {endpoint}/sms?api-version=2021-03-07` with every pending
 * recipient in one request, answered 202 with one result per recipient (`value[]`: successful,
 * httpStatusCode, errorMessage, repeatabilityResult).
 *
 * Exactly once: each recipient carries `repeatabilityRequestId`, a UUID derived from the step's
 * idempotency key and the number (never random: the SDK's random id is why this is REST), and
 * `repeatabilityFirstSent`, the step's plannedAt as an RFC 1123 date, the same on every try. ACS sends a
 * repeat of an id it has seen once (OASIS Repeatable Requests, learn.microsoft.com rest/api/communication
 * /repeatable-requests), so resending recipients whose answer was lost cannot text them twice.
 *
 * ACS only remembers ids for a while ("tracked duration", 5 minutes where it is documented) and refuses
 * a request first sent before that with 412, which cannot tell "sent before" from "never sent". On a
 * step's first try the kit knows it never sent: it sends those recipients again as a new request, first
 * sent now. On a later try a 412 is final: the kit will not guess.
 */
import { createHash } from 'node:crypto';
import { KitError } from '../../core/errors.js';
import { bodyExcerpt, classifyStatus, DEFAULT_RATE_LIMIT_DELAY_MS, parseRetryAfter, type SendResponse, type TargetClient } from '../http/index.js';
import type { RecipientOutcome } from './recipients.js';

export const ACS_SMS_API_VERSION = '2021-03-07';
export const ACS_SMS_PATH = `/sms?api-version=${ACS_SMS_API_VERSION}`;
export const ACS_SCOPE = 'https://communication.azure.com/.default';
/** ACS `message` limit (SendMessageRequest.message maxLength) */
export const ACS_MESSAGE_MAX_CHARS = 2048;

export interface AcsSmsRecipient {
  to: string;
  repeatabilityRequestId: string;
  repeatabilityFirstSent: string;
}

export interface AcsSmsRequest {
  from: string;
  smsRecipients: AcsSmsRecipient[];
  message: string;
  smsSendOptions: { enableDeliveryReport: boolean; tag: string };
}

/**
 * A UUID (RFC 9562 version 8: name-based, SHA-256) from the step's key and the recipient: the same on
 * every try of the step, different for every recipient and every step. `round` tells apart the request
 * a first try makes again after ACS's window had passed.
 */
export function repeatabilityRequestId(idempotencyKey: string, to: string, round: 'planned' | 'late' = 'planned'): string {
  const bytes = createHash('sha256').update(`spk-sms\n${idempotencyKey}\n${to}${round === 'late' ? '\nlate' : ''}`, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** RFC 1123 (IMF-fixdate) of the step's plannedAt: what ACS compares on every repeat. */
export function repeatabilityFirstSent(plannedAt: string): string {
  const at = Date.parse(plannedAt);
  if (Number.isNaN(at)) throw new KitError(`sms (acs): the step's plannedAt "${plannedAt.slice(0, 40)}" is not a date`, { kind: 'validation' });
  return new Date(at).toUTCString();
}

export function acsSmsRequest(args: { from: string; recipients: ReadonlyArray<AcsSmsRecipient>; message: string; idempotencyKey: string }): AcsSmsRequest {
  return {
    from: args.from,
    smsRecipients: [...args.recipients],
    message: args.message,
    // the tag comes back in the Event Grid delivery report: which step a report is about, nothing from the incident
    smsSendOptions: { enableDeliveryReport: true, tag: `spk:${args.idempotencyKey.slice(0, 32)}` },
  };
}

interface AcsResultItem {
  to?: unknown;
  messageId?: unknown;
  httpStatusCode?: unknown;
  repeatabilityResult?: unknown;
  successful?: unknown;
  errorMessage?: unknown;
}

const WINDOW_PASSED = 412;

/** One recipient's result, classified; `late` when ACS refused it because the first-sent time is outside its window. */
type LateOutcome = RecipientOutcome & { late?: boolean };

function outcomeOf(to: string, item: AcsResultItem | undefined, res: SendResponse, secrets: readonly string[], now: number): LateOutcome {
  if (!item) {
    return { to, sent: false, error: new KitError('acs: HTTP 202 but no result for this recipient (sending again is safe: ACS drops a repeat)', { kind: 'retryable', statusCode: res.status }) };
  }
  if (item.successful === true) return { to, sent: true, messageId: typeof item.messageId === 'string' ? item.messageId.slice(0, 128) : null };
  const status = typeof item.httpStatusCode === 'number' && Number.isInteger(item.httpStatusCode) ? item.httpStatusCode : undefined;
  const said = typeof item.errorMessage === 'string' && item.errorMessage !== '' ? `: ${bodyExcerpt(item.errorMessage, secrets)}` : '';
  const rejected = item.repeatabilityResult === 'rejected';
  const what = `acs: not sent (HTTP ${status ?? '?'}${rejected ? ', repeatability rejected' : ''})`;
  if (status === WINDOW_PASSED) {
    return {
      to,
      sent: false,
      late: true,
      error: new KitError(`${what}: the step was first sent longer ago than ACS remembers repeatable requests, so ACS cannot tell a repeat from a first send and refused it${said}`, {
        kind: 'terminal',
        statusCode: status,
      }),
    };
  }
  const kind = status === undefined ? 'retryable' : classifyStatus(status);
  if (kind === 'ok') return { to, sent: false, error: new KitError(`${what} although ACS said ${status}${said}`, { kind: 'retryable', statusCode: status }) };
  if (kind === 'rate-limited') {
    const retryAfterMs = parseRetryAfter(res.headers, now) ?? DEFAULT_RATE_LIMIT_DELAY_MS;
    return { to, sent: false, error: new KitError(`${what}; retry in ${retryAfterMs} ms${said}`, { kind, statusCode: status, retryAfterMs }) };
  }
  const hint = rejected && status === 400 ? ': an earlier request with this recipient\'s repeatability id had another body (did the text change between tries?)' : '';
  return { to, sent: false, error: new KitError(`${what}${hint}${said}`, { kind, ...(status !== undefined ? { statusCode: status } : {}) }) };
}

export interface AcsSendArgs {
  client: TargetClient;
  from: string;
  text: string;
  /** recipients still to send to (the others are known sent or refused) */
  to: ReadonlyArray<string>;
  idempotencyKey: string;
  plannedAt: string;
  /** the step's first try: a 412 then means ACS never had it */
  firstTry: boolean;
  secrets: readonly string[];
  signal?: AbortSignal;
  now: () => number;
}

async function post(args: AcsSendArgs, recipients: AcsSmsRecipient[]): Promise<{ res: SendResponse; items: AcsResultItem[] | null }> {
  const body = acsSmsRequest({ from: args.from, recipients, message: args.text, idempotencyKey: args.idempotencyKey });
  const res = await args.client.send({ method: 'POST', path: ACS_SMS_PATH, json: body, ...(args.signal ? { signal: args.signal } : {}) });
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    return { res, items: null };
  }
  const value = typeof parsed === 'object' && parsed !== null ? (parsed as { value?: unknown }).value : undefined;
  return { res, items: Array.isArray(value) ? (value as AcsResultItem[]) : null };
}

const digits = (v: unknown): string => (typeof v === 'string' ? v.replace(/\D/g, '') : '');

/** a recipient's result by its number (compared as digits, in case ACS writes it without the +); by position only when ACS names none */
function itemFor(items: AcsResultItem[], to: string, index: number, count: number): AcsResultItem | undefined {
  return items.find((i) => digits(i?.to) === digits(to)) ?? (items.length === count && items[index]?.to === undefined ? items[index] : undefined);
}

/** Sends the text to every recipient in `to`; one outcome each. An answer about the whole request (HTTP error) is every recipient's. */
export async function sendAcs(args: AcsSendArgs): Promise<RecipientOutcome[]> {
  const firstSent = repeatabilityFirstSent(args.plannedAt);
  const planned = args.to.map((to) => ({ to, repeatabilityRequestId: repeatabilityRequestId(args.idempotencyKey, to), repeatabilityFirstSent: firstSent }));
  const round = async (recipients: AcsSmsRecipient[]): Promise<LateOutcome[]> => {
    let answer: Awaited<ReturnType<typeof post>>;
    try {
      answer = await post(args, recipients);
    } catch (err) {
      if (!(err instanceof KitError)) throw err;
      return recipients.map((r) => ({ to: r.to, sent: false, error: err, ...(err.statusCode === WINDOW_PASSED ? { late: true } : {}) }));
    }
    const { res, items } = answer;
    if (!items) {
      const error = new KitError(`acs: HTTP ${res.status} but the answer is not ACS's per-recipient result (sending again is safe: ACS drops a repeat): ${bodyExcerpt(res.text, args.secrets)}`, {
        kind: 'retryable',
        statusCode: res.status,
      });
      return recipients.map((r) => ({ to: r.to, sent: false, error }));
    }
    return recipients.map((r, i) => outcomeOf(r.to, itemFor(items, r.to, i, recipients.length), res, args.secrets, args.now()));
  };

  const outcomes = await round(planned);
  const late = outcomes.filter((o) => o.late);
  if (!args.firstTry || late.length === 0) return outcomes.map(plain);
  // First try, yet ACS's window had passed (the step waited in the queue): nothing of this step can have
  // reached ACS, so a new request, first sent now, cannot be a duplicate. Its later tries fall back on plannedAt.
  const now = new Date(args.now()).toUTCString();
  const again = await round(late.map((o) => ({ to: o.to, repeatabilityRequestId: repeatabilityRequestId(args.idempotencyKey, o.to, 'late'), repeatabilityFirstSent: now })));
  const byTo = new Map(again.map((o) => [o.to, o]));
  return outcomes.map((o) => plain(byTo.get(o.to) ?? o));
}

function plain(o: LateOutcome): RecipientOutcome {
  const { late: _late, ...rest } = o;
  return rest as RecipientOutcome;
}
