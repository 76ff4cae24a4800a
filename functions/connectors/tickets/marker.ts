/**
 * The marker a ticket write carries so a retry can find it again. Its own file because payload builders
 * (loaded for every kind, to validate and write the outbox) use it, while the engine that calls targets
 * is loaded only with a live ticket connector.
 */
/** What a comment carries so a retry can find it again. */
export interface CommentMarker {
  /** the step's idempotency key: identical on every try of the same step (Jira: a comment property) */
  idempotencyKey: string;
  /**
   * a short token for targets that can only search comment text (ServiceNow work notes, ADO comments,
   * Zendesk, Freshservice): `[spk:<first 16 hex of the key>]`
   */
  token: string;
}

export function commentMarker(idempotencyKey: string): CommentMarker {
  return { idempotencyKey, token: `[spk:${idempotencyKey.slice(0, 16)}]` };
}
