/** The receivers.yaml entry of a voice receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, e164 } from '../../config/receiver-fields.js';

export const voiceReceiver = z
  .object({
    kind: z.literal('voice'),
    ...receiverBase,
    to: z.array(e164).min(1).max(20),
    from: e164.optional(),
    twilioAccountSid: secretRef.optional(),
    twilioAuthToken: secretRef.optional(),
    apiUrl: httpsUrl.optional().describe('Twilio API base. Absent (or no credentials): outbox.'),
  })
  .strict();
export type VoiceReceiver = z.infer<typeof voiceReceiver>;
