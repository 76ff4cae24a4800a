/** The receivers.yaml entry of a zendesk receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

export const zendeskReceiver = z
  .object({
    kind: z.literal('zendesk'),
    ...receiverBase,
    baseUrl: httpsUrl.optional().describe('https://<subdomain>.zendesk.com. Absent: outbox.'),
    email: secretRef.optional(),
    apiToken: secretRef.optional(),
    groupId: z.number().int().optional(),
  })
  .strict();
export type ZendeskReceiver = z.infer<typeof zendeskReceiver>;
