/**
 * The transport at the end of every target client (client.ts): exactly one attempt, and every
 * outcome that is not a 2xx becomes a classified KitError, in the spirit of Alertmanager's
 * notify.Retrier and the Azure SDK's throttling strategy. The delivery pipeline decides what happens
 * next (re-queue with a visibility delay of `retryAfterMs`, give up, or flag a credential), so no
 * delivery ever sleeps. Connectors call a client, not `send` directly: the client adds auth, the
 * User-Agent and the target's own check of a 2xx that is really an error.
 */
import { KitError, type KitErrorKind } from '../../core/errors.js';
import { redactSecrets, redactUrl, secretsOfUrl } from '../redact.js';

export interface SendRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** per-attempt budget covering connect, headers and body; default DEFAULT_TIMEOUT_MS */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** who is being called, e.g. 'jira'; the first word of every error message */
  target: string;
  /**
   * values that must never appear in an error message (tokens; a webhook URL that is itself the
   * credential: list `url` here and its path and query are kept out as well)
   */
  secrets?: ReadonlyArray<string | undefined>;
  /** delay to ask for when a 429 names none */
  defaultRetryAfterMs?: number;
  /** clock for HTTP-date and epoch headers */
  now?: () => number;
}

export interface SendResponse {
  status: number;
  headers: Headers;
  text: string;
  /** the body parsed as JSON; a body that is not JSON is a KitError 'terminal' */
  json<T = unknown>(): T;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
/** When a 429 carries no hint, come back in a minute: long enough to leave a burst window, short enough not to stall a page. */
export const DEFAULT_RATE_LIMIT_DELAY_MS = 60_000;
const EXCERPT_CHARS = 300;

export type StatusClass = 'ok' | Extract<KitErrorKind, 'retryable' | 'rate-limited' | 'auth' | 'terminal'>;

/**
 * 2xx ok; 429 rate-limited; 408 and 5xx retryable, except 501 (Not Implemented) and 505 (HTTP
 * Version Not Supported), which the Azure SDK's exponential strategy also treats as permanent;
 * 401/403 auth; everything else (other 4xx, an unexpected 1xx/3xx) terminal.
 */
export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'rate-limited';
  if (status === 408) return 'retryable';
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500 && status < 600) return status === 501 || status === 505 ? 'terminal' : 'retryable';
  return 'terminal';
}

type HeaderSource = Headers | Record<string, string | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const DELTA_SECONDS = /^\s*\d+(?:\.\d+)?\s*$/;
// Below this a numeric reset is a delta in seconds; above it, epoch seconds (ServiceNow, Azure DevOps);
// above the next, epoch milliseconds. 1e9 s is 2001, so no real epoch value falls under it.
const EPOCH_SECONDS_FLOOR = 1e9;
const EPOCH_MS_FLOOR = 1e12;

function fromDate(value: string, now: number): number | undefined {
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * How long the target asked us to wait, in ms, or undefined when it did not say.
 * Reads, in order: `Retry-After` (delta-seconds, fractional as Graph sends "2.128", or an HTTP-date),
 * `retry-after-ms` / `x-ms-retry-after-ms` (Azure), then `X-RateLimit-Reset` (epoch seconds, epoch
 * ms, a small delta, or ISO 8601 as Jira sends). A time in the past means "now" (0).
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter) {
    if (DELTA_SECONDS.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const ms = fromDate(retryAfter, now);
    if (ms !== undefined) return ms;
  }
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = header(headers, name)?.trim();
    if (v && DELTA_SECONDS.test(v)) return Math.ceil(Number(v));
  }
  const reset = header(headers, 'x-ratelimit-reset')?.trim();
  if (reset) {
    if (DELTA_SECONDS.test(reset)) {
      const n = Number(reset);
      if (n >= EPOCH_MS_FLOOR) return Math.max(0, Math.ceil(n - now));
      if (n >= EPOCH_SECONDS_FLOOR) return Math.max(0, Math.ceil(n * 1000 - now));
      return Math.ceil(n * 1000);
    }
    return fromDate(reset, now);
  }
  return undefined;
}

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  random?: () => number;
}

/**
 * "Full jitter" exponential backoff: a uniform draw from [0, min(cap, base·2^(attempt-1))).
 * `attempt` is 1 for the first retry. Spreads a burst of failed deliveries instead of re-aiming
 * them all at the same second.
 */
export function backoffMs(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 1_000, capMs = 300_000, random = Math.random } = options;
  const n = Math.max(1, Math.floor(attempt));
  const ceiling = Math.min(capMs, baseMs * 2 ** (n - 1));
  return Math.floor(random() * ceiling);
}

/** A short, single-line, secret-free excerpt of what the target said, for the error message. */
export function bodyExcerpt(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  // redact before cutting, so a secret that straddles the cut cannot leave its first half behind
  const flat = redactSecrets(text, secrets)
    .replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const cut = Array.from(flat);
  return cut.length > EXCERPT_CHARS ? `${cut.slice(0, EXCERPT_CHARS).join('')}…` : flat;
}

function statusError(
  req: SendRequest,
  status: number,
  headers: Headers,
  text: string,
  shown: string,
  now: number,
): KitError {
  const kind = classifyStatus(status);
  const secrets = secretsFor(req);
  const excerpt = bodyExcerpt(text, secrets);
  const said = excerpt ? `: ${excerpt}` : '';
  const where = `${req.method} ${shown}`;
  switch (kind) {
    case 'rate-limited': {
      const retryAfterMs = parseRetryAfter(headers, now) ?? req.defaultRetryAfterMs ?? DEFAULT_RATE_LIMIT_DELAY_MS;
      return new KitError(`${req.target}: rate limited (HTTP 429) on ${where}; retry in ${retryAfterMs} ms`, {
        kind,
        statusCode: status,
        retryAfterMs,
      });
    }
    case 'retryable': {
      // a 503 (Jira, ARM) may say when it will be back; honoured for any transient status that does
      const retryAfterMs = parseRetryAfter(headers, now);
      return new KitError(`${req.target}: HTTP ${status} on ${where} (transient)${said}`, {
        kind,
        statusCode: status,
        retryAfterMs,
      });
    }
    case 'auth':
      return new KitError(`${req.target}: HTTP ${status} on ${where}: credentials were refused; check the receiver's secret references${said}`, {
        kind,
        statusCode: status,
      });
    default: {
      const location = status >= 300 && status < 400 ? ` (redirect to ${redactUrl(headers.get('location') ?? '')})` : '';
      return new KitError(`${req.target}: HTTP ${status} on ${where}${location}${said}`, {
        kind: 'terminal',
        statusCode: status,
      });
    }
  }
}

/** An Error with the same name/code but a redacted message, so a logged cause chain leaks nothing. */
export function sanitisedCause(err: unknown, secrets: ReadonlyArray<string | undefined>, depth = 0): Error | undefined {
  if (!(err instanceof Error) || depth > 2) return undefined;
  const inner = sanitisedCause((err as { cause?: unknown }).cause, secrets, depth + 1);
  const copy = new Error(redactSecrets(err.message, secrets), inner ? { cause: inner } : undefined);
  copy.name = err.name;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') (copy as Error & { code?: string }).code = code;
  return copy;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** What to keep out of messages: the listed values and the credential-looking parts of the URL. */
export function secretsFor(req: Pick<SendRequest, 'url' | 'secrets'>): string[] {
  const listed = (req.secrets ?? []).filter((x): x is string => typeof x === 'string');
  return [...listed, ...secretsOfUrl(req.url, listed.includes(req.url))];
}

/**
 * One HTTP attempt. Resolves only for 2xx; everything else throws a KitError whose kind tells the
 * pipeline what to do and whose message is safe to log. Redirects are not followed: a webhook or
 * API that redirects is misconfigured, and following would carry the incident body (and on the
 * same origin the Authorization header) somewhere nobody configured.
 */
export async function send(req: SendRequest): Promise<SendResponse> {
  const secrets = secretsFor(req);
  const shown = redactUrl(req.url);
  let parsed: URL;
  try {
    parsed = new URL(req.url);
  } catch {
    throw new KitError(`${req.target}: the configured URL is not a valid absolute URL`, { kind: 'config' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new KitError(`${req.target}: only http(s) URLs can be called, got ${parsed.protocol}`, { kind: 'config' });
  }

  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
  const now = req.now ?? Date.now;

  let status: number;
  let headers: Headers;
  let text: string;
  try {
    const init: RequestInit = { method: req.method, signal, redirect: 'manual' };
    if (req.headers) init.headers = req.headers;
    if (req.body !== undefined) init.body = req.body;
    const res = await fetch(parsed, init);
    status = res.status;
    headers = res.headers;
    text = await res.text();
  } catch (err) {
    const cause = sanitisedCause(err, secrets);
    if (timeout.aborted) {
      throw new KitError(`${req.target}: no complete response within ${timeoutMs} ms on ${req.method} ${shown}`, {
        kind: 'retryable',
        cause,
      });
    }
    if (req.signal?.aborted) {
      throw new KitError(`${req.target}: ${req.method} ${shown} was cancelled before it completed`, { kind: 'retryable', cause });
    }
    const code = errorCode(err) ?? 'unknown';
    throw new KitError(`${req.target}: network error (${code}) on ${req.method} ${shown}`, { kind: 'retryable', cause });
  }

  if (classifyStatus(status) !== 'ok') throw statusError(req, status, headers, text, shown, now());

  return {
    status,
    headers,
    text,
    json<T>(): T {
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        throw new KitError(`${req.target}: HTTP ${status} on ${req.method} ${shown} returned a body that is not JSON: ${bodyExcerpt(text, secrets)}`, {
          kind: 'terminal',
          statusCode: status,
          cause: sanitisedCause(err, secrets),
        });
      }
    },
  };
}

/**
 * Endpoint URLs from config must be https. Plain http is accepted only for loopback hosts, which is
 * how the contract tests stand in for the real APIs; anything else would send credentials in clear.
 */
export function checkEndpointUrl(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KitError(`${what} is not a valid absolute URL`, { kind: 'config', where: { field: what } });
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return parsed;
  throw new KitError(`${what} must be an https URL (got ${parsed.protocol}//${parsed.host})`, { kind: 'config', where: { field: what } });
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}
