/** The Freshservice receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildFreshservicePayload } from './payload.js';
import { freshserviceReceiver } from './schema.js';
import { freshservicePreview } from './preview.js';

export const freshserviceKind = defineKind({
  kind: 'freshservice',
  family: 'ticket',
  label: 'Freshservice',
  schema: freshserviceReceiver,
  parts: [
    { name: 'subject', format: 'line' },
    { name: 'description', format: 'html' },
    { name: 'note', format: 'html' },
  ],
  format: 'freshservice.json',
  endpointFields: ['baseUrl'],
  secretFields: ['apiKey'],
  build: buildFreshservicePayload,
  preview: freshservicePreview,
  live: () => import('./freshservice.js').then((m) => m.createFreshserviceConnector),
});
