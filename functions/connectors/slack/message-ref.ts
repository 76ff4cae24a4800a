/**
 * The incident's first Slack message, kept in the kit's ticket store like a ticket: a Slack message is
 * named by its channel and its `ts` (the message timestamp Slack returns from chat.postMessage), so the
 * TicketRef id is `<channel>/<ts>`. Later moments edit that message or reply in its thread.
 */
import type { TicketRef } from '../../core/delivery.js';

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** conversation ids as Slack issues them: C… public, G… private, D… direct (slack_web_openapi_v2 defs_channel) */
export const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
/** defs_ts: seconds, a dot, six digits */
export const SLACK_TS = /^\d{10}\.\d{6}$/;

export function slackTicketRef(receiver: string, incidentKey: string, message: SlackMessageRef): TicketRef {
  return { receiver, incidentKey, id: `${message.channel}/${message.ts}`, key: null, url: null, state: 'open' };
}

/** the message a stored ref names; null for a ref this kind did not write (it is then ignored) */
export function slackMessageOf(ticket: TicketRef | null): SlackMessageRef | null {
  if (!ticket) return null;
  const [channel, ts, rest] = ticket.id.split('/');
  if (rest !== undefined || !channel || !ts || !SLACK_CHANNEL_ID.test(channel) || !SLACK_TS.test(ts)) return null;
  return { channel, ts };
}

export function sameMessage(a: SlackMessageRef | null, b: SlackMessageRef | null): boolean {
  return a !== null && b !== null && a.channel === b.channel && a.ts === b.ts;
}
