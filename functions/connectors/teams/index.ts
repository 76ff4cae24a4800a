/** The Teams receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildTeamsPayload } from './payload.js';
import { teamsReceiver } from './schema.js';
import { teamsPreview } from './preview.js';

export const teamsKind = defineKind({
  kind: 'teams',
  family: 'notifier',
  label: 'Teams',
  schema: teamsReceiver,
  parts: [{ name: 'card', format: 'json', dialect: 'adaptive-card' }],
  format: 'teams.json',
  endpointFields: ['webhookUrl'],
  secretFields: ['webhookUrl'],
  build: buildTeamsPayload,
  preview: teamsPreview,
  live: () => import('./teams.js').then((m) => m.createTeamsConnector),
});
