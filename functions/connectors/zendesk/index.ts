/** The Zendesk receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildZendeskPayload } from './payload.js';
import { zendeskReceiver } from './schema.js';
import { zendeskPreview } from './preview.js';

export const zendeskKind = defineKind({
  kind: 'zendesk',
  family: 'ticket',
  label: 'Zendesk',
  schema: zendeskReceiver,
  parts: [
    { name: 'subject', format: 'line' },
    { name: 'body', format: 'html' },
    { name: 'comment', format: 'html' },
  ],
  format: 'zendesk.json',
  endpointFields: ['baseUrl'],
  secretFields: ['email', 'apiToken'],
  build: buildZendeskPayload,
  preview: zendeskPreview,
  live: () => import('./zendesk.js').then((m) => m.createZendeskConnector),
});
