/**
 * The words of the kit's comments on a Sentinel incident, and their ids: no I/O and no SDK, so the
 * pipeline can build a comment without loading the ARM client (comment.ts writes it).
 */
import { createHash } from 'node:crypto';
import type { DeliveryOutcome, TicketRef } from '../../core/delivery.js';
import type { Incident } from '../../core/model.js';

/** Sentinel's documented maximum comment length. */
export const SENTINEL_COMMENT_MAX_CHARS = 30_000;
/** UUID namespace of the kit's comment ids (RFC 9562 name-based, v5). */
const COMMENT_ID_NAMESPACE = '5d0f4b7e-2c1a-4e8b-9f36-0a7c1e52d9b4';

/** A UUID (v5 layout) derived from the idempotency key: the same step always writes the same comment. */
export function commentIdFor(idempotencyKey: string): string {
  const ns = Buffer.from(COMMENT_ID_NAMESPACE.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(idempotencyKey, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Sentinel renders comment HTML: tags are removed and what is left is entity-escaped — only the five
 * characters that open markup or end an attribute, so the comment also stays readable as raw API text.
 */
function commentText(text: string): string {
  return text
    .replace(/<[^>]*>?/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function httpsHref(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

const ACTION_WORDS: Record<DeliveryOutcome['action'], string> = {
  sent: 'notified',
  created: 'ticket created',
  updated: 'ticket updated',
  resolved: 'ticket resolved',
  outbox: 'written to the outbox only (dry run: nobody was notified)',
  'skipped-duplicate': 'already delivered earlier',
  'guidance-only': 'guidance only (excluded asset: no automated action)',
  requeued: 'will be retried',
  failed: 'failed',
};

export interface CommentOutcome {
  receiver: string;
  kind: string;
  action: DeliveryOutcome['action'];
  ticket: TicketRef | null;
}

function outcomeLine(o: CommentOutcome): string {
  const what = ACTION_WORDS[o.action] ?? commentText(String(o.action));
  let ticket = '';
  if (o.ticket) {
    const label = commentText(o.ticket.key ?? o.ticket.id);
    const href = httpsHref(o.ticket.url);
    ticket = href ? `: <a href="${commentText(href)}">${label}</a>` : `: ${label}`;
  }
  return `<li>${commentText(o.receiver)} (${commentText(o.kind)}): ${what}${ticket}</li>`;
}

/**
 * The comment text: one line per receiver saying what happened, with ticket links. Everything that
 * did not come from the kit itself is stripped of HTML; the result fits SENTINEL_COMMENT_MAX_CHARS,
 * dropping trailing lines (and saying how many) when there are very many receivers.
 */
export function commentMessage(outcomes: CommentOutcome[], incident: Pick<Incident, 'key' | 'number'>): string {
  const name = incident.number !== null ? `incident ${incident.number}` : `incident ${commentText(incident.key)}`;
  const head = `<p><b>Sentinel Playbook Kit</b> — ${name}:</p><ul>`;
  const tail = '</ul>';
  if (outcomes.length === 0) return `<p><b>Sentinel Playbook Kit</b> — ${name}: nothing was delivered.</p>`;
  const lines = outcomes.map(outcomeLine);
  const reserve = '<li>… and 000000 more</li>'.length;
  let body = '';
  let used = 0;
  for (const line of lines) {
    if (head.length + body.length + line.length + tail.length + reserve > SENTINEL_COMMENT_MAX_CHARS) break;
    body += line;
    used++;
  }
  if (used < lines.length) body += `<li>… and ${lines.length - used} more</li>`;
  return head + body + tail;
}

/** The comment saying who acknowledged the incident, how and when (the kit's words; the rest stripped of HTML). */
export function acknowledgementMessage(
  ack: { via: string; receiver: string; by: string; at: string },
  incident: Pick<Incident, 'key' | 'number'>,
): string {
  const name = incident.number !== null ? `incident ${incident.number}` : `incident ${commentText(incident.key)}`;
  const how = ack.via === 'voice' ? `by phone: ${commentText(ack.by)} pressed 1 on the call from` : `through ${commentText(ack.via)} from`;
  return fitComment(`<p><b>Sentinel Playbook Kit</b> — ${name} acknowledged ${how} ${commentText(ack.receiver)} at ${commentText(ack.at)}.</p>`);
}

/** cut to Sentinel's limit */
export function fitComment(message: string): string {
  if (message.length <= SENTINEL_COMMENT_MAX_CHARS) return message;
  // never leave half a tag at the cut
  return `${message.slice(0, SENTINEL_COMMENT_MAX_CHARS - 1).replace(/<[^>]*$/, '')}…`;
}
