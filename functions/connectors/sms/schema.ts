/** The receivers.yaml entry of a sms receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, e164 } from '../../config/receiver-fields.js';

export const smsReceiver = z
  .object({
    kind: z.literal('sms'),
    ...receiverBase,
    to: z.array(e164).min(1).max(100),
    from: e164.optional(),
    provider: z.enum(['acs', 'twilio']).default('acs'),
    maxSegments: z.number().int().min(1).max(10).default(2).describe('Billed segments one SMS may take (GSM-7: 153 characters each when split, UCS-2: 67); longer text is cut.'),
    acsEndpoint: httpsUrl.optional(),
    twilioAccountSid: secretRef.optional(),
    twilioAuthToken: secretRef.optional(),
  })
  .strict();
export type SmsReceiver = z.infer<typeof smsReceiver>;
