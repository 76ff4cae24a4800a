/** The SMS receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildSmsPayload } from './payload.js';
import { smsReceiver } from './schema.js';
import { smsPreview } from './preview.js';

export const smsKind = defineKind({
  kind: 'sms',
  family: 'notifier',
  label: 'SMS',
  schema: smsReceiver,
  parts: [{ name: 'text', format: 'text', dialect: 'sms' }],
  format: 'sms.txt',
  endpointFields: ['acsEndpoint', 'twilioAccountSid'],
  secretFields: ['acsAccessKey', 'twilioAccountSid', 'twilioAuthToken', 'twilioApiKeySid', 'twilioApiKeySecret'],
  build: buildSmsPayload,
  preview: smsPreview,
  live: () => import('./sms.js').then((m) => m.createSmsConnector),
});
