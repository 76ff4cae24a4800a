/**
 * The shape of what SOC leads edit: playbooks/*.yaml, playbooks/receivers.yaml, playbooks/exclusions.yaml.
 * The JSON Schema in schema/ is generated from these zod schemas (`npm run schema`), so editors
 * offer completion and the CLI and the editor agree on what is valid. Each receiver kind's schema lives
 * in its own folder (functions/connectors/<kind>/schema.ts); the registry lists them.
 */
import { z } from 'zod';
import { KINDS, type ReceiverConfig } from '../connectors/kinds.js';

export {
  RECEIVER_KINDS,
  NOTIFIER_KINDS,
  TICKET_KINDS,
  isTicketKind,
  type ReceiverConfig,
  type ReceiverKind,
  type ReceiverOf,
} from '../connectors/kinds.js';
export { secretRef } from './receiver-fields.js';

type KindSchemas = (typeof KINDS)[number]['schema'];
export const receiverSchema: z.ZodType<ReceiverConfig> = z.discriminatedUnion(
  'kind',
  KINDS.map((k) => k.schema) as unknown as [KindSchemas, ...KindSchemas[]],
);

export const receiverName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'receiver names are lower-case letters, digits and dashes' });

export const receiversFileSchema = z
  .object({
    receivers: z.record(receiverName, receiverSchema),
  })
  .strict();

const statusName = z.enum(['New', 'Active', 'Closed', 'Redirected']);
const severityName = z.enum(['Informational', 'Low', 'Medium', 'High']);
const oneOrMany = <T extends z.ZodTypeAny>(t: T) => z.union([t, z.array(t).min(1)]);

export const triggerSchema = z
  .object({
    ownerChangedTo: oneOrMany(z.string().min(1)).optional().describe('Owner changed to this value (case-insensitive), e.g. "Defender Experts", "Customer".'),
    statusChangedTo: oneOrMany(statusName).optional(),
    tagAdded: oneOrMany(z.string().min(1)).optional(),
    tagRemoved: oneOrMany(z.string().min(1)).optional(),
    severityRaisedTo: severityName.optional().describe('Severity changed and is now at least this.'),
    classificationSet: z
      .union([z.literal(true), oneOrMany(z.string().min(1))])
      .optional()
      .describe('Classification or determination set; true for any value, or the values to match.'),
    // filters: all that are given must hold on the incident as it is now
    severityAtLeast: severityName.optional().describe('Filter: only incidents at least this severe.'),
    provider: oneOrMany(z.string().min(1)).optional().describe('Filter: incident provider name, e.g. "Microsoft Defender XDR".'),
    source: z.enum(['sentinel', 'graph']).optional().describe('Filter: only changes seen through this path.'),
    titleMatches: z
      .string()
      .max(500)
      .refine(
        (re) => {
          try {
            new RegExp(re, 'i');
            return true;
          } catch {
            return false;
          }
        },
        { message: 'is not a valid regular expression' },
      )
      .optional()
      .describe('Filter: a regular expression the title must match (case-insensitive).'),
  })
  .strict()
  .refine(
    (t) =>
      t.ownerChangedTo !== undefined ||
      t.statusChangedTo !== undefined ||
      t.tagAdded !== undefined ||
      t.tagRemoved !== undefined ||
      t.severityRaisedTo !== undefined ||
      t.classificationSet !== undefined,
    { message: 'on: needs at least one trigger (ownerChangedTo, statusChangedTo, tagAdded, tagRemoved, severityRaisedTo, classificationSet)' },
  );
export type Trigger = z.infer<typeof triggerSchema>;

export const notifyStepSchema = z
  .object({
    notify: oneOrMany(receiverName).describe('Receivers to notify (names from receivers.yaml).'),
    template: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).describe('Template name: playbooks/templates/<receiver kind>/<template>.hbs'),
  })
  .strict();

export const ticketStepSchema = z
  .object({
    ticket: receiverName.describe('A ticket receiver (jira, servicenow, azuredevops, zendesk, freshservice, pagerduty).'),
    action: z.enum(['upsert', 'resolve']).default('upsert').describe('upsert: create once, then comment/update; resolve: close the ticket.'),
    template: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).default('ticket'),
  })
  .strict();

export const stepSchema = z.union([notifyStepSchema, ticketStepSchema]);
export type StepConfig = z.infer<typeof stepSchema>;

export const playbookSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).optional().describe('Defaults to the file name.'),
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    on: triggerSchema,
    steps: z.array(stepSchema).min(1),
  })
  .strict();
export type PlaybookConfig = z.infer<typeof playbookSchema> & { name: string; file: string };

export const exclusionsFileSchema = z
  .object({
    exclusions: z
      .object({
        devices: z.array(z.string().min(1)).default([]).describe('Device names or glob patterns (*, ?), case-insensitive.'),
        users: z.array(z.string().min(1)).default([]).describe('User names or UPNs or glob patterns.'),
        groups: z.array(z.string().min(1)).default([]).describe('Security group names or glob patterns.'),
        reason: z.string().optional().describe('Shown to people next to "manual action required".'),
      })
      .strict(),
  })
  .strict();
export type Exclusions = z.infer<typeof exclusionsFileSchema>['exclusions'];
