/** The receivers.yaml entry of a pagerduty receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

export const pagerdutyReceiver = z
  .object({
    kind: z.literal('pagerduty'),
    ...receiverBase,
    routingKey: secretRef.optional().describe('Events API v2 integration key. Absent: outbox.'),
    eventsUrl: httpsUrl.optional().describe('Defaults to https://events.pagerduty.com/v2/enqueue (EU: events.eu.pagerduty.com).'),
    source: z.string().default('microsoft-sentinel'),
  })
  .strict();
export type PagerdutyReceiver = z.infer<typeof pagerdutyReceiver>;
