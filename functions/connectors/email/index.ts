/** The Email receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildEmailPayload } from './payload.js';
import { emailReceiver } from './schema.js';
import { emailPreview } from './preview.js';

export const emailKind = defineKind({
  kind: 'email',
  family: 'notifier',
  label: 'Email',
  schema: emailReceiver,
  parts: [
    { name: 'subject', format: 'line' },
    { name: 'html', format: 'html' },
    { name: 'text', format: 'text' },
  ],
  format: 'eml',
  endpointFields: ['acsEndpoint', 'graphBaseUrl', 'smtpHost'],
  secretFields: ['acsAccessKey', 'smtpUsername', 'smtpPassword'],
  build: buildEmailPayload,
  preview: emailPreview,
  live: () => import('./email.js').then((m) => m.createEmailConnector),
});
