/** The receivers.yaml entry of a zendesk receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';
import { type FieldValue, fieldRuleSchema, ruleValues } from '../tickets/field-mapping.js';

export const ZENDESK_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const ZENDESK_TYPES = ['problem', 'incident', 'question', 'task'] as const;
/** ticket properties that hold an id: Zendesk refuses anything but a number there */
const ID_FIELDS = new Set(['group_id', 'assignee_id', 'requester_id', 'submitter_id', 'organization_id', 'brand_id', 'ticket_form_id', 'problem_id']);

/**
 * A ticket property (priority, group_id, assignee_email) or, as digits, a custom ticket field's id
 * (360012345678), which the builder writes into custom_fields. The shared field name rule has no room
 * for a name that is a number, so Zendesk's `fields:` has this key of its own.
 */
const zendeskFieldName = z
  .string()
  .regex(/^(?:[a-z_][a-z0-9_]{0,63}|[1-9][0-9]{0,15})$/, { message: 'must be a Zendesk ticket property such as priority or group_id, or a custom ticket field id such as 360012345678' });

function valueProblem(name: string, value: FieldValue): string | null {
  const oneOf = (allowed: readonly string[]) => (typeof value === 'string' && allowed.includes(value) ? null : `${name} is one of ${allowed.join(', ')} in Zendesk, not ${JSON.stringify(value)}`);
  if (name === 'priority') return oneOf(ZENDESK_PRIORITIES);
  if (name === 'type') return oneOf(ZENDESK_TYPES);
  if (ID_FIELDS.has(name) && !(typeof value === 'number' && Number.isSafeInteger(value) && value > 0)) return `${name} is a Zendesk id (a number), not ${JSON.stringify(value)}`;
  return null;
}

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
    fields: z
      .record(zendeskFieldName, fieldRuleSchema)
      .optional()
      .describe(
        'Ticket properties (priority, type, group_id, assignee_email, …) and custom ticket fields by id (as digits, sent as custom_fields [{id, value}]) set from the incident: all of them on create, and with a comment or solve those whose source changed with it. A mapped priority, type or group_id replaces the kit\'s (severity → priority, incident, groupId); subject, comment, external_id, tags and status are always the kit\'s. See docs/RECEIVERS.md, "Field mapping".',
      ),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const [name, rule] of Object.entries(r.fields ?? {})) {
      for (const [at, value] of ruleValues(rule)) {
        const problem = valueProblem(name, value);
        if (problem) ctx.addIssue({ code: 'custom', path: ['fields', name, ...at], message: problem });
      }
    }
  });
export type ZendeskReceiver = z.infer<typeof zendeskReceiver>;
