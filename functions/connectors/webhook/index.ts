/** The webhook receiver kind (any SOAR): everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildWebhookPayload } from './payload.js';
import { webhookPreview } from './preview.js';
import { webhookReceiver } from './schema.js';

export const webhookKind = defineKind({
  kind: 'webhook',
  family: 'notifier',
  label: 'Webhook',
  schema: webhookReceiver,
  // free text only: the document itself comes from the step and the incident, so no template can break it
  parts: [{ name: 'note', format: 'text' }],
  format: 'webhook.json',
  endpointFields: ['url'],
  secretFields: ['url', 'signingSecret', 'bearerToken'],
  build: buildWebhookPayload,
  preview: webhookPreview,
  live: () => import('./webhook.js').then((m) => m.createWebhookConnector),
});
