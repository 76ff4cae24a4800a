/** The receivers.yaml entry of an email receiver. */
import { z } from 'zod';
import { receiverBase, httpsUrl, emailAddress, secretRef } from '../../config/receiver-fields.js';

/** how a live email receiver sends: Azure Communication Services Email, or Microsoft Graph sendMail */
export const EMAIL_TRANSPORTS = ['acs', 'graph'] as const;
export type EmailTransport = (typeof EMAIL_TRANSPORTS)[number];

export const emailReceiver = z
  .object({
    kind: z.literal('email'),
    ...receiverBase,
    to: z.array(emailAddress).min(1).max(50).describe('Recipients (at most 50: the ACS limit across To, Cc and Bcc). Only ever from here, never from incident text.'),
    from: emailAddress.describe(
      'Sender address. ACS: a MailFrom address of a domain linked to the ACS resource. Graph: the mailbox that sends (its user principal name), which the app may send as.',
    ),
    fromName: z.string().optional().describe('Display name in the From of the .eml outbox file. ACS and Graph show the sender\'s own display name instead.'),
    replyTo: z.array(emailAddress).min(1).max(50).optional().describe('Reply-To addresses, e.g. the SOC alias when from is a no-reply address.'),
    transport: z
      .enum(EMAIL_TRANSPORTS)
      .optional()
      .describe('acs (default when acsEndpoint is set) or graph (default when only graphBaseUrl is set). Needs the matching endpoint.'),
    acsEndpoint: httpsUrl
      .optional()
      .describe('Azure Communication Services endpoint, e.g. https://contoso-acs.communication.azure.com. Absent with no graphBaseUrl: outbox.'),
    acsAccessKey: secretRef
      .optional()
      .describe('ACS access key (a secret), for HMAC-SHA256 request signing. Absent: the Function App\'s managed identity gets an Entra token for ACS.'),
    graphBaseUrl: httpsUrl
      .optional()
      .describe(
        'Microsoft Graph root for sendMail, e.g. https://graph.microsoft.com/v1.0 (national clouds: their own Graph host). The token is asked for <origin>/.default. Absent with no acsEndpoint: outbox.',
      ),
  })
  .strict();
export type EmailReceiver = z.infer<typeof emailReceiver>;
