/**
 * Twilio Messages: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded To, From and
 * Body, one request per recipient, answered 201 with the Message resource (`sid` SM…/MM…). The request,
 * the round and the classification of Twilio's errors are ../twilio/rest.ts, shared with voice calls;
 * this file is what is particular to a message: its form, its resource and its error codes.
 *
 * Twilio takes no idempotency key for a message (none is documented), so a send whose 201 was lost
 * (timeout, reset, a worker that died mid-call) is sent again by the retry: that recipient can get the
 * text twice. The kit keeps that window to one request per recipient: each recipient is its own request,
 * made only after the previous one's answer, and a recipient whose 201 arrived is not sent to again by a
 * retry in the same process (../recipients.ts). docs/RECEIVERS.md "SMS" states the window.
 */
import type { TargetClient } from '../http/index.js';
import type { RecipientOutcome } from '../recipients.js';
import { createPerRecipient, twilioForm, twilioListPath, type TwilioResource } from '../twilio/rest.js';

export function twilioMessagesPath(accountSid: string): string {
  return twilioListPath(accountSid, 'Messages');
}

/** The form body of one message: exactly To, From and Body. */
export function twilioMessageForm(args: { to: string; from: string; body: string }): string {
  return twilioForm([
    ['To', args.to],
    ['From', args.from],
    ['Body', args.body],
  ]);
}

export const TWILIO_MESSAGE: TwilioResource = {
  list: 'Messages',
  noun: 'Message',
  sid: /^(SM|MM)[0-9a-fA-F]{32}$/,
  failed: new Set(['failed', 'undelivered']),
  codes: {
    /** this sender's queue is full: the message was not taken, later it will be */
    rate: new Set([14107, 21611]),
    /** invalid or unreachable To, opted out, region not enabled, unverified on a trial account */
    recipient: new Set([21211, 21214, 21408, 21608, 21610, 21612, 21614]),
    sender: new Set(),
    hints: {},
  },
};

export interface TwilioSendArgs {
  client: TargetClient;
  accountSid: string;
  from: string;
  text: string;
  to: ReadonlyArray<string>;
  secrets: readonly string[];
  signal?: AbortSignal;
}

/** One message per recipient, in order; a failure that concerns the account, the sender or Twilio's load stops the round. */
export function sendTwilio(args: TwilioSendArgs): Promise<RecipientOutcome[]> {
  return createPerRecipient({
    client: args.client,
    accountSid: args.accountSid,
    resource: TWILIO_MESSAGE,
    to: args.to,
    form: (to) => twilioMessageForm({ to, from: args.from, body: args.text }),
    secrets: args.secrets,
    ...(args.signal ? { signal: args.signal } : {}),
  });
}
