/** The ServiceNow receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildServicenowPayload } from './payload.js';
import { servicenowReceiver } from './schema.js';
import { servicenowPreview } from './preview.js';

export const servicenowKind = defineKind({
  kind: 'servicenow',
  family: 'ticket',
  label: 'ServiceNow',
  schema: servicenowReceiver,
  parts: [
    { name: 'short_description', format: 'line', dialect: 'servicenow' },
    { name: 'description', format: 'text', dialect: 'servicenow' },
    { name: 'work_notes', format: 'text', dialect: 'servicenow' },
  ],
  format: 'servicenow.json',
  endpointFields: ['instanceUrl'],
  secretFields: ['username', 'password', 'clientId', 'clientSecret'],
  build: buildServicenowPayload,
  preview: servicenowPreview,
  live: () => import('./servicenow.js').then((m) => m.createServicenowConnector),
});
