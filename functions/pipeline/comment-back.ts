/**
 * After a delivery, one comment on the Sentinel incident saying what was sent and linking the ticket.
 * The comment id is derived from the step's idempotency key, so a retried PUT rewrites the same comment
 * instead of adding a second. Sentinel automation rules do not fire on comments, so this cannot loop.
 * Graph-only incidents (no Sentinel ARM id) get no comment.
 */
import type { TokenCredential } from '@azure/identity';
import { commentMessage } from '../connectors/sentinel/comment-message.js';
import type { DeliveryDeps } from './process-delivery.js';

// The ARM SDK is large; load it on the first comment, not on every cold start (dispatch never needs it).
let commentModule: Promise<typeof import('../connectors/sentinel/comment.js')> | null = null;
const loadComment = () => (commentModule ??= import('../connectors/sentinel/comment.js'));

export interface CommentBackOptions {
  credential: TokenCredential;
  /** ARM endpoint (tests point it at a loopback server) */
  endpoint?: string;
}

/**
 * Writes one comment on a Sentinel incident under an id derived from `key`: the same key always rewrites
 * the same comment, so a retried write never adds a second.
 */
export type IncidentCommenter = (args: { incidentArmId: string; key: string; message: string }) => Promise<void>;

export function incidentCommenter(options: CommentBackOptions): IncidentCommenter {
  return async ({ incidentArmId, key, message }) => {
    const { addIncidentComment, commentIdFor } = await loadComment();
    await addIncidentComment({
      incidentArmId,
      message,
      commentId: commentIdFor(key),
      credential: options.credential,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  };
}

export function commentBack(options: CommentBackOptions): NonNullable<DeliveryDeps['afterDelivered']> {
  const comment = incidentCommenter(options);
  return async (step, outcome) => {
    const armId = step.incident.ids.sentinelArmId;
    // a dry-run receiver reached nobody: writing that onto a real incident would only be noise
    if (!armId || outcome.action === 'skipped-duplicate' || outcome.action === 'requeued' || outcome.action === 'failed' || outcome.action === 'outbox') return;
    const message = commentMessage([{ receiver: step.receiver, kind: step.kind, action: outcome.action, ticket: outcome.ticket }], step.incident);
    await comment({ incidentArmId: armId, key: step.idempotencyKey, message });
  };
}
