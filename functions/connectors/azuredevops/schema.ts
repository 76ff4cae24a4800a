/** The receivers.yaml entry of a azuredevops receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';
import { fieldMappingSchema, ruleValues } from '../tickets/field-mapping.js';

/** a field reference name (System.AssignedTo, Custom.Team): it goes into a JSON Pointer, so no "/" or "~" */
const REFERENCE_NAME = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+$/;
/** integer fields the kit knows; a string there is refused by Azure DevOps at delivery time, so it is refused here */
const INTEGER_FIELDS = new Set(['microsoft.vsts.common.priority', 'microsoft.vsts.common.stackrank', 'microsoft.vsts.common.businessvalue']);

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
    fields: fieldMappingSchema
      .optional()
      .describe(
        'Work item fields by reference name (Microsoft.VSTS.Common.Priority as a number, System.AssignedTo, System.AreaPath, Custom.…) set from the incident: all of them on create, and with a comment or state change those whose source changed with it. A mapped Priority or AreaPath replaces the kit\'s (severity → priority, areaPath); System.Title, System.Description, System.Tags, System.State and System.History are always the kit\'s.',
      ),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const [name, rule] of Object.entries(r.fields ?? {})) {
      if (!REFERENCE_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: ['fields', name], message: `"${name}" is not an Azure DevOps field reference name (such as Microsoft.VSTS.Common.Priority or Custom.Team)` });
        continue;
      }
      if (!INTEGER_FIELDS.has(name.toLowerCase())) continue;
      for (const [at, value] of ruleValues(rule)) {
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          ctx.addIssue({ code: 'custom', path: ['fields', name, ...at], message: `${name} is a number in Azure DevOps (such as 1 to 4 for Priority), not ${JSON.stringify(value)}` });
        }
      }
    }
  });
export type AzuredevopsReceiver = z.infer<typeof azuredevopsReceiver>;
