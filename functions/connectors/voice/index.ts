/** The Voice call receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildVoicePayload } from './payload.js';
import { voiceReceiver } from './schema.js';
import { voicePreview } from './preview.js';

export const voiceKind = defineKind({
  kind: 'voice',
  family: 'notifier',
  label: 'Voice call',
  schema: voiceReceiver,
  parts: [{ name: 'twiml', format: 'xml' }],
  format: 'twiml.xml',
  endpointFields: ['twilioAccountSid'],
  secretFields: ['twilioAccountSid', 'twilioAuthToken', 'twilioApiKeySid', 'twilioApiKeySecret'],
  build: buildVoicePayload,
  preview: voicePreview,
  live: () => import('./call.js').then((m) => m.createVoiceConnector),
});
