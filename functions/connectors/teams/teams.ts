/**
 * Microsoft Teams through a Workflows webhook (Power Automate "When a Teams webhook request is
 * received"). The whole URL is the credential (its sig= is a SAS), so it is a secret reference and
 * never appears in an error message beyond scheme, host and first path segment.
 */
import type { ReceiverOf } from '../../core/config-schema.js';
import { KitError } from '../../core/errors.js';
import { checkEndpointUrl, send } from '../http.js';
import { resolveSecret } from '../secrets.js';
import type { Connector, DeliveryRequest, DeliveryResult } from '../types.js';
import { buildTeamsPayload } from './payload.js';

export interface TeamsConnectorOptions {
  receiverName: string;
  receiver: ReceiverOf<'teams'>;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
}

export function createTeamsConnector(options: TeamsConnectorOptions): Connector {
  const { receiverName, receiver } = options;
  const field = `receivers.${receiverName}.webhookUrl`;

  return {
    async deliver(request: DeliveryRequest): Promise<DeliveryResult> {
      // resolved per delivery so a rotated Key Vault secret is picked up without a restart
      const webhookUrl = resolveSecret(receiver.webhookUrl, options.env ?? process.env, field);
      if (webhookUrl === undefined) {
        throw new KitError(`${field} is not set: this receiver delivers to the outbox, not to Teams`, {
          kind: 'config',
          where: { field },
        });
      }
      checkEndpointUrl(webhookUrl, field);
      const payload = buildTeamsPayload({
        step: request.step,
        receiverName,
        receiver,
        rendered: request.rendered,
        operation: 'send',
        ticket: null,
      });
      // Workflows answers 202: accepted by the flow, not yet posted. Nothing later can be asked, so 2xx is "sent".
      await send({
        method: 'POST',
        url: webhookUrl,
        headers: { 'content-type': payload.contentType },
        body: payload.body,
        timeoutMs: options.fetchTimeoutMs,
        signal: request.signal,
        target: 'teams',
        secrets: [webhookUrl],
      });
      return { action: 'sent', ticket: null, outbox: null };
    },
  };
}
