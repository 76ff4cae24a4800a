/**
 * Deliver: one queued step → ledger check → claim → render → connector → ledger.
 *
 * Exactly once in effect: the ledger says done → skip; a claim (lease) keeps two workers holding
 * duplicate messages from both calling the target; ticket receivers find their ticket (ticket store
 * first, then the target's own search inside the connector) before creating one (invariant 3).
 * Failures never sleep here: a retryable one is re-queued with a visibility delay (Retry-After), and
 * after `maxAttempts` the step goes to the poison queue and is marked failed in the ledger.
 */
import type { ReceiverConfig } from '../core/config-schema.js';
import { isTicketKind } from '../core/config-schema.js';
import type { DeliveryOutcome, DeliveryStep, TicketRef } from '../core/delivery.js';
import { KitError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { silentLogger } from '../core/log.js';
import type { Connector, DeliveryResult } from '../connectors/types.js';
import type { RenderedMessage } from '../render/types.js';
import type { LedgerEntry, QueuedDelivery, StateStores } from '../state/ports.js';

export interface DeliverDeps {
  stores: Pick<StateStores, 'ledger' | 'tickets' | 'queue'>;
  receivers: Record<string, ReceiverConfig>;
  render: (step: DeliveryStep, ticket: TicketRef | null) => RenderedMessage;
  connectorFor: (receiverName: string, receiver: ReceiverConfig) => Connector;
  /** called after a successful delivery (comment back on the Sentinel incident); its failure never undoes the delivery */
  afterDelivered?: (step: DeliveryStep, outcome: DeliveryOutcome) => Promise<void>;
  now?: () => number;
  log?: Logger;
  maxAttempts?: number;
  leaseMs?: number;
  /** fallback delay for retryable errors without Retry-After */
  backoffMs?: (attempt: number) => number;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_LEASE_MS = 5 * 60_000;
const defaultBackoff = (attempt: number) => Math.min(2 ** attempt * 1000, 5 * 60_000);

function entryFor(step: DeliveryStep, now: number, patch: Partial<LedgerEntry>): LedgerEntry {
  return {
    idempotencyKey: step.idempotencyKey,
    status: 'pending',
    incidentKey: step.incidentKey,
    receiver: step.receiver,
    playbook: step.playbook,
    action: null,
    ticketId: null,
    outbox: null,
    attempts: 0,
    error: null,
    updatedAt: new Date(now).toISOString(),
    ...patch,
  };
}

export async function deliver(message: QueuedDelivery, deps: DeliverDeps): Promise<DeliveryOutcome> {
  const { step, attempt } = message;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? silentLogger;
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const fields = { incidentKey: step.incidentKey, playbook: step.playbook, receiver: step.receiver, idempotencyKey: step.idempotencyKey, attempt };
  const outcome = (patch: Partial<DeliveryOutcome>): DeliveryOutcome => ({
    idempotencyKey: step.idempotencyKey,
    receiver: step.receiver,
    kind: step.kind,
    action: 'failed',
    ticket: null,
    outbox: null,
    attempt,
    error: null,
    ...patch,
  });

  const existing = await deps.stores.ledger.get(step.idempotencyKey);
  if (existing?.status === 'done') {
    log.info('already delivered; skipping duplicate', fields);
    return outcome({ action: 'skipped-duplicate', outbox: existing.outbox });
  }
  if (existing?.status === 'failed') {
    log.warn('delivery already marked failed; not retrying a poisoned step', fields);
    return outcome({ action: 'failed', error: existing.error });
  }

  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const claim = await deps.stores.ledger.claim(entryFor(step, now(), { attempts: attempt, leaseUntil: now() + leaseMs }), now() + leaseMs);
  if (claim === 'done') return outcome({ action: 'skipped-duplicate' });
  if (claim === 'failed') return outcome({ action: 'failed', error: 'marked failed earlier' });
  if (claim === 'busy') {
    // Another worker is delivering this very step; look again once its lease could have lapsed.
    await deps.stores.queue.enqueue(message, { delayMs: Math.min(leaseMs, 60_000) });
    log.info('step is being delivered by another worker; re-queued', fields);
    return outcome({ action: 'requeued' });
  }

  try {
    const receiver = deps.receivers[step.receiver];
    if (!receiver) throw new KitError(`receiver "${step.receiver}" is not configured any more`, { kind: 'config' });
    const ticket = isTicketKind(step.kind) ? await deps.stores.tickets.get(step.receiver, step.incidentKey) : null;
    const rendered = deps.render(step, ticket);
    const connector = deps.connectorFor(step.receiver, receiver);
    const result: DeliveryResult = await connector.deliver({ step, receiverName: step.receiver, receiver, rendered, existingTicket: ticket });
    if (result.ticket) await deps.stores.tickets.put(result.ticket);
    const action = step.guidanceOnly ? 'guidance-only' : result.action;
    await deps.stores.ledger.record(
      entryFor(step, now(), { status: 'done', action, ticketId: result.ticket?.id ?? null, outbox: result.outbox, attempts: attempt }),
    );
    const done = outcome({ action, ticket: result.ticket, outbox: result.outbox });
    log.info(`delivered: ${result.action}`, { ...fields, ticket: result.ticket?.key ?? result.ticket?.id ?? null });
    if (deps.afterDelivered) {
      try {
        await deps.afterDelivered(step, done);
      } catch (e) {
        log.warn('comment back failed (the delivery itself succeeded)', { ...fields, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return done;
  } catch (e) {
    const err = e instanceof KitError ? e : new KitError(e instanceof Error ? e.message : String(e), { kind: 'retryable', cause: e });
    const reason = `${err.kind}${err.statusCode ? ` ${err.statusCode}` : ''}: ${err.message}`;
    if (err.retryable && attempt < maxAttempts) {
      const delayMs = err.retryAfterMs ?? (deps.backoffMs ?? defaultBackoff)(attempt);
      // release the claim so the re-queued copy (or a duplicate) may take it
      await deps.stores.ledger.record(entryFor(step, now(), { status: 'pending', attempts: attempt, error: reason, leaseUntil: 0 }));
      await deps.stores.queue.enqueue({ step, attempt: attempt + 1 }, { delayMs });
      log.warn(`delivery failed; re-queued in ${delayMs} ms`, { ...fields, error: reason });
      return outcome({ action: 'requeued', error: reason });
    }
    await deps.stores.queue.poison(message, reason);
    await deps.stores.ledger.record(entryFor(step, now(), { status: 'failed', attempts: attempt, error: reason }));
    log.error('delivery failed for good; moved to the poison queue', { ...fields, error: reason });
    return outcome({ action: 'failed', error: reason });
  }
}
