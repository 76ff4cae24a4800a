/** The receivers.yaml entry of a servicenow receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';
import { fieldMappingSchema } from '../tickets/field-mapping.js';

/** The journal fields a note can go to: internal work notes, or customer-visible additional comments. */
export const SERVICENOW_NOTE_FIELDS = ['work_notes', 'comments'] as const;

// a choice value as the Table API stores it ("6", "resolved"); never free text, it is compared as it is
const stateValue = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, { message: 'must be a state value such as 6 (the choice value, not its label)' });

/** a Table API column: what `fields:` may name (the Table API ignores a name it does not know) */
const COLUMN = /^[a-z_][a-z0-9_]{0,79}$/;

export const servicenowReceiver = z
  .object({
    kind: z.literal('servicenow'),
    ...receiverBase,
    instanceUrl: httpsUrl.optional().describe('https://<instance>.service-now.com. Absent: outbox.'),
    username: secretRef.optional().describe('ServiceNow user for Basic auth; with clientId and clientSecret, the user of the OAuth password grant.'),
    password: secretRef.optional().describe('Password of `username`.'),
    clientId: secretRef
      .optional()
      .describe('OAuth client id (System OAuth > Application Registry). With clientSecret and no username: the client_credentials grant, which needs glide.oauth.inbound.client.credential.grant_type.enabled=true on the instance.'),
    clientSecret: secretRef.optional().describe('OAuth client secret of `clientId`.'),
    table: z
      .string()
      .regex(/^[a-z0-9_]+$/)
      .default('incident')
      .describe('Table API table: incident, or sn_si_incident for Security Incident Response (any table extending task has correlation_id).'),
    assignmentGroup: z.string().optional().describe('assignment_group of a new record: the group\'s sys_id.'),
    noteField: z
      .enum(SERVICENOW_NOTE_FIELDS)
      .default('work_notes')
      .describe('Journal field the changes are written to: work_notes (internal) or comments (customer-visible additional comments).'),
    resolvedState: stateValue
      .optional()
      .describe('state value set when the incident closes. Default on incident: 6 (Resolved). Required on any other table.'),
    reopenState: stateValue
      .optional()
      .describe('state value set when a closed incident is reactivated. Default on incident: 2 (In Progress). Other tables: absent means a reactivation arrives as a note and the record stays resolved.'),
    doneStates: z
      .array(stateValue)
      .min(1)
      .optional()
      .describe('state values in which a record counts as resolved (no second resolve; a reactivation reopens it). Default on incident: 6, 7, 8 (Resolved, Closed, Canceled); other tables: resolvedState only.'),
    closeCode: z
      .string()
      .min(1)
      .optional()
      .describe('close_code sent with the resolve (a choice of the table\'s close_code). Default on incident: "Resolved by caller"; other tables: not sent unless set.'),
    fields: fieldMappingSchema
      .optional()
      .describe(
        'Record fields (column names as the Table API spells them: urgency, impact, assignment_group, assigned_to, close_code, u_…) set from the incident: all of them on create, and on a note, resolve or reopen those whose source changed with it (severity → urgency, owner → assignment_group). A mapped urgency, impact, assignment_group or close_code replaces the kit\'s default (severity → urgency/impact, assignmentGroup, closeCode); correlation_id, correlation_display, short_description, description, state, close_notes and the note fields are always the kit\'s.',
      ),
  })
  .strict()
  .superRefine((r, ctx) => {
    // another table's state values are not incident's (sn_si_incident: Closed is 3): guessing would move records to the wrong state
    if (r.table !== 'incident' && r.resolvedState === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['resolvedState'],
        message: `table ${r.table} needs resolvedState (its state values differ from incident's; see the table's state choices)`,
      });
    }
    if (r.reopenState !== undefined && (r.doneStates ?? []).includes(r.reopenState)) {
      ctx.addIssue({ code: 'custom', path: ['reopenState'], message: `reopenState ${r.reopenState} is one of doneStates: a reopened record would still count as resolved` });
    }
    for (const name of Object.keys(r.fields ?? {})) {
      if (!COLUMN.test(name)) ctx.addIssue({ code: 'custom', path: ['fields', name], message: `"${name}" is not a ServiceNow column name (lower-case letters, digits and _, such as urgency or u_source)` });
    }
  });
export type ServicenowReceiver = z.infer<typeof servicenowReceiver>;
