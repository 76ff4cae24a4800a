/**
 * OAuth for the ServiceNow Table API: a bearer token from the instance's own token endpoint
 * (POST /oauth_token.do, form-encoded), cached until shortly before it expires and shared by every
 * delivery of the connector. Client credentials (client id + secret; the instance must allow the grant,
 * glide.oauth.inbound.client.credential.grant_type.enabled=true, with an OAuth Application User), or the
 * password grant when a username and password are configured too.
 *
 * A 401 on an API call made with a cached token means the token died early (revoked, instance restarted,
 * lifespan shortened): the token is dropped, a new one fetched and the call made once more. A new token
 * that is refused at once is not retried: a second token would be refused the same way.
 */
import { createHash } from 'node:crypto';
import { KitError } from '../../core/errors.js';
import { createTargetClient, type HttpPolicy, type ResponseCheck, type TargetClient } from '../http/index.js';

/** get a new token this long before the old one expires, so none expires between our check and the instance's */
export const SERVICENOW_TOKEN_REFRESH_MS = 60_000;
/** ServiceNow's default access token lifespan (expires_in 1799) when an answer names none */
const DEFAULT_LIFESPAN_S = 1799;

export interface ServicenowOAuthCredentials {
  clientId: string;
  clientSecret: string;
  /** both set: the password grant */
  username?: string;
  password?: string;
}

interface CachedToken {
  /** which credentials it was issued for (a rotated secret must not reuse it) */
  for: string;
  token: string;
  expiresAt: number;
}

/** One per connector: the token outlives the single delivery a target is opened for. */
export interface ServicenowTokenCache {
  current?: CachedToken;
  pending?: { for: string; promise: Promise<CachedToken> };
}

export interface ServicenowOAuthOptions {
  baseUrl: string;
  field: string;
  credentials: ServicenowOAuthCredentials;
  cache: ServicenowTokenCache;
  timeoutMs?: number;
  /** the target's check of a 2xx (a hibernating instance answers 200 with HTML here too) */
  check?: ResponseCheck;
  now?: () => number;
}

function fingerprint(c: ServicenowOAuthCredentials): string {
  return createHash('sha256').update([c.clientId, c.clientSecret, c.username ?? '', c.password ?? ''].join('\0')).digest('hex');
}

function tokenRequestBody(c: ServicenowOAuthCredentials): string {
  const form = new URLSearchParams();
  if (c.username !== undefined && c.password !== undefined) {
    form.set('grant_type', 'password');
    form.set('username', c.username);
    form.set('password', c.password);
  } else {
    form.set('grant_type', 'client_credentials');
  }
  form.set('client_id', c.clientId);
  form.set('client_secret', c.clientSecret);
  return form.toString();
}

export function servicenowOAuth(options: ServicenowOAuthOptions): HttpPolicy {
  const { credentials: c, cache } = options;
  const now = options.now ?? Date.now;
  const key = fingerprint(c);
  // as written and as the form encodes them, in case an error page echoes the request
  const secrets = [c.clientSecret, c.password, c.clientId]
    .filter((s): s is string => s !== undefined)
    .flatMap((s) => [s, encodeURIComponent(s), new URLSearchParams({ s }).toString().slice(2)]);
  // the token endpoint is the instance itself; the form body carries the credentials, listed as secrets
  const tokenClient: TargetClient = createTargetClient({
    target: 'servicenow',
    baseUrl: options.baseUrl,
    field: options.field,
    timeoutMs: options.timeoutMs,
    now,
    ...(options.check ? { check: options.check } : {}),
    auth: {
      name: 'auth:oauth-client',
      sendRequest(request, next) {
        request.secrets.push(...secrets);
        return next(request);
      },
    },
  });

  async function fetchToken(signal: AbortSignal | undefined): Promise<CachedToken> {
    const grant = c.username !== undefined ? 'password' : 'client_credentials';
    let res;
    try {
      res = await tokenClient.send({
        method: 'POST',
        path: '/oauth_token.do',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: tokenRequestBody(c),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      // the token endpoint answers 400/401 for a wrong client, a disabled grant or a wrong user: a person must fix it
      if (err instanceof KitError && (err.kind === 'auth' || (err.kind === 'terminal' && err.statusCode === 400))) {
        throw new KitError(
          `${err.message} (OAuth ${grant} grant refused: check clientId/clientSecret${grant === 'password' ? ', username and password' : ' and that the instance allows the client_credentials grant'})`,
          { kind: 'auth', ...(err.statusCode === undefined ? {} : { statusCode: err.statusCode }), cause: err.cause },
        );
      }
      throw err;
    }
    // parsed here, not with res.json(): its error would quote the body, and the body holds the token
    let parsed: { access_token?: unknown; expires_in?: unknown } = {};
    try {
      parsed = JSON.parse(res.text) as typeof parsed;
    } catch {
      // no cause: a JSON.parse message quotes the start of the body
      throw new KitError(`servicenow: POST /oauth_token.do answered HTTP ${res.status} with a body that is not JSON`, { kind: 'terminal', statusCode: res.status });
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw new KitError(`servicenow: POST /oauth_token.do answered HTTP ${res.status} without an access_token`, { kind: 'auth', statusCode: res.status });
    }
    const seconds = Number(parsed.expires_in);
    const lifespan = Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_LIFESPAN_S;
    return { for: key, token: parsed.access_token, expiresAt: now() + lifespan * 1000 };
  }

  /** the cached token when it has time left, else one token request shared by everyone who asks meanwhile */
  async function tokenFor(signal: AbortSignal | undefined): Promise<{ token: string; cached: boolean }> {
    const current = cache.current;
    if (current && current.for === key && now() < current.expiresAt - SERVICENOW_TOKEN_REFRESH_MS) return { token: current.token, cached: true };
    if (!cache.pending || cache.pending.for !== key) {
      const promise = fetchToken(signal).finally(() => {
        if (cache.pending?.promise === promise) cache.pending = undefined;
      });
      cache.pending = { for: key, promise };
    }
    const fresh = await cache.pending.promise;
    cache.current = fresh;
    return { token: fresh.token, cached: false };
  }

  return {
    name: 'auth:servicenow-oauth',
    async sendRequest(request, next) {
      const use = (token: string) => {
        const value = `Bearer ${token}`;
        request.headers.set('authorization', value);
        request.secrets.push(token, value);
      };
      const first = await tokenFor(request.signal);
      use(first.token);
      try {
        return await next(request);
      } catch (err) {
        if (!(err instanceof KitError) || err.statusCode !== 401 || !first.cached) throw err;
        if (cache.current?.token === first.token) cache.current = undefined;
        const second = await tokenFor(request.signal);
        use(second.token);
        return next(request);
      }
    },
  };
}
