/** The receivers.yaml entry of a zendesk receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

export const zendeskReceiver = z
  .object({
    kind: z.literal('zendesk'),
    ...receiverBase,
    baseUrl: httpsUrl.optional().describe('https://<subdomain>.zendesk.com. Absent: outbox.'),
    email: secretRef
      .optional()
      .describe('Email address of the Zendesk agent the kit acts as; with apiToken it makes the Basic credential {email}/token:{apiToken}.'),
    apiToken: secretRef.optional().describe('Zendesk API token (Admin Center → Apps and integrations → Zendesk API).'),
    groupId: z.number().int().optional().describe('Zendesk group the kit\'s tickets are assigned to.'),
  })
  .strict();
export type ZendeskReceiver = z.infer<typeof zendeskReceiver>;
