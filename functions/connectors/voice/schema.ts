/** The receivers.yaml entry of a voice receiver. */
import { z } from 'zod';
import { receiverBase, secretRef, httpsUrl, e164 } from '../../config/receiver-fields.js';

export const voiceReceiver = z
  .object({
    kind: z.literal('voice'),
    ...receiverBase,
    to: z.array(e164).min(1).max(20).describe('Numbers to call (E.164), one call each, in order. Only ever from here, never from incident text.'),
    from: e164.optional().describe('Caller number (E.164): a Twilio number or verified caller ID of the account. Required to deliver live.'),
    twilioAccountSid: secretRef.optional().describe('Twilio Account SID (AC…). Absent: outbox.'),
    twilioAuthToken: secretRef
      .optional()
      .describe('Twilio Auth Token: Basic auth with the Account SID when no API key is set, and the key that checks the signature on acknowledgements (ackUrl).'),
    twilioApiKeySid: secretRef
      .optional()
      .describe('Twilio API key SID (SK…): Twilio\'s preferred credential for placing calls. With twilioApiKeySecret it wins over twilioAuthToken.'),
    twilioApiKeySecret: secretRef.optional().describe('The secret of the Twilio API key twilioApiKeySid names.'),
    twilioApiUrl: httpsUrl.optional().describe('Override of https://api.twilio.com (tests, an egress proxy).'),
    ackUrl: httpsUrl
      .optional()
      .describe(
        'The kit\'s acknowledge endpoint, https://<function app>.azurewebsites.net/api/ack/voice. Set: the call ends with "press 1 to acknowledge" (<Gather>), and the answer is checked against Twilio\'s signature (needs twilioAuthToken), recorded and commented on the incident.',
      ),
  })
  .strict();
export type VoiceReceiver = z.infer<typeof voiceReceiver>;
