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
    pat: secretRef.optional().describe('Personal access token; omit to use the Function App managed identity.'),
    doneState: z.string().default('Done'),
    areaPath: z.string().optional(),
  })
  .strict();
export type AzuredevopsReceiver = z.infer<typeof azuredevopsReceiver>;
