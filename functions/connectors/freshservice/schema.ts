/** The receivers.yaml entry of a freshservice receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, emailAddress } from '../../config/receiver-fields.js';

export const freshserviceReceiver = z
  .object({
    kind: z.literal('freshservice'),
    ...receiverBase,
    baseUrl: httpsUrl.optional().describe('https://<domain>.freshservice.com. Absent: outbox.'),
    apiKey: secretRef.optional().describe('Freshservice API key of the agent the kit acts as (Profile settings → API key); sent as the Basic user with password X.'),
    requesterEmail: emailAddress.describe('Requester of the tickets the kit creates; Freshservice adds a requester with this address if there is none.'),
    groupId: z.number().int().optional().describe('Freshservice agent group new tickets are assigned to.'),
    rateLimitPerMinute: z
      .number()
      .int()
      .min(1)
      .max(5000)
      .optional()
      .describe(
        "Most API calls this receiver makes per minute from one Function App instance, kept below your plan's limit (Freshservice counts per account and per endpoint). Absent: 40, under the smallest per-endpoint limit of any plan (Starter: 40 list calls a minute). A call over the budget is not sent: the delivery is re-queued until the minute has room.",
      ),
  })
  .strict();
export type FreshserviceReceiver = z.infer<typeof freshserviceReceiver>;
