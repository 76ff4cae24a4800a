/** The receivers.yaml entry of a pagerduty receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, emailAddress } from '../../config/receiver-fields.js';

export const pagerdutyReceiver = z
  .object({
    kind: z.literal('pagerduty'),
    ...receiverBase,
    routingKey: secretRef.optional().describe('Events API v2 integration key. Absent: outbox.'),
    eventsUrl: httpsUrl
      .optional()
      .describe(
        'Events API base URL; default https://events.pagerduty.com (EU service region: https://events.eu.pagerduty.com). The kit posts to <eventsUrl>/v2/enqueue; a URL that already ends in /v2/enqueue (or /v2) is used as written.',
      ),
    source: z.string().default('microsoft-sentinel'),
    apiToken: secretRef
      .optional()
      .describe(
        'Optional PagerDuty REST API key (sent as "Token token=…"). With it the kit finds the incident by its dedup key and adds each change as a note; it needs fromEmail and serviceId. Absent: Events API only.',
      ),
    apiUrl: httpsUrl.optional().describe('REST API base URL; default https://api.pagerduty.com (EU service region: https://api.eu.pagerduty.com).'),
    fromEmail: emailAddress.optional().describe('Email of a PagerDuty user, sent as the From header that writing a note requires (with apiToken).'),
    serviceId: z
      .string()
      .regex(/^[A-Z0-9]{2,20}$/, { message: 'must be a PagerDuty service id like PABC123' })
      .optional()
      .describe("Id of the PagerDuty service the routing key's integration belongs to (e.g. PABC123): the REST lookup only takes this service's incidents (with apiToken)."),
    reopen: z
      .boolean()
      .default(true)
      .describe(
        'What a reactivated incident (Closed, then active again) does to its resolved PagerDuty alert. true: it triggers again, so PagerDuty raises a new incident under the same dedup key and pages. false: the reactivation is added as a note to the resolved incident (needs apiToken).',
      ),
  })
  .strict();
export type PagerdutyReceiver = z.infer<typeof pagerdutyReceiver>;
