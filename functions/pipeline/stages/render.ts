/**
 * Stage 3 — render: the receiver's config, its ticket (ticket store first, invariant 3) and the message
 * for the changes still to deliver. Everything here happens before the target is called, so any failure
 * is an ordinary failed try (retried or poisoned), never a risk of a second send.
 */
import type { ReceiverConfig } from '../../config/schema.js';
import { deliversLive, isTicketKind, kindOf } from '../../connectors/kinds.js';
import type { DeliveryStep, TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import type { RenderedMessage } from '../../render/types.js';
import type { DeliveryDeps } from './types.js';

export interface Prepared {
  /** the step narrowed to the changes the receiver has not got yet */
  step: DeliveryStep;
  receiver: ReceiverConfig;
  ticket: TicketRef | null;
  rendered: RenderedMessage;
}

export async function prepare(step: DeliveryStep, deps: Pick<DeliveryDeps, 'receivers' | 'render' | 'stores'>): Promise<Prepared> {
  const receiver = deps.receivers[step.receiver];
  if (!receiver) throw new KitError(`receiver "${step.receiver}" is not configured any more`, { kind: 'config' });
  // A live notifier may keep its message like a ticket (Slack: the first message's channel and ts, to
  // thread under or edit); it gets back what it returned. Outbox and dry-run notifiers never store one.
  const keepsMessage = kindOf(step.kind).keepsMessage === true && deliversLive(receiver);
  const ticket = isTicketKind(step.kind) || keepsMessage ? await deps.stores.tickets.get(step.receiver, step.incidentKey) : null;
  return { step, receiver, ticket, rendered: deps.render(step, ticket) };
}
