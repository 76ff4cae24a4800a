/** The receivers.yaml entry of an email receiver. */
import { z } from 'zod';
import { receiverBase, httpsUrl, emailAddress } from '../../config/receiver-fields.js';

export const emailReceiver = z
  .object({
    kind: z.literal('email'),
    ...receiverBase,
    to: z.array(emailAddress).min(1).max(50),
    from: emailAddress.describe('Sender address; must belong to a domain linked to the ACS resource.'),
    fromName: z.string().optional(),
    acsEndpoint: httpsUrl.optional().describe('Azure Communication Services endpoint. Absent: outbox.'),
  })
  .strict();
export type EmailReceiver = z.infer<typeof emailReceiver>;
