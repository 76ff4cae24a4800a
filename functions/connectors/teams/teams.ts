/**
 * Microsoft Teams through a Workflows webhook (Power Automate "When a Teams webhook request is
 * received"). The whole URL is the credential (its sig= is a SAS), so it is a secret reference and
 * never appears in an error message beyond scheme, host and first path segment.
 */
import type { TeamsReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { createTargetClient, teamsWorkflowsCheck, webhookUrlAuth } from '../http/index.js';
import { sendArguments } from '../request.js';
import { resolveSecret } from '../secrets.js';
import type { Connector, DeliveryRequest, DeliveryResult } from '../types.js';
import { buildTeamsPayload } from './payload.js';

export interface TeamsConnectorOptions {
  receiverName: string;
  receiver: TeamsReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
}

export function createTeamsConnector(options: TeamsConnectorOptions): Connector {
  const { receiverName, receiver } = options;
  const field = `receivers.${receiverName}.webhookUrl`;

  return {
    async execute(request: DeliveryRequest): Promise<DeliveryResult> {
      // resolved per delivery so a rotated Key Vault secret is picked up without a restart
      const webhookUrl = resolveSecret(receiver.webhookUrl, options.env ?? process.env, field);
      if (webhookUrl === undefined) {
        throw new KitError(`${field} is not set: this receiver delivers to the outbox, not to Teams`, {
          kind: 'config',
          where: { field },
        });
      }
      // a client per delivery: the URL is the credential and may have been rotated since the last one
      const client = createTargetClient({
        target: 'teams',
        baseUrl: webhookUrl,
        field,
        auth: webhookUrlAuth(),
        check: teamsWorkflowsCheck,
        timeoutMs: options.fetchTimeoutMs,
        secrets: [webhookUrl],
      });
      const message = buildTeamsPayload({
        step: request.step,
        receiverName,
        receiver,
        rendered: request.rendered,
        operation: 'send',
        ticket: null,
      });
      // Workflows answers 202: accepted by the flow, not yet posted. Nothing later can be asked, so that is "sent".
      // The card goes as JSON data; the client serialises it, once.
      await client.send(sendArguments(message, { signal: request.signal }));
      return { action: 'sent', ticket: null, outbox: null };
    },
  };
}
