/**
 * A fake SOAR webhook receiver, doing what docs/RECEIVERS.md asks of a real one: it verifies the
 * signature over the raw body (the same code the docs give receivers, `verifySpkSignature`) and refuses
 * a timestamp outside its replay window, checks the bearer token when it has one, takes only JSON of
 * the incident-change v1 schema, refuses a body over its size limit (413) and processes each
 * Idempotency-Key once: a redelivery is answered 200 and not processed again. Refusals are shaped like
 * a typical low-code webhook's: a status and a small JSON body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { incidentChangeDocument, type IncidentChangeDocument } from '../../../functions/connectors/webhook/document.js';
import { reply, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

/**
 * The receiver's check, as docs/RECEIVERS.md prints it: HMAC-SHA256 of `<timestamp>.<raw body>` with
 * the shared secret, compared in constant time with every `v1=` entry of X-SPK-Signature, and the
 * timestamp no further than `toleranceSeconds` from the receiver's clock.
 */
export function verifySpkSignature(
  rawBody: string | Buffer,
  timestamp: string | undefined,
  signature: string | undefined,
  secret: string,
  nowMs: number = Date.now(),
  toleranceSeconds = 300,
): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  return signature.split(',').some((part) => {
    const [scheme, hex] = part.trim().split('=');
    if (scheme !== 'v1' || !hex || !/^[0-9a-f]{64}$/.test(hex)) return false;
    return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
  });
}

export interface FakeWebhookOptions {
  signingSecret: string;
  /** the Authorization: Bearer token it expects; absent: none checked */
  bearerToken?: string;
  /** bodies larger than this get 413 */
  maxBytes?: number;
  /** replay window for X-SPK-Timestamp */
  toleranceSeconds?: number;
  /** the receiver's clock */
  now?: () => number;
  /** what an accepted delivery is answered with; Tines-like default: 200 and a small JSON body */
  acceptReply?: (document: IncidentChangeDocument) => FakeReply;
}

export interface FakeWebhook {
  handler: FakeHandler;
  /** the webhook's path, with a secret segment as Tines and Shuffle URLs have */
  path: string;
  /** documents processed, one per Idempotency-Key */
  accepted: IncidentChangeDocument[];
  /** every request that passed the checks, duplicates included */
  verified: RecordedRequest[];
  /** redeliveries of a key already processed */
  duplicates: number;
  /** why each refused request was refused, for test failure messages */
  rejections: string[];
}

const one = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

export function createFakeWebhook(options: FakeWebhookOptions): FakeWebhook {
  const path = '/webhook/spk-soc/7c1e9a4f0b2d48e6a3f5c8d1e0b9a7c6';
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const now = options.now ?? Date.now;
  const accepted: IncidentChangeDocument[] = [];
  const verified: RecordedRequest[] = [];
  const rejections: string[] = [];
  const seen = new Map<string, string>();
  let duplicates = 0;
  const refuse = (status: number, why: string): FakeReply => {
    rejections.push(why);
    return reply(status, { success: false, error: why });
  };

  const handler: FakeHandler = (req) => {
    if (req.path !== path) return refuse(404, `no webhook at ${req.path}`);
    if (req.method !== 'POST') return refuse(405, `${req.method} is not POST`);
    if (!/^application\/json\b/i.test(one(req.headers['content-type']) ?? '')) return refuse(415, 'Content-Type must be application/json');
    if (Buffer.byteLength(req.body, 'utf8') > maxBytes) return refuse(413, `body over ${maxBytes} bytes`);
    if (options.bearerToken !== undefined && one(req.headers.authorization) !== `Bearer ${options.bearerToken}`) return refuse(401, 'bearer token missing or wrong');
    if (!verifySpkSignature(req.body, one(req.headers['x-spk-timestamp']), one(req.headers['x-spk-signature']), options.signingSecret, now(), options.toleranceSeconds)) {
      return refuse(401, 'signature missing, wrong or outside the replay window');
    }
    const key = one(req.headers['idempotency-key']);
    if (!key || key !== one(req.headers['x-spk-idempotency-key'])) return refuse(400, 'Idempotency-Key and X-SPK-Idempotency-Key must be present and equal');
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body);
    } catch {
      return refuse(400, 'body is not JSON');
    }
    const checked = incidentChangeDocument.safeParse(parsed);
    if (!checked.success) return refuse(422, `not an incident-change v1 document: ${checked.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    if (checked.data.idempotencyKey !== key) return refuse(400, 'Idempotency-Key differs from the signed body\'s idempotencyKey');
    verified.push(req);
    const first = seen.get(key);
    if (first !== undefined) {
      duplicates++;
      return reply(200, { success: true, duplicate: true, id: first });
    }
    const id = `exec-${accepted.length + 1}`;
    seen.set(key, id);
    accepted.push(checked.data);
    return options.acceptReply ? options.acceptReply(checked.data) : reply(200, { success: true, id });
  };

  return {
    handler,
    path,
    accepted,
    verified,
    get duplicates() {
      return duplicates;
    },
    rejections,
  };
}
