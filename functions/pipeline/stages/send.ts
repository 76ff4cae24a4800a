/**
 * Stage 4 — send: one call of the receiver's connector. It makes one attempt and classifies a failure
 * as a KitError (connectors/http/send.ts); waiting and retrying are the retry-or-poison stage's job.
 */
import type { DeliveryResult } from '../../connectors/types.js';
import type { Prepared } from './render.js';
import type { DeliveryDeps } from './types.js';

export async function send(prepared: Prepared, attempt: number, deps: Pick<DeliveryDeps, 'connectorFor'>): Promise<DeliveryResult> {
  const { step, receiver, rendered, ticket } = prepared;
  const connector = deps.connectorFor(step.receiver, receiver);
  return connector.execute({ step, receiverName: step.receiver, receiver, rendered, existingTicket: ticket, attempt });
}
