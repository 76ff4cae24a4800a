/**
 * A generic webhook (any SOAR: Tines, Torq, Cortex XSOAR, Shuffle, a home-grown service): one signed
 * JSON POST of the incident-change document per delivery step. A webhook cannot be asked later whether
 * it got a message, so exactly-once is the receiver's half of the bargain: every attempt of a step
 * carries the same Idempotency-Key (and the same body), and the receiver processes a key once.
 *
 * URL, signing secret and bearer token are resolved per delivery, so a rotated Key Vault secret is
 * picked up without a restart; none of them ever appears in an error beyond scheme, host and first
 * path segment of the URL.
 */
import type { WebhookReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { createTargetClient } from '../http/index.js';
import type { LiveConnectorOptions } from '../kind.js';
import { sendArguments } from '../request.js';
import { resolveSecret } from '../secrets.js';
import type { Connector, DeliveryRequest, DeliveryResult } from '../types.js';
import { webhookResponseCheck } from './check.js';
import { buildWebhookPayload } from './payload.js';
import { checkSigningSecret, webhookAuth } from './signing.js';

export interface WebhookConnectorOptions extends LiveConnectorOptions<WebhookReceiver> {
  /** clock for X-SPK-Timestamp (tests) */
  now?: () => number;
}

export function createWebhookConnector(options: WebhookConnectorOptions): Connector {
  const { receiverName, receiver } = options;
  const field = (name: string) => `receivers.${receiverName}.${name}`;

  return {
    async execute(request: DeliveryRequest): Promise<DeliveryResult> {
      const env = options.env ?? process.env;
      const url = resolveSecret(receiver.url, env, field('url'));
      if (url === undefined) {
        throw new KitError(`${field('url')} is not set: this receiver delivers to the outbox, not to a webhook`, { kind: 'config', where: { field: field('url') } });
      }
      const signingSecret = resolveSecret(receiver.signingSecret, env, field('signingSecret'));
      if (signingSecret === undefined) {
        // an unsigned delivery would teach the receiver to accept anyone's: refuse rather than send one
        throw new KitError(`${field('signingSecret')} is not set: a webhook receiver signs every delivery, give it env:NAME with a secret of at least 32 characters`, {
          kind: 'config',
          where: { field: field('signingSecret') },
        });
      }
      checkSigningSecret(signingSecret, field('signingSecret'));
      const bearerToken = resolveSecret(receiver.bearerToken, env, field('bearerToken'));

      // a client per delivery: the URL may be the credential and may have been rotated since the last one
      const client = createTargetClient({
        target: 'webhook',
        baseUrl: url,
        field: field('url'),
        auth: webhookAuth({ signingSecret, ...(bearerToken === undefined ? {} : { bearerToken }), ...(options.now ? { now: options.now } : {}) }),
        check: webhookResponseCheck,
        timeoutMs: options.fetchTimeoutMs,
        secrets: [url, signingSecret, bearerToken],
        ...(options.now ? { now: options.now } : {}),
      });
      const message = buildWebhookPayload({
        step: request.step,
        receiverName,
        receiver,
        rendered: request.rendered,
        operation: 'send',
        ticket: null,
      });
      // JSON as data: the client serialises it once, and the auth policy signs exactly that text
      await client.send(sendArguments(message, request.signal ? { signal: request.signal } : {}));
      return { action: 'sent', ticket: null, outbox: null };
    },
  };
}
