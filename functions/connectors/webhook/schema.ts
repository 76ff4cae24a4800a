/** The receivers.yaml entry of a webhook receiver: any SOAR or service that takes a signed JSON POST. */
import { z } from 'zod';
import { receiverBase, secretRef } from '../../config/receiver-fields.js';

/**
 * Headers the kit sets itself: the signature, the idempotency key, the body's framing, auth and the
 * connection. A static header may not replace them (a receiver would verify a signature the kit did not
 * make, or dedupe on a key the kit did not send).
 */
const RESERVED_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'cookie',
  'user-agent',
  'idempotency-key',
]);
export const RESERVED_HEADER_PREFIX = 'x-spk-';

export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADERS.has(lower) || lower.startsWith(RESERVED_HEADER_PREFIX);
}

/** RFC 9110 field-name: a token */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, { message: 'a header name is 1–64 letters, digits and !#$%&\'*+.^_`|~-' })
  .refine((name) => !isReservedHeader(name), {
    message: 'the kit sets this header itself (Authorization, Content-Type, Idempotency-Key, User-Agent, X-SPK-*, connection headers)',
  });
/** visible ASCII, spaces and tabs: no line break can start a header of its own */
const headerValue = z.string().regex(/^[\t\x20-\x7E]{0,1024}$/, { message: 'a header value is at most 1024 printable ASCII characters, no line breaks' });

export const WEBHOOK_DEFAULT_MAX_BODY_BYTES = 256 * 1024;
export const WEBHOOK_MIN_BODY_BYTES = 16 * 1024;
export const WEBHOOK_MAX_BODY_BYTES = 10 * 1024 * 1024;

export const webhookReceiver = z
  .object({
    kind: z.literal('webhook'),
    ...receiverBase,
    url: secretRef
      .optional()
      .describe(
        'The receiver\'s webhook URL (Tines, Torq, Cortex XSOAR, Shuffle, your own service), https. A secret reference, since many SOAR webhook URLs carry their own secret in the path. Absent: deliveries go to the outbox.',
      ),
    signingSecret: secretRef
      .optional()
      .describe(
        'Key for the HMAC-SHA256 signature of every delivery (X-SPK-Signature: v1=<hex> over "<X-SPK-Timestamp>.<body>"). At least 32 characters, e.g. `openssl rand -hex 32`. Required when url is set.',
      ),
    bearerToken: secretRef.optional().describe('Optional: sent as "Authorization: Bearer <token>" for receivers that check a token as well as, or instead of, the signature.'),
    headers: z
      .record(headerName, headerValue)
      .optional()
      .describe('Optional static headers, e.g. a tenant or routing name the receiver expects. Not for secrets: values are written here in plain text.'),
    maxBodyBytes: z
      .number()
      .int()
      .min(WEBHOOK_MIN_BODY_BYTES)
      .max(WEBHOOK_MAX_BODY_BYTES)
      .default(WEBHOOK_DEFAULT_MAX_BODY_BYTES)
      .describe('The most the receiver accepts in one body, in bytes (default 262144). Longer incident text is cut to fit; the document lists what was cut in "truncated".'),
  })
  .strict();
export type WebhookReceiver = z.infer<typeof webhookReceiver>;
