/**
 * A client per target: a base URL and an ordered list of policies in front of the one-attempt
 * transport (send.ts). This is the Azure SDK's core-rest-pipeline idea made small: a policy is
 * `{ name, sendRequest(request, next) }`, the chain is composed once with reduceRight, and the
 * order is fixed by role rather than by phases:
 *
 *   log → User-Agent → caller's policies → auth (signs last, over the final URL, headers, body)
 *     → transport (timeout, abort, status classification) → the target's response check
 *
 * The response check sits inside auth so that an auth policy sees a "200 that says invalid_auth"
 * exactly as it sees a 401 (the Entra policy drops its cached token on either).
 *
 * Connections: the transport is Node's global fetch, whose undici agent keeps connections alive
 * and pools them per origin, so consecutive calls of one delivery (Jira: search, create, comment)
 * reuse one TLS connection. A loopback test counts the server's sockets to keep that true.
 */
import { KitError } from '../../core/errors.js';
import { redactSecrets, redactUrl } from '../redact.js';
import { checkEndpointUrl, sanitisedCause, secretsFor, send, type SendResponse } from './send.js';
import { KIT_USER_AGENT, userAgentPolicy } from './user-agent.js';

/** The request as policies see it. Policies change it in place and pass it on. */
export interface PipelineRequest {
  method: string;
  /** absolute; a policy may rewrite it (the HMAC signer serialises the query it signs) */
  url: URL;
  headers: Headers;
  body: string | undefined;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  /** who is called, e.g. 'jira': the first word of every message */
  readonly target: string;
  /**
   * values that must never appear in an error message or log line. A policy that adds a
   * credential (a token, a header value, a signing key) lists it here before calling `next`.
   */
  secrets: string[];
}

export type SendNext = (request: PipelineRequest) => Promise<SendResponse>;

export interface HttpPolicy {
  /** unique within a client; names the policy in `policyNames()` */
  name: string;
  sendRequest(request: PipelineRequest, next: SendNext): Promise<SendResponse>;
}

/** What a response check may use to word its error; `url` is already redacted. */
export interface ResponseCheckContext {
  target: string;
  method: string;
  url: string;
  secrets: readonly string[];
  now: number;
}

/**
 * Looks at a 2xx and throws a classified KitError when the body says it failed (Slack's `ok:false`,
 * a Teams connector's "delivery failed" text). Like Alertmanager's checkJSONResponseError, but for
 * the answers that arrive with a success status.
 */
export type ResponseCheck = (response: SendResponse, context: ResponseCheckContext) => void;

export interface TargetClientOptions {
  /** who is called, e.g. 'jira': the first word of every message */
  target: string;
  /** request paths are appended to it; for a webhook, the webhook URL itself (send without `path`) */
  baseUrl: string;
  /** the config field the base URL came from, named when it is not acceptable */
  field?: string;
  /** how the target knows it is us: basicAuth, bearerAuth, webhookUrlAuth, entraTokenAuth, acsHmacAuth */
  auth: HttpPolicy;
  /** the target's check of a 2xx; absent: any 2xx is success */
  check?: ResponseCheck;
  /** run after User-Agent and before auth, in this order */
  policies?: HttpPolicy[];
  userAgent?: string;
  /** per-attempt budget (connect, headers, body); default DEFAULT_TIMEOUT_MS */
  timeoutMs?: number;
  /** delay to ask for when a 429 names none */
  defaultRetryAfterMs?: number;
  /** further values to keep out of messages (e.g. the configured webhook URL as written) */
  secrets?: ReadonlyArray<string | undefined>;
  /** clock for Retry-After dates, x-ms-date and token expiry */
  now?: () => number;
  /** one line per attempt, secret-free (method, redacted URL, outcome) */
  log?: (line: string) => void;
}

export interface TargetRequest {
  method: string;
  /** appended to the base URL (may carry a query); omit to call the base URL itself */
  path?: string;
  headers?: Record<string, string>;
  /** a body already serialised (an Adaptive Card envelope, form data) */
  body?: string;
  /** serialised here, once, with Content-Type application/json unless a header says otherwise */
  json?: unknown;
  signal?: AbortSignal;
  /** overrides the client's timeout for this call */
  timeoutMs?: number;
}

export interface TargetClient {
  readonly target: string;
  /** scheme, host and first path segment of the base URL: safe to show */
  readonly shownUrl: string;
  send(request: TargetRequest): Promise<SendResponse>;
  /** the policy chain, outermost first (log, userAgent, …, auth) */
  policyNames(): string[];
}

export const LOG_POLICY_NAME = 'log';

function logPolicy(log: (line: string) => void): HttpPolicy {
  return {
    name: LOG_POLICY_NAME,
    async sendRequest(request, next) {
      const where = `${request.method} ${redactUrl(request.url.href)}`;
      const started = performance.now();
      const took = () => `${Math.round(performance.now() - started)} ms`;
      try {
        const res = await next(request);
        log(`${request.target}: ${where} → HTTP ${res.status} in ${took()}`);
        return res;
      } catch (err) {
        // by now every error is a KitError whose message was built from redacted parts; redacting
        // again with the secrets the inner policies listed costs nothing and covers a careless one
        const message = redactSecrets(err instanceof Error ? err.message : String(err), secretsFor({ url: request.url.href, secrets: request.secrets }));
        log(`${request.target}: ${where} failed in ${took()}: ${message}`);
        throw err;
      }
    },
  };
}

function joinUrl(base: URL, path: string | undefined, target: string): URL {
  if (path === undefined || path === '') return new URL(base.href);
  if (!path.startsWith('/')) throw new KitError(`${target}: request path must start with "/"`, { kind: 'validation' });
  if (base.search !== '' || base.hash !== '') {
    // a base URL with a query is a webhook whose query is its credential; appending a path would drop or garble it
    throw new KitError(`${target}: the base URL has a query, so requests cannot add a path to it`, { kind: 'validation' });
  }
  return new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`);
}

export function createTargetClient(options: TargetClientOptions): TargetClient {
  const { target } = options;
  const base = checkEndpointUrl(options.baseUrl, options.field ?? `${target} base URL`);
  const now = options.now ?? Date.now;
  const extraSecrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string');

  const policies: HttpPolicy[] = [
    ...(options.log ? [logPolicy(options.log)] : []),
    userAgentPolicy(options.userAgent ?? KIT_USER_AGENT),
    ...(options.policies ?? []),
    options.auth,
  ];
  const seen = new Set<string>();
  for (const p of policies) {
    // the Azure SDK rejects duplicates too: two auth policies would both sign, and one would win silently
    if (seen.has(p.name)) throw new KitError(`${target}: policy "${p.name}" is in the pipeline twice`, { kind: 'config' });
    seen.add(p.name);
  }

  const transport: SendNext = async (req) => {
    const url = req.url.href;
    const res = await send({
      method: req.method,
      url,
      headers: Object.fromEntries(req.headers),
      body: req.body,
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      target,
      secrets: req.secrets,
      defaultRetryAfterMs: options.defaultRetryAfterMs,
      now,
    });
    options.check?.(res, { target, method: req.method, url: redactUrl(url), secrets: secretsFor({ url, secrets: req.secrets }), now: now() });
    return res;
  };
  const chain = policies.reduceRight<SendNext>((next, policy) => (req) => policy.sendRequest(req, next), transport);

  return {
    target,
    shownUrl: redactUrl(base.href),
    policyNames: () => policies.map((p) => p.name),
    async send(request: TargetRequest): Promise<SendResponse> {
      const url = joinUrl(base, request.path, target);
      const headers = new Headers(request.headers);
      let body = request.body;
      if (request.json !== undefined) {
        if (body !== undefined) throw new KitError(`${target}: a request has either body or json, not both`, { kind: 'validation' });
        body = JSON.stringify(request.json);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      const req: PipelineRequest = {
        method: request.method.toUpperCase(),
        url,
        headers,
        body,
        signal: request.signal,
        timeoutMs: request.timeoutMs ?? options.timeoutMs,
        target,
        secrets: [...extraSecrets],
      };
      try {
        return await chain(req);
      } catch (err) {
        if (err instanceof KitError) throw err;
        // a policy that threw something else (a bug, a credential library's own error): the pipeline
        // logs err.message, so it must not carry a secret the policy held
        const secrets = secretsFor({ url: req.url.href, secrets: req.secrets });
        const said = err instanceof Error ? err.message : String(err);
        throw new KitError(`${target}: ${req.method} ${redactUrl(req.url.href)} failed: ${redactSecrets(said, secrets)}`, {
          kind: 'retryable',
          cause: sanitisedCause(err, secrets),
        });
      }
    },
  };
}
