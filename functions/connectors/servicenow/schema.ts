/** The receivers.yaml entry of a servicenow receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

export const servicenowReceiver = z
  .object({
    kind: z.literal('servicenow'),
    ...receiverBase,
    instanceUrl: httpsUrl.optional().describe('https://<instance>.service-now.com. Absent: outbox.'),
    username: secretRef.optional(),
    password: secretRef.optional(),
    table: z.string().regex(/^[a-z0-9_]+$/).default('incident'),
    assignmentGroup: z.string().optional(),
    resolvedState: z.string().default('6'),
    closeCode: z.string().default('Resolved by caller'),
  })
  .strict();
export type ServicenowReceiver = z.infer<typeof servicenowReceiver>;
