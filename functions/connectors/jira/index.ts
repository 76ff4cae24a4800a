/** The Jira receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildJiraPayload } from './payload.js';
import { jiraReceiver } from './schema.js';
import { jiraPreview } from './preview.js';

export const jiraKind = defineKind({
  kind: 'jira',
  family: 'ticket',
  label: 'Jira',
  schema: jiraReceiver,
  parts: [
    { name: 'summary', format: 'line' },
    { name: 'description', format: 'json', dialect: 'jira-adf' },
    { name: 'comment', format: 'json', dialect: 'jira-adf' },
  ],
  format: 'jira.json',
  endpointFields: ['baseUrl'],
  secretFields: ['email', 'apiToken'],
  build: buildJiraPayload,
  preview: jiraPreview,
  live: () => import('./jira.js').then((m) => m.createJiraConnector),
});
