/** The receivers.yaml entry of a jira receiver. */
import { z } from 'zod';
import { fieldMappingSchema } from '../tickets/field-mapping.js';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

export const jiraReceiver = z
  .object({
    kind: z.literal('jira'),
    ...receiverBase,
    baseUrl: httpsUrl.optional().describe('https://<site>.atlassian.net. Absent: outbox.'),
    email: secretRef.optional().describe('Atlassian account email for Basic auth.'),
    apiToken: secretRef.optional(),
    project: z.string().regex(/^[A-Z][A-Z0-9_]{1,9}$/, { message: 'must be a Jira project key like SOC' }),
    issueType: z.string().default('Task'),
    doneTransition: z.string().default('Done').describe('Name of the transition (or target status) used when the incident closes.'),
    reopenTransition: z
      .string()
      .min(1)
      .optional()
      .describe('Name of the transition (or target status) that reopens a done issue when the incident is reactivated. Absent: a reactivated incident is commented on, and the issue stays done.'),
    fields: fieldMappingSchema
      .optional()
      .describe('Issue fields set on create from the incident, e.g. priority from severity (by priority name), assignee from owner (by account id), customfield_NNNNN from anything.'),
    labels: z.array(z.string().regex(/^\S+$/, { message: 'Jira labels cannot contain spaces' })).default([]),
  })
  .strict();
export type JiraReceiver = z.infer<typeof jiraReceiver>;
