/**
 * Deliver: one queued step → ledger check → lane lease → render → connector → ledger.
 *
 * Exactly once in effect:
 *  - the ledger says the step is done → skip;
 *  - a lease on the step's *lane* (one receiver × one incident) lets one worker at a time talk to that
 *    receiver about that incident, so duplicate messages, and two steps racing to create the same
 *    ticket, never both call the target;
 *  - inside the lane, changes this receiver already got under another step (a crash before the
 *    snapshot save re-planned them together with a new change) are left out, per change;
 *  - ticket receivers find their ticket (ticket store first, then the target's own search inside the
 *    connector) before creating one (invariant 3).
 * Failures never sleep here: a retryable one is re-queued with a visibility delay (Retry-After), and
 * after `maxAttempts` the step goes to the poison queue and is marked failed in the ledger.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ReceiverConfig } from '../core/config-schema.js';
import { isTicketKind } from '../core/config-schema.js';
import type { DeliveryOutcome, DeliveryStep, TicketRef } from '../core/delivery.js';
import type { Change } from '../core/model.js';
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
/** a busy lane is looked at again this much later */
const LANE_BUSY_DELAY_MS = 15_000;
/** our own bookkeeping after a target accepted: tried this often before giving up on the invocation */
const BOOKKEEPING_TRIES = 4;
const defaultBackoff = (attempt: number) => Math.min(2 ** attempt * 1000, 5 * 60_000);

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/** one receiver × one incident: deliveries in a lane never run at the same time */
export function laneKey(step: Pick<DeliveryStep, 'receiver' | 'incidentKey'>): string {
  return `lane-${sha('lane', step.receiver, step.incidentKey)}`;
}

/**
 * "this receiver got this change", whichever step carried it. A notifier may be sent two different
 * templates about one change on purpose (two playbooks); a ticket hears about each change once.
 */
export function changeKey(step: Pick<DeliveryStep, 'receiver' | 'incidentKey' | 'stepType' | 'template'>, change: Pick<Change, 'id'>): string {
  const form = step.stepType === 'notify' ? `notify:${step.template}` : 'ticket';
  return `change-${sha('change', step.incidentKey, step.receiver, form, change.id)}`;
}

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

/** retries our own storage writes briefly: the target already has the message, re-sending is the worse outcome */
async function persist(what: () => Promise<void>): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await what();
    } catch (e) {
      const transient = e instanceof KitError && e.retryable;
      if (!transient || i >= BOOKKEEPING_TRIES) throw e;
      await new Promise((r) => setTimeout(r, 100 * 2 ** i));
    }
  }
}

export async function deliver(message: QueuedDelivery, deps: DeliverDeps): Promise<DeliveryOutcome> {
  const { step, attempt } = message;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? silentLogger;
  const ledger = deps.stores.ledger;
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const fields = { incidentKey: step.incidentKey, playbook: step.playbook, receiver: step.receiver, idempotencyKey: step.idempotencyKey, attempt };
  const outcome = (patch: Partial<DeliveryOutcome>): DeliveryOutcome => ({
    idempotencyKey: step.idempotencyKey,
    incidentKey: step.incidentKey,
    receiver: step.receiver,
    kind: step.kind,
    action: 'failed',
    ticket: null,
    outbox: null,
    attempt,
    error: null,
    ...patch,
  });

  const known = await ledger.get(step.idempotencyKey);
  if (known?.status === 'done') {
    log.info('already delivered; skipping duplicate', fields);
    return outcome({ action: 'skipped-duplicate', outbox: known.outbox });
  }
  if (known?.status === 'failed') {
    log.warn('delivery already marked failed; not retrying a poisoned step', fields);
    return outcome({ action: 'failed', error: known.error });
  }

  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const holder = randomUUID();
  const lane = laneKey(step);
  const laneEntry = { ...entryFor(step, now(), { attempts: attempt, leaseUntil: now() + leaseMs, holder }), idempotencyKey: lane };
  if ((await ledger.claim(laneEntry, now() + leaseMs)) === 'busy') {
    // Another worker is talking to this receiver about this incident; look again shortly.
    await deps.stores.queue.enqueue(message, { delayMs: Math.min(leaseMs, LANE_BUSY_DELAY_MS) });
    log.info('lane busy (receiver × incident); re-queued', fields);
    return outcome({ action: 'requeued' });
  }

  let holdLane = false; // true when our bookkeeping failed after the target accepted: let the lease lapse instead
  try {
    const again = await ledger.get(step.idempotencyKey);
    if (again?.status === 'done') return outcome({ action: 'skipped-duplicate', outbox: again.outbox });

    const delivered = await Promise.all(step.changes.map((c) => ledger.get(changeKey(step, c))));
    const remaining = step.changes.filter((_, i) => delivered[i]?.status !== 'done');
    if (remaining.length === 0) {
      await persist(() => ledger.record(entryFor(step, now(), { status: 'done', action: 'skipped-duplicate', attempts: attempt })));
      log.info('every change of this step already reached the receiver; skipping duplicate', fields);
      return outcome({ action: 'skipped-duplicate' });
    }
    const effective: DeliveryStep = remaining.length === step.changes.length ? step : { ...step, changes: remaining };

    let result: DeliveryResult;
    try {
      const receiver = deps.receivers[step.receiver];
      if (!receiver) throw new KitError(`receiver "${step.receiver}" is not configured any more`, { kind: 'config' });
      const ticket = isTicketKind(step.kind) ? await deps.stores.tickets.get(step.receiver, step.incidentKey) : null;
      const rendered = deps.render(effective, ticket);
      const connector = deps.connectorFor(step.receiver, receiver);
      result = await connector.deliver({ step: effective, receiverName: step.receiver, receiver, rendered, existingTicket: ticket, attempt });
    } catch (e) {
      return await failed(e);
    }

    // The target has it. From here on, a failure must not lead to sending it again.
    holdLane = true;
    const action = step.guidanceOnly ? 'guidance-only' : result.action;
    if (result.ticket) await persist(() => deps.stores.tickets.put(result.ticket!));
    for (const c of remaining) {
      await persist(() => ledger.record({ ...entryFor(step, now(), { status: 'done', action, attempts: attempt }), idempotencyKey: changeKey(step, c) }));
    }
    await persist(() =>
      ledger.record(entryFor(step, now(), { status: 'done', action, ticketId: result.ticket?.id ?? null, outbox: result.outbox, attempts: attempt })),
    );
    holdLane = false;
    const done = outcome({ action, ticket: result.ticket, outbox: result.outbox, changeIds: remaining.map((c) => c.id) });
    log.info(result.action === 'outbox' ? 'written to the outbox only (dry-run receiver: nobody was notified)' : `delivered: ${result.action}`, { ...fields, ticket: result.ticket?.key ?? result.ticket?.id ?? null, changes: remaining.map((c) => c.id) });
    if (deps.afterDelivered) {
      try {
        await deps.afterDelivered(effective, done);
      } catch (e) {
        log.warn('comment back failed (the delivery itself succeeded)', { ...fields, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return done;
  } finally {
    if (!holdLane) await ledger.release(lane, holder).catch(() => false);
  }

  async function failed(e: unknown): Promise<DeliveryOutcome> {
    const err = e instanceof KitError ? e : new KitError(e instanceof Error ? e.message : String(e), { kind: 'retryable', cause: e });
    const reason = `${err.kind}${err.statusCode ? ` ${err.statusCode}` : ''}: ${err.message}`;
    if (err.retryable && attempt < maxAttempts) {
      const delayMs = err.retryAfterMs ?? (deps.backoffMs ?? defaultBackoff)(attempt);
      await ledger.record(entryFor(step, now(), { status: 'pending', attempts: attempt, error: reason, leaseUntil: 0 }));
      // Keep the lane until this step's retry: a later step for the same receiver and incident must not
      // overtake it — not to create the ticket whose create may have gone through (a lost response), nor to
      // tell the story out of order.
      await ledger.record({ ...laneEntry, leaseUntil: now() + delayMs, holder, error: reason });
      holdLane = true;
      await deps.stores.queue.enqueue({ step, attempt: attempt + 1 }, { delayMs });
      log.warn(`delivery failed; re-queued in ${delayMs} ms`, { ...fields, error: reason });
      return outcome({ action: 'requeued', error: reason });
    }
    await deps.stores.queue.poison(message, reason);
    await ledger.record(entryFor(step, now(), { status: 'failed', attempts: attempt, error: reason }));
    log.error('delivery failed for good; moved to the poison queue', { ...fields, error: reason });
    return outcome({ action: 'failed', error: reason });
  }
}
