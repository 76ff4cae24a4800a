/**
 * The shape of what SOC leads edit: playbooks/*.yaml, playbooks/receivers.yaml, playbooks/exclusions.yaml.
 * The JSON Schema in schema/ is generated from these zod schemas (`npm run schema`), so editors
 * offer completion and the CLI and the editor agree on what is valid.
 */
import { z } from 'zod';

export const RECEIVER_KINDS = [
  'teams',
  'slack',
  'email',
  'sms',
  'voice',
  'jira',
  'servicenow',
  'azuredevops',
  'zendesk',
  'freshservice',
  'pagerduty',
] as const;
export type ReceiverKind = (typeof RECEIVER_KINDS)[number];
export const NOTIFIER_KINDS: readonly ReceiverKind[] = ['teams', 'slack', 'email', 'sms', 'voice'];
export const TICKET_KINDS: readonly ReceiverKind[] = ['jira', 'servicenow', 'azuredevops', 'zendesk', 'freshservice', 'pagerduty'];
export function isTicketKind(kind: ReceiverKind): boolean {
  return TICKET_KINDS.includes(kind);
}

/** A secret is never written in config: only a reference, resolved at run time (app setting / Key Vault reference). */
export const secretRef = z
  .string()
  .regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, {
    message: 'must be a secret reference like env:NAME (an app setting / Key Vault reference), never a literal secret',
  })
  .describe('Secret reference: env:NAME. In Azure NAME is an app setting that is a Key Vault reference.');

const httpsUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http(s) URL' });
const email = z.string().email();
const e164 = z.string().regex(/^\+[1-9][0-9]{6,14}$/, { message: 'must be an E.164 phone number like +14255550123' });

const base = {
  description: z.string().optional().describe('What this receiver is for (shown in routes test output).'),
  dryRun: z
    .boolean()
    .optional()
    .describe(
      'true: this receiver deliberately has no endpoint and only writes to the outbox, even in the Function App (recorded as "outbox", never "sent"). Without it, a receiver with no endpoint is refused by `spk validate --deploy` and `npm run package`.',
    ),
};

export const teamsReceiver = z
  .object({
    kind: z.literal('teams'),
    ...base,
    webhookUrl: secretRef.optional().describe('Teams Workflows webhook URL (its sig= makes the whole URL a secret). Absent: deliveries go to the outbox.'),
  })
  .strict();

export const slackReceiver = z
  .object({
    kind: z.literal('slack'),
    ...base,
    webhookUrl: secretRef.optional().describe('Slack incoming webhook URL (a secret). Absent with no botToken: outbox.'),
    botToken: secretRef.optional().describe('Bot token for chat.postMessage (xoxb-…).'),
    channel: z.string().optional().describe('Channel id for chat.postMessage, e.g. C0123456789.'),
    apiUrl: httpsUrl.optional().describe('Override of https://slack.com/api (tests, proxies).'),
  })
  .strict();

export const emailReceiver = z
  .object({
    kind: z.literal('email'),
    ...base,
    to: z.array(email).min(1).max(50),
    from: email.describe('Sender address; must belong to a domain linked to the ACS resource.'),
    fromName: z.string().optional(),
    acsEndpoint: httpsUrl.optional().describe('Azure Communication Services endpoint. Absent: outbox.'),
  })
  .strict();

export const smsReceiver = z
  .object({
    kind: z.literal('sms'),
    ...base,
    to: z.array(e164).min(1).max(100),
    from: e164.optional(),
    provider: z.enum(['acs', 'twilio']).default('acs'),
    maxSegments: z.number().int().min(1).max(10).default(2).describe('Billed segments one SMS may take (GSM-7: 153 characters each when split, UCS-2: 67); longer text is cut.'),
    acsEndpoint: httpsUrl.optional(),
    twilioAccountSid: secretRef.optional(),
    twilioAuthToken: secretRef.optional(),
  })
  .strict();

export const voiceReceiver = z
  .object({
    kind: z.literal('voice'),
    ...base,
    to: z.array(e164).min(1).max(20),
    from: e164.optional(),
    twilioAccountSid: secretRef.optional(),
    twilioAuthToken: secretRef.optional(),
    apiUrl: httpsUrl.optional().describe('Twilio API base. Absent (or no credentials): outbox.'),
  })
  .strict();

export const jiraReceiver = z
  .object({
    kind: z.literal('jira'),
    ...base,
    baseUrl: httpsUrl.optional().describe('https://<site>.atlassian.net. Absent: outbox.'),
    email: secretRef.optional().describe('Atlassian account email for Basic auth.'),
    apiToken: secretRef.optional(),
    project: z.string().regex(/^[A-Z][A-Z0-9_]{1,9}$/, { message: 'must be a Jira project key like SOC' }),
    issueType: z.string().default('Task'),
    doneTransition: z.string().default('Done').describe('Name of the transition (or target status) used when the incident closes.'),
    labels: z.array(z.string().regex(/^\S+$/, { message: 'Jira labels cannot contain spaces' })).default([]),
  })
  .strict();

export const servicenowReceiver = z
  .object({
    kind: z.literal('servicenow'),
    ...base,
    instanceUrl: httpsUrl.optional().describe('https://<instance>.service-now.com. Absent: outbox.'),
    username: secretRef.optional(),
    password: secretRef.optional(),
    table: z.string().regex(/^[a-z0-9_]+$/).default('incident'),
    assignmentGroup: z.string().optional(),
    resolvedState: z.string().default('6'),
    closeCode: z.string().default('Resolved by caller'),
  })
  .strict();

export const azuredevopsReceiver = z
  .object({
    kind: z.literal('azuredevops'),
    ...base,
    organizationUrl: httpsUrl.optional().describe('https://dev.azure.com/<org>. Absent: outbox.'),
    project: z.string().min(1),
    workItemType: z.string().default('Task'),
    pat: secretRef.optional().describe('Personal access token; omit to use the Function App managed identity.'),
    doneState: z.string().default('Done'),
    areaPath: z.string().optional(),
  })
  .strict();

export const zendeskReceiver = z
  .object({
    kind: z.literal('zendesk'),
    ...base,
    baseUrl: httpsUrl.optional().describe('https://<subdomain>.zendesk.com. Absent: outbox.'),
    email: secretRef.optional(),
    apiToken: secretRef.optional(),
    groupId: z.number().int().optional(),
  })
  .strict();

export const freshserviceReceiver = z
  .object({
    kind: z.literal('freshservice'),
    ...base,
    baseUrl: httpsUrl.optional().describe('https://<domain>.freshservice.com. Absent: outbox.'),
    apiKey: secretRef.optional(),
    requesterEmail: email,
    groupId: z.number().int().optional(),
  })
  .strict();

export const pagerdutyReceiver = z
  .object({
    kind: z.literal('pagerduty'),
    ...base,
    routingKey: secretRef.optional().describe('Events API v2 integration key. Absent: outbox.'),
    eventsUrl: httpsUrl.optional().describe('Defaults to https://events.pagerduty.com/v2/enqueue (EU: events.eu.pagerduty.com).'),
    source: z.string().default('microsoft-sentinel'),
  })
  .strict();

export const receiverSchema = z.discriminatedUnion('kind', [
  teamsReceiver,
  slackReceiver,
  emailReceiver,
  smsReceiver,
  voiceReceiver,
  jiraReceiver,
  servicenowReceiver,
  azuredevopsReceiver,
  zendeskReceiver,
  freshserviceReceiver,
  pagerdutyReceiver,
]);
export type ReceiverConfig = z.infer<typeof receiverSchema>;
export type ReceiverOf<K extends ReceiverKind> = Extract<ReceiverConfig, { kind: K }>;

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
