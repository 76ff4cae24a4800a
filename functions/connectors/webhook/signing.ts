/**
 * How a webhook receiver knows a delivery is the kit's, in the manner of Slack's and Stripe's request
 * signing: per attempt, the kit takes the current Unix time in seconds, signs `<timestamp>.<body>` with
 * HMAC-SHA256 keyed by the receiver's signing secret (its UTF-8 bytes), and sends
 *
 *   X-SPK-Timestamp: 1795772160
 *   X-SPK-Signature: v1=<64 lower-case hex>
 *
 * The receiver recomputes the HMAC over the raw body it got (before any JSON parsing), compares in
 * constant time, and refuses a timestamp more than five minutes from its clock, so a captured request
 * cannot be replayed later. "v1" names the scheme: a later scheme would add `v2=…` to the same header,
 * comma-separated, and a v1 verifier keeps working on the `v1=` entry.
 *
 * Signed in the auth policy, the last one before the transport, over the body as it is sent; each
 * retry carries a fresh timestamp and signature over the same body.
 */
import { createHmac } from 'node:crypto';
import { KitError } from '../../core/errors.js';
import type { HttpPolicy } from '../http/client.js';

export const SIGNATURE_HEADER = 'X-SPK-Signature';
export const TIMESTAMP_HEADER = 'X-SPK-Timestamp';
export const SIGNATURE_SCHEME = 'v1';
/** what the receiver should allow between X-SPK-Timestamp and its own clock (Slack and Stripe use 5 minutes) */
export const RECOMMENDED_TOLERANCE_SECONDS = 300;
/** 32 characters: 128 bits even for a hex secret; `openssl rand -hex 32` gives 64 */
export const MIN_SIGNING_SECRET_CHARS = 32;

/** The signature of one body at one time: `v1=` and the hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  const hmac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`, 'utf8').update(body, 'utf8').digest('hex');
  return `${SIGNATURE_SCHEME}=${hmac}`;
}

/** A secret too short to sign with is a configuration mistake, found before anything is sent. */
export function checkSigningSecret(secret: string, field: string): void {
  if (secret.length < MIN_SIGNING_SECRET_CHARS) {
    throw new KitError(`${field}: the signing secret must be at least ${MIN_SIGNING_SECRET_CHARS} characters (e.g. openssl rand -hex 32)`, {
      kind: 'config',
      where: { field },
    });
  }
}

/**
 * The long path segments after the first (a Tines or Shuffle webhook's secret), so a receiver that
 * echoes one alone in an error body is redacted too. redact.ts secretsOfUrl skips the first segment
 * of those already 8 characters long, which drops the secret when the first segment is shorter
 * ("/webhook/<name>/<secret>").
 */
function secretPathSegments(url: URL): string[] {
  return url.pathname
    .split('/')
    .filter((s) => s.length > 0)
    .slice(1)
    .filter((s) => s.length >= 8)
    .flatMap((s) => {
      try {
        return [s, decodeURIComponent(s)];
      } catch {
        return [s];
      }
    });
}

export interface WebhookAuthOptions {
  signingSecret: string;
  /** sent as Authorization: Bearer <token> when set */
  bearerToken?: string;
  /** clock for X-SPK-Timestamp */
  now?: () => number;
}

/**
 * The webhook's auth: the URL may itself be a credential (a Tines or Shuffle webhook path), the
 * signature proves the body, and a bearer token is added when the receiver wants one. Everything it
 * adds or holds is listed in `request.secrets`, so no message carries it.
 */
export function webhookAuth(options: WebhookAuthOptions): HttpPolicy {
  const now = options.now ?? Date.now;
  const bearer = options.bearerToken === undefined ? undefined : `Bearer ${options.bearerToken}`;
  return {
    name: 'auth:webhook-hmac',
    sendRequest(request, next) {
      const timestamp = Math.floor(now() / 1000);
      const signature = webhookSignature(options.signingSecret, timestamp, request.body ?? '');
      request.headers.set(TIMESTAMP_HEADER, String(timestamp));
      request.headers.set(SIGNATURE_HEADER, signature);
      request.secrets.push(request.url.href, ...secretPathSegments(request.url), options.signingSecret, signature);
      if (bearer !== undefined && options.bearerToken !== undefined) {
        request.headers.set('authorization', bearer);
        request.secrets.push(options.bearerToken, bearer);
      }
      return next(request);
    },
  };
}
