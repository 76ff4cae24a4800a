/**
 * Azure Communication Services Email (REST 2023-03-31): `POST {endpoint}/emails:send` answers 202 with
 * an operation (EmailSendResult {id, status}) and `Operation-Location`; the operation is then polled
 * (`GET /emails/operations/{id}`) until Succeeded, Failed or Canceled.
 *
 * Exactly once. The request carries an `Operation-Id` that the kit derives from the step's idempotency
 * key, so the kit knows the operation's id before ACS answers. Whether ACS refuses a second send with
 * the same Operation-Id is not documented, so the kit does not rely on it: a retry (attempt > 1) first
 * asks ACS for that operation and follows it when it exists; only a 404 lets it send. The Azure
 * repeatable-requests headers (`Repeatability-Request-Id` = the same UUID, `Repeatability-First-Sent`
 * = the step's plannedAt, identical on every retry) go along too, a second line of defence where the
 * service honours them (the 2021-10-01-preview API required them; 2023-03-31 does not list them).
 *
 * Polling is bounded (ACS_MAX_POLLS status checks within ACS_POLL_BUDGET_MS of waiting, never sooner
 * than the Retry-After ACS gave). An operation still NotStarted/Running after that is a *retryable*
 * failure, not "sent": ACS holds the message and may yet fail it (a suppressed recipient, a domain
 * problem), and only a later look tells. The re-queued retry does not send again: it finds the
 * operation by its id and follows it, so the delivery ends as sent or as the operation's failure.
 */
import { createHash } from 'node:crypto';
import { KitError } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { bodyExcerpt, parseRetryAfter, successThatFailed, type ResponseCheck, type SendResponse, type TargetClient } from '../http/index.js';
import type { EmailMessage } from './payload.js';

export const ACS_API_VERSION = '2023-03-31';
/** the Entra scope of the ACS data plane */
export const ACS_SCOPE = 'https://communication.azure.com/.default';
/** "we limit the total size of an email request (which includes attachments) to 10MB" (EmailMessage.attachments) */
export const ACS_MAX_BYTES = 10 * 1024 * 1024;
export const ACS_MAX_POLLS = 5;
/** how long one delivery may wait between status checks in all; past it the retry looks again */
export const ACS_POLL_BUDGET_MS = 15_000;
/** wait before a status check when ACS names no Retry-After */
export const ACS_DEFAULT_POLL_MS = 2_000;

const RUNNING = new Set(['NotStarted', 'Running']);
const STATUSES = new Set([...RUNNING, 'Succeeded', 'Failed', 'Canceled']);
const ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A UUID from the step's idempotency key: the same for every try of the step, different for every
 * other step. RFC 9562 version 8 (a name-based UUID whose hash is the kit's own, SHA-256).
 */
export function acsOperationId(idempotencyKey: string): string {
  const h = createHash('sha256').update(`sentinel-playbook-kit/acs-email\u0000${idempotencyKey}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * The custom headers ACS puts on the mail: the .eml's own Message-ID (ACS takes an RFC 2822 message id
 * here and, when it is not one, makes its own) and its threading headers, so clients thread every
 * update under the incident's first mail as they do for the .eml.
 */
export function acsHeaders(m: EmailMessage): Record<string, string> {
  return {
    'Message-ID': m.messageId,
    'In-Reply-To': m.thread,
    References: m.thread,
    'X-Sentinel-Incident': m.incident,
    'Auto-Submitted': 'auto-generated',
    'X-Auto-Response-Suppress': 'All',
  };
}

/** The EmailMessage of emails:send. userEngagementTrackingDisabled: no tracking pixel in a SOC's mail. */
export function acsEmailBody(m: EmailMessage): Record<string, unknown> {
  return {
    senderAddress: m.from,
    recipients: { to: m.to.map((address) => ({ address })) },
    content: { subject: m.subject, plainText: m.text, html: m.html },
    ...(m.replyTo.length > 0 ? { replyTo: m.replyTo.map((address) => ({ address })) } : {}),
    headers: acsHeaders(m),
    userEngagementTrackingDisabled: true,
  };
}

/** the emails:send call: path, repeat-protection headers and body */
export function acsSendRequest(m: EmailMessage): { path: string; headers: Record<string, string>; json: Record<string, unknown> } {
  const id = acsOperationId(m.stepKey);
  return {
    path: `/emails:send?api-version=${ACS_API_VERSION}`,
    headers: { 'Operation-Id': id, 'Repeatability-Request-Id': id, 'Repeatability-First-Sent': m.date.toUTCString() },
    json: acsEmailBody(m),
  };
}

interface Operation {
  id: string;
  status: string;
  /** path and query to poll, on the receiver's endpoint */
  poll: string;
  retryAfterMs: number | undefined;
}

function parsed(text: string): { id?: unknown; status?: unknown; error?: unknown } | null {
  try {
    const v: unknown = JSON.parse(text);
    return isJsonObject(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Every 2xx from ACS Email is an EmailSendResult. One that is not (a proxy's page, a cut body) may
 * follow a send ACS did accept, so it is retryable: the retry looks the operation up first. A Failed
 * or Canceled operation is terminal, with ACS's error code.
 */
export const acsOperationCheck: ResponseCheck = (res, ctx) => {
  const body = parsed(res.text);
  if (!body || typeof body.id !== 'string' || typeof body.status !== 'string' || !STATUSES.has(body.status)) {
    throw successThatFailed(res, ctx, 'retryable', 'the answer is not an ACS EmailSendResult {id, status}');
  }
  if (body.status === 'Failed' || body.status === 'Canceled') {
    const raw = isJsonObject(body.error) ? body.error.code : undefined;
    const code = typeof raw === 'string' && ERROR_CODE.test(raw) ? ` (${raw})` : '';
    throw successThatFailed(res, ctx, 'terminal', `the email operation ${body.status === 'Failed' ? 'failed' : 'was canceled'}${code}`);
  }
};

export interface AcsSender {
  client: TargetClient;
  /** the receiver's acsEndpoint: a poll URL elsewhere is never followed (it would get our credential) */
  endpoint: URL;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now: () => number;
  maxPolls: number;
  pollBudgetMs: number;
}

function operationPath(id: string): string {
  return `/emails/operations/${encodeURIComponent(id)}?api-version=${ACS_API_VERSION}`;
}

/** Operation-Location when it points at this operation on the receiver's own endpoint; our own path otherwise. */
function pollPathOf(location: string | null, endpoint: URL, id: string): string {
  if (location) {
    try {
      const u = new URL(location, endpoint);
      if (u.origin === endpoint.origin && u.pathname === `/emails/operations/${encodeURIComponent(id)}`) return `${u.pathname}${u.search}`;
    } catch {
      // not a URL: poll the documented path
    }
  }
  return operationPath(id);
}

function operationOf(res: SendResponse, sender: AcsSender, location: string | null): Operation {
  // the check has proved the shape
  const body = res.json<{ id: string; status: string }>();
  return { id: body.id, status: body.status, poll: pollPathOf(location, sender.endpoint, body.id), retryAfterMs: parseRetryAfter(res.headers, sender.now()) };
}

/** The operation with this id, or null when ACS has none (404): nothing was sent under it. */
async function lookUp(sender: AcsSender, id: string, signal: AbortSignal | undefined): Promise<Operation | null> {
  try {
    const res = await sender.client.send({ method: 'GET', path: operationPath(id), ...(signal ? { signal } : {}) });
    return operationOf(res, sender, null);
  } catch (err) {
    if (err instanceof KitError && err.statusCode === 404) return null;
    throw err;
  }
}

async function post(sender: AcsSender, m: EmailMessage, signal: AbortSignal | undefined): Promise<Operation> {
  const call = acsSendRequest(m);
  try {
    const res = await sender.client.send({ method: 'POST', path: call.path, headers: call.headers, json: call.json, ...(signal ? { signal } : {}) });
    return operationOf(res, sender, res.headers.get('operation-location'));
  } catch (err) {
    // a service that refuses a reused Operation-Id as a conflict already has the operation: follow it
    if (err instanceof KitError && err.statusCode === 409) {
      const existing = await lookUp(sender, call.headers['Operation-Id']!, signal);
      if (existing) return existing;
    }
    throw err;
  }
}

async function follow(sender: AcsSender, start: Operation, signal: AbortSignal | undefined): Promise<void> {
  let op = start;
  let polls = 0;
  let waited = 0;
  while (RUNNING.has(op.status)) {
    const wait = op.retryAfterMs ?? ACS_DEFAULT_POLL_MS;
    if (polls >= sender.maxPolls || waited + wait > sender.pollBudgetMs) {
      throw new KitError(
        `acs: email operation ${op.id} is still ${op.status} after ${polls} status check(s); ACS holds the message, and the retry follows this operation instead of sending again`,
        { kind: 'retryable', retryAfterMs: Math.max(wait, ACS_DEFAULT_POLL_MS) },
      );
    }
    await sender.sleep(wait, signal);
    waited += wait;
    polls++;
    let res: SendResponse;
    try {
      res = await sender.client.send({ method: 'GET', path: op.poll, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (err instanceof KitError && err.statusCode === 404) {
        throw new KitError(`acs: ACS accepted email operation ${op.id} but no longer knows it (${bodyExcerpt(err.message)}); the retry looks again before sending`, {
          kind: 'retryable',
          statusCode: 404,
        });
      }
      throw err;
    }
    op = { ...operationOf(res, sender, null), poll: op.poll };
  }
}

/**
 * Sends `m` once: a retry follows the operation an earlier try started instead of sending again.
 * Resolves when the operation Succeeded; throws a classified KitError otherwise.
 */
export async function sendWithAcs(sender: AcsSender, m: EmailMessage, attempt: number, signal?: AbortSignal): Promise<void> {
  const earlier = attempt > 1 ? await lookUp(sender, acsOperationId(m.stepKey), signal) : null;
  await follow(sender, earlier ?? (await post(sender, m, signal)), signal);
}
