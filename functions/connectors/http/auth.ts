/**
 * Auth strategies, one policy each, so a connector says how its target knows us in one word and
 * never builds an Authorization header itself. Every policy lists what it adds (the secret, the
 * header value) in `request.secrets` before the request leaves, so no error or log line can carry it.
 *
 *  - basicAuth         Jira Cloud (email + API token), ServiceNow, Freshservice (key + "X")
 *  - bearerAuth        a static token: Slack bot token (xoxb-), PagerDuty REST, Zendesk OAuth
 *  - webhookUrlAuth    the URL is the credential (Teams Workflows sig=, Slack incoming webhooks)
 *  - entraTokenAuth    a token from an @azure/identity TokenCredential for a scope (Graph, ACS, ARM)
 *  - acsHmacAuth       Azure Communication Services access key: HMAC-SHA256 over verb, path, date, host, body hash
 */
import { createHash, createHmac } from 'node:crypto';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { KitError, type KitErrorKind } from '../../core/errors.js';
import type { HttpPolicy } from './client.js';
import { bodyExcerpt, sanitisedCause } from './send.js';

export function basicAuth(user: string, secret: string): HttpPolicy {
  const encoded = Buffer.from(`${user}:${secret}`, 'utf8').toString('base64');
  const value = `Basic ${encoded}`;
  return {
    name: 'auth:basic',
    sendRequest(request, next) {
      request.headers.set('authorization', value);
      request.secrets.push(secret, encoded, value);
      return next(request);
    },
  };
}

export function bearerAuth(token: string): HttpPolicy {
  const value = `Bearer ${token}`;
  return {
    name: 'auth:bearer',
    sendRequest(request, next) {
      request.headers.set('authorization', value);
      request.secrets.push(token, value);
      return next(request);
    },
  };
}

/**
 * Nothing is added: the URL carries the credential (a Logic Apps SAS `sig=`, Slack's
 * /services/T…/B…/<secret>). Listing the URL as sent makes the transport treat the whole URL as the
 * secret: messages show only scheme, host and first path segment, and the path, query and long
 * segments are redacted wherever a vendor echoes them.
 */
export function webhookUrlAuth(): HttpPolicy {
  return {
    name: 'auth:webhook-url',
    sendRequest(request, next) {
      request.secrets.push(request.url.href);
      return next(request);
    },
  };
}

export interface EntraTokenAuthOptions {
  /** e.g. 'https://communication.azure.com/.default', 'https://graph.microsoft.com/.default' */
  scope: string | string[];
  /**
   * the identity to ask; default DefaultAzureCredential (the Function App's managed identity in Azure),
   * created on first use so that a cold start that never calls this target does not load @azure/identity
   */
  credential?: TokenCredential;
  /**
   * get a new token this long before the current one expires; default 2 minutes, the Azure SDK's
   * bearerTokenAuthenticationPolicy window, so a token never expires between our check and the target's
   */
  refreshWindowMs?: number;
  now?: () => number;
}

export const ENTRA_REFRESH_WINDOW_MS = 2 * 60_000;
/** A token this close to expiry is not used even when a refresh failed: it would die in flight. */
const ENTRA_MIN_REMAINING_MS = 30_000;

function tokenErrorKind(err: unknown): KitErrorKind {
  const name = err instanceof Error ? err.name : '';
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (name === 'AbortError') return 'retryable';
  if (typeof status === 'number') {
    if (status === 429) return 'rate-limited';
    if (status >= 500 || status === 408) return 'retryable';
    return 'auth';
  }
  // no identity configured / none of DefaultAzureCredential's sources worked: fixing it takes a person
  if (name === 'CredentialUnavailableError' || name === 'AggregateAuthenticationError' || name === 'AuthenticationRequiredError') return 'auth';
  // anything else (IMDS unreachable for a moment, a DNS hiccup) is worth another try
  return 'retryable';
}

/**
 * A bearer token from Entra ID, cached until it is within `refreshWindowMs` of expiry (or past the
 * credential's own refreshAfterTimestamp). Concurrent requests share one token request. When a
 * refresh fails while the cached token still has time left, the cached one is used, as the Azure
 * SDK's token cycler does. A 401/403 (or a check's auth error) drops the cache, so the retry of a
 * delivery whose token was revoked asks again instead of presenting it until it expires.
 */
export function entraTokenAuth(options: EntraTokenAuthOptions): HttpPolicy {
  const scopes = Array.isArray(options.scope) ? options.scope : [options.scope];
  const refreshWindowMs = options.refreshWindowMs ?? ENTRA_REFRESH_WINDOW_MS;
  const now = options.now ?? Date.now;
  let credential: TokenCredential | undefined = options.credential;
  let cached: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;

  async function identity(): Promise<TokenCredential> {
    if (!credential) {
      const { DefaultAzureCredential } = await import('@azure/identity');
      credential = new DefaultAzureCredential();
    }
    return credential;
  }

  // the credential may ask for an earlier refresh (managed identity sets refreshAfterTimestamp); never later than our window
  const fresh = (token: AccessToken, at: number): boolean =>
    at < Math.min(token.refreshAfterTimestamp ?? Infinity, token.expiresOnTimestamp - refreshWindowMs);

  async function request(target: string, signal: AbortSignal | undefined): Promise<AccessToken> {
    let token: AccessToken | null;
    try {
      token = await (await identity()).getToken(scopes, signal ? { abortSignal: signal } : {});
    } catch (err) {
      const said = err instanceof Error ? bodyExcerpt(err.message) : 'unknown error';
      throw new KitError(`${target}: could not get an Entra token for ${scopes.join(' ')}: ${said}`, {
        kind: tokenErrorKind(err),
        cause: sanitisedCause(err, []),
        ...(typeof (err as { statusCode?: unknown }).statusCode === 'number' ? { statusCode: (err as { statusCode: number }).statusCode } : {}),
      });
    }
    if (!token || typeof token.token !== 'string' || token.token === '') {
      throw new KitError(`${target}: the credential returned no Entra token for ${scopes.join(' ')}`, { kind: 'auth' });
    }
    return token;
  }

  async function tokenFor(target: string, signal: AbortSignal | undefined): Promise<string> {
    const at = now();
    if (cached && fresh(cached, at)) return cached.token;
    // one token request for everyone who arrives while it is out. It carries the first caller's abort
    // signal; if that caller gives up, the others fail retryable too and their deliveries are re-queued.
    pending ??= request(target, signal).finally(() => {
      pending = undefined;
    });
    try {
      cached = await pending;
    } catch (err) {
      if (cached && cached.expiresOnTimestamp - now() > ENTRA_MIN_REMAINING_MS) return cached.token;
      throw err;
    }
    return cached.token;
  }

  return {
    name: 'auth:entra',
    async sendRequest(request, next) {
      const token = await tokenFor(request.target, request.signal);
      const value = `Bearer ${token}`;
      request.headers.set('authorization', value);
      request.secrets.push(token, value);
      try {
        return await next(request);
      } catch (err) {
        if (err instanceof KitError && err.kind === 'auth' && cached?.token === token) cached = undefined;
        throw err;
      }
    },
  };
}

export interface AcsHmacAuthOptions {
  /** clock for x-ms-date (ACS rejects a date more than 15 minutes off) */
  now?: () => number;
}

/** base64 of SHA-256 of the UTF-8 body, as ACS wants it in x-ms-content-sha256 (the empty string for no body). */
export function acsContentHash(body: string | undefined): string {
  return createHash('sha256').update(body ?? '', 'utf8').digest('base64');
}

/**
 * The string ACS signs: `VERB\npathAndQuery\ndate;host;contentHash` (learn.microsoft.com
 * rest/api/communication/authentication; the same string the Azure SDK's
 * communicationAccessKeyCredentialPolicy builds). `host` is the URL's host with a non-default port.
 */
export function acsStringToSign(method: string, url: URL, date: string, contentHash: string): string {
  return `${method.toUpperCase()}\n${url.pathname}${url.search}\n${date};${url.host};${contentHash}`;
}

/**
 * Azure Communication Services access-key auth (Email, SMS): x-ms-date, x-ms-content-sha256 and
 * `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<b64>`, the
 * signature an HMAC-SHA256 keyed with the base64-decoded access key. Signed per attempt, so each
 * retry carries a fresh date.
 */
export function acsHmacAuth(accessKey: string, options: AcsHmacAuthOptions = {}): HttpPolicy {
  const key = Buffer.from(accessKey, 'base64');
  // Buffer.from ignores characters outside the alphabet, so compare the round trip rather than catch
  if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== accessKey.trim().replace(/=+$/, '')) {
    throw new KitError('acs: the access key is not base64 (copy the key, not the connection string)', { kind: 'config' });
  }
  const now = options.now ?? Date.now;
  return {
    name: 'auth:acs-hmac',
    sendRequest(request, next) {
      // sign exactly what is sent: URLSearchParams' serialisation is what the Azure SDK signs, so send that too
      const query = request.url.searchParams.toString();
      request.url.search = query;
      const date = new Date(now()).toUTCString();
      const contentHash = acsContentHash(request.body);
      const signature = createHmac('sha256', key).update(acsStringToSign(request.method, request.url, date, contentHash), 'utf8').digest('base64');
      const value = `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`;
      request.headers.set('x-ms-date', date);
      request.headers.set('x-ms-content-sha256', contentHash);
      request.headers.set('authorization', value);
      request.secrets.push(accessKey, signature, value);
      return next(request);
    },
  };
}
