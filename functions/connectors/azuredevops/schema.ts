/** The receivers.yaml entry of a azuredevops receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

export const azuredevopsReceiver = z
  .object({
    kind: z.literal('azuredevops'),
    ...receiverBase,
    organizationUrl: httpsUrl.optional().describe('https://dev.azure.com/<org>. Absent: outbox.'),
    project: z.string().min(1),
    workItemType: z.string().default('Task'),
    pat: secretRef
      .optional()
      .describe(
        'Personal access token (Work Items: Read & write), sent as Basic auth with an empty user name; omit to use the Function App managed identity (an Entra token for Azure DevOps, 499b84ac-1321-427f-aa17-267ca6975798), which must be a user of the organization.',
      ),
    doneState: z
      .string()
      .default('Done')
      .describe('Name of the state the work item moves to when the incident closes; looked up (case-insensitively) in the work item type\'s states.'),
    reopenState: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Name of the state a done work item moves back to when the incident is reactivated. Absent: the type\'s first state of category InProgress (Active, Doing, In Progress), else its first Proposed one.',
      ),
    areaPath: z.string().optional(),
  })
  .strict();
export type AzuredevopsReceiver = z.infer<typeof azuredevopsReceiver>;
