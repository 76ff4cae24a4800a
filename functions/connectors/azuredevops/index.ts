/** The Azure DevOps receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildAzuredevopsPayload } from './payload.js';
import { azuredevopsReceiver } from './schema.js';
import { azuredevopsPreview } from './preview.js';

export const azuredevopsKind = defineKind({
  kind: 'azuredevops',
  family: 'ticket',
  label: 'Azure DevOps',
  schema: azuredevopsReceiver,
  parts: [
    { name: 'title', format: 'line' },
    { name: 'description', format: 'html' },
    { name: 'comment', format: 'html' },
  ],
  format: 'ado.json',
  endpointFields: ['organizationUrl'],
  secretFields: ['pat'],
  build: buildAzuredevopsPayload,
  preview: azuredevopsPreview,
  live: () => import('./azuredevops.js').then((m) => m.createAzuredevopsConnector),
});
