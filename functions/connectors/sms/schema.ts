/** The receivers.yaml entry of a sms receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, e164 } from '../../config/receiver-fields.js';

export const smsReceiver = z
  .object({
    kind: z.literal('sms'),
    ...receiverBase,
    to: z.array(e164).min(1).max(100).describe('Phone numbers (E.164) that get the text: one message each, at most 100 (ACS takes 1–100 recipients per request).'),
    from: e164
      .optional()
      .describe('Sender number (E.164): an ACS phone number of the resource (provider acs) or a Twilio number of the account (provider twilio). Required to deliver live.'),
    provider: z
      .enum(['acs', 'twilio'])
      .default('acs')
      .describe('Which transport sends the text: acs (Azure Communication Services SMS, needs acsEndpoint) or twilio (Twilio Messages, needs twilioAccountSid and a credential).'),
    maxSegments: z.number().int().min(1).max(10).default(2).describe('Billed segments one SMS may take (GSM-7: 153 characters each when split, UCS-2: 67); longer text is cut.'),
    acsEndpoint: httpsUrl
      .optional()
      .describe('Azure Communication Services endpoint, e.g. https://contoso-acs.communication.azure.com (provider acs). Absent with no twilioAccountSid: outbox.'),
    acsAccessKey: secretRef
      .optional()
      .describe(
        'Optional ACS access key (the resource\'s Keys blade, the key, not the connection string): requests are signed with HMAC-SHA256. Absent: the Function App\'s managed identity gets an Entra token for https://communication.azure.com/.default (recommended).',
      ),
    twilioAccountSid: secretRef.optional().describe('Twilio Account SID (AC…), provider twilio. Absent with no acsEndpoint: outbox.'),
    twilioAuthToken: secretRef.optional().describe('Twilio Auth Token, sent as Basic auth with the Account SID. Use an API key (twilioApiKeySid/twilioApiKeySecret) instead where you can.'),
    twilioApiKeySid: secretRef
      .optional()
      .describe('Twilio API key SID (SK…): Twilio\'s preferred credential, revocable on its own. With twilioApiKeySecret it wins over twilioAuthToken.'),
    twilioApiKeySecret: secretRef.optional().describe('The secret of the Twilio API key twilioApiKeySid names.'),
    twilioApiUrl: httpsUrl.optional().describe('Override of https://api.twilio.com (tests, an egress proxy).'),
  })
  .strict();
export type SmsReceiver = z.infer<typeof smsReceiver>;
