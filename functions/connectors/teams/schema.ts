/** The receivers.yaml entry of a teams receiver. */
import { z } from 'zod';
import { receiverBase, secretRef } from '../../config/receiver-fields.js';

export const teamsReceiver = z
  .object({
    kind: z.literal('teams'),
    ...receiverBase,
    webhookUrl: secretRef.optional().describe('Teams Workflows webhook URL (its sig= makes the whole URL a secret). Absent: deliveries go to the outbox.'),
  })
  .strict();
export type TeamsReceiver = z.infer<typeof teamsReceiver>;
