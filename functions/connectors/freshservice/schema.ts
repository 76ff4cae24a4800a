/** The receivers.yaml entry of a freshservice receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, emailAddress } from '../../config/receiver-fields.js';
import { type FieldValue, fieldMappingSchema, ruleValues } from '../tickets/field-mapping.js';

/** a ticket attribute or custom field (cf_…) as the API v2 spells it */
const FIELD_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
/** Freshservice's scales: priority 1 low … 4 urgent; urgency and impact 1 low … 3 high */
const SCALES: Record<string, number> = { priority: 4, urgency: 3, impact: 3 };
/** attributes that hold an id: Freshservice refuses anything but a number there */
const ID_FIELDS = new Set(['group_id', 'responder_id', 'department_id', 'requester_id', 'workspace_id']);

function valueProblem(name: string, value: FieldValue): string | null {
  const top = SCALES[name];
  if (top !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= top)) {
    return `${name} is a number from 1 to ${top} in Freshservice, not ${JSON.stringify(value)}`;
  }
  if (ID_FIELDS.has(name) && !(typeof value === 'number' && Number.isSafeInteger(value) && value > 0)) return `${name} is a Freshservice id (a number), not ${JSON.stringify(value)}`;
  return null;
}

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
    fields: fieldMappingSchema
      .optional()
      .describe(
        'Ticket attributes (priority 1–4, urgency and impact 1–3, group_id, responder_id, category, …) and custom fields (cf_…, sent in custom_fields) set from the incident: all of them on create, and with the status change of a resolve or reopen those whose source changed with it (a note cannot carry fields). A mapped priority, source or group_id replaces the kit\'s (severity → priority, Portal, groupId); email, subject, description, status and tags are always the kit\'s, and no update ever sends tags.',
      ),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const [name, rule] of Object.entries(r.fields ?? {})) {
      if (!FIELD_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: ['fields', name], message: `"${name}" is not a Freshservice ticket attribute or custom field name (lower-case, such as priority, group_id or cf_team)` });
        continue;
      }
      for (const [at, value] of ruleValues(rule)) {
        const problem = valueProblem(name, value);
        if (problem) ctx.addIssue({ code: 'custom', path: ['fields', name, ...at], message: problem });
      }
    }
  });
export type FreshserviceReceiver = z.infer<typeof freshserviceReceiver>;
