/** The receivers.yaml entry of a pagerduty receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, emailAddress } from '../../config/receiver-fields.js';
import { fieldMappingSchema, ruleValues } from '../tickets/field-mapping.js';

/** the Events API v2 payload.severity values; PagerDuty refuses any other */
export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

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
    fields: fieldMappingSchema
      .optional()
      .describe(
        'Event fields set from the incident on every trigger: severity (critical, error, warning or info), component, group and class replace the kit\'s (severity → critical…info, the provider, "Microsoft Sentinel", the change); any other name goes into custom_details, next to the kit\'s own details, which win. summary, source and timestamp are always the kit\'s.',
      ),
  })
  .strict()
  .superRefine((r, ctx) => {
    const rule = r.fields?.severity;
    if (rule === undefined) return;
    for (const [at, value] of ruleValues(rule)) {
      if (typeof value !== 'string' || !(PAGERDUTY_SEVERITIES as readonly string[]).includes(value)) {
        ctx.addIssue({ code: 'custom', path: ['fields', 'severity', ...at], message: `severity is one of ${PAGERDUTY_SEVERITIES.join(', ')} in PagerDuty, not ${JSON.stringify(value)}` });
      }
    }
  });
export type PagerdutyReceiver = z.infer<typeof pagerdutyReceiver>;
