/** The Slack receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildSlackPayload } from './payload.js';
import { slackReceiver } from './schema.js';
import { slackPreview } from './preview.js';

export const slackKind = defineKind({
  kind: 'slack',
  family: 'notifier',
  label: 'Slack',
  schema: slackReceiver,
  parts: [{ name: 'message', format: 'json', dialect: 'slack' }],
  format: 'slack.json',
  endpointFields: ['webhookUrl', 'botToken'],
  secretFields: ['webhookUrl', 'botToken'],
  build: buildSlackPayload,
  preview: slackPreview,
  keepsMessage: true,
  live: () => import('./slack.js').then((m) => m.createSlackConnector),
});
