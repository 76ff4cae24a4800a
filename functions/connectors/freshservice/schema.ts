/** The receivers.yaml entry of a freshservice receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, emailAddress } from '../../config/receiver-fields.js';

export const freshserviceReceiver = z
  .object({
    kind: z.literal('freshservice'),
    ...receiverBase,
    baseUrl: httpsUrl.optional().describe('https://<domain>.freshservice.com. Absent: outbox.'),
    apiKey: secretRef.optional(),
    requesterEmail: emailAddress,
    groupId: z.number().int().optional(),
  })
  .strict();
export type FreshserviceReceiver = z.infer<typeof freshserviceReceiver>;
