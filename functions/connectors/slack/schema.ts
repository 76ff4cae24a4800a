/** The receivers.yaml entry of a slack receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl } from '../../config/receiver-fields.js';

/** how the incident's later moments reach the channel once its first message is posted (Web API only) */
export const SLACK_UPDATE_MODES = ['thread', 'edit', 'both'] as const;
export type SlackUpdateMode = (typeof SLACK_UPDATE_MODES)[number];

export const slackReceiver = z
  .object({
    kind: z.literal('slack'),
    ...receiverBase,
    webhookUrl: secretRef
      .optional()
      .describe('Slack incoming webhook URL (a secret). Every moment is a new message: a webhook cannot edit or thread. Absent with no botToken: outbox.'),
    botToken: secretRef
      .optional()
      .describe('Bot token (xoxb-…) for the Web API: chat.postMessage, chat.update, conversations.history/replies. Needs channel. Wins over webhookUrl when both are set.'),
    channel: z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'must be a channel id like C0123456789 (channel details in Slack, at the bottom), not a #name' })
      .optional()
      .describe('Channel id for the Web API, e.g. C0123456789 (the bot must be a member). Required with botToken.'),
    updates: z
      .enum(SLACK_UPDATE_MODES)
      .optional()
      .describe(
        'Web API only: how the incident\'s later moments appear. thread (default): a reply in the thread of the incident\'s first message. edit: the first message is edited to show the latest state. both: edited, and the moment replied in the thread.',
      ),
    apiUrl: httpsUrl.optional().describe('Override of https://slack.com/api (tests, proxies).'),
  })
  .strict();
export type SlackReceiver = z.infer<typeof slackReceiver>;
