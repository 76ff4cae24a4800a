/** The receivers.yaml entry of a slack receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

export const slackReceiver = z
  .object({
    kind: z.literal('slack'),
    ...receiverBase,
    webhookUrl: secretRef.optional().describe('Slack incoming webhook URL (a secret). Absent with no botToken: outbox.'),
    botToken: secretRef.optional().describe('Bot token for chat.postMessage (xoxb-…).'),
    channel: z.string().optional().describe('Channel id for chat.postMessage, e.g. C0123456789.'),
    apiUrl: httpsUrl.optional().describe('Override of https://slack.com/api (tests, proxies).'),
  })
  .strict();
export type SlackReceiver = z.infer<typeof slackReceiver>;
