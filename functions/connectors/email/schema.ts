/** The receivers.yaml entry of an email receiver. */
import { z } from 'zod';
import { receiverBase, httpsUrl, emailAddress, secretRef } from '../../config/receiver-fields.js';

/** how a live email receiver sends: Azure Communication Services Email, Microsoft Graph sendMail, or an SMTP relay */
export const EMAIL_TRANSPORTS = ['acs', 'graph', 'smtp'] as const;
export const SMTP_TLS_MODES = ['starttls', 'implicit', 'none'] as const;

/** a DNS host name, an IPv4 address or an IPv6 address: no scheme, no port */
const hostName = z
  .string()
  .regex(/^(?:(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f.]*)$/, {
    message: 'must be a host name or IP address, without scheme or port (the port is smtpPort)',
  });
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
      .describe(
        'acs (default when acsEndpoint is set), graph (default when graphBaseUrl is set and acsEndpoint is not) or smtp (default when only smtpHost is set). Needs the matching endpoint.',
      ),
    acsEndpoint: httpsUrl
      .optional()
      .describe('Azure Communication Services endpoint, e.g. https://contoso-acs.communication.azure.com. Absent with no graphBaseUrl: outbox.'),
    acsAccessKey: secretRef
      .optional()
      .describe('ACS access key (a secret), for HMAC-SHA256 request signing. Absent: the Function App\'s managed identity gets an Entra token for ACS.'),
    graphBaseUrl: httpsUrl
      .optional()
      .describe(
        'Microsoft Graph root for sendMail, e.g. https://graph.microsoft.com/v1.0 (national clouds: their own Graph host). The token is asked for <origin>/.default. Absent with no acsEndpoint or smtpHost: outbox.',
      ),
    smtpHost: hostName
      .optional()
      .describe('SMTP relay or submission server, e.g. smtp-relay.contoso.example (host only). Absent with no acsEndpoint or graphBaseUrl: outbox.'),
    smtpPort: z.number().int().min(1).max(65535).optional().describe('SMTP port; default 587 with smtpTls starttls, 465 with implicit, 25 with none.'),
    smtpTls: z
      .enum(SMTP_TLS_MODES)
      .optional()
      .describe('starttls (default: plain connect, then STARTTLS, required), implicit (TLS from the first byte, port 465) or none (a loopback relay only). The certificate is always verified.'),
    smtpUsername: secretRef.optional().describe('SMTP AUTH user name (a reference, env:NAME). Set with smtpPassword, or neither for a relay that trusts the sender\'s address.'),
    smtpPassword: secretRef.optional().describe('SMTP AUTH password (a secret, env:NAME). Sent only inside TLS, with AUTH PLAIN or LOGIN.'),
  })
  .strict();
export type EmailReceiver = z.infer<typeof emailReceiver>;
