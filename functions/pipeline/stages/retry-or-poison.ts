/**
 * Stage 6 — retry or poison, for a try that failed before the target accepted. Never sleeps: a
 * retryable failure is re-queued with a visibility delay (Retry-After, else backoff) and attempt + 1,
 * keeping the lane until then; after `maxAttempts`, or on a terminal error, the step is given up on.
 */
import type { DeliveryOutcome } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import type { DeliveryQueue, Ledger, LeaseStore } from '../../state/ports.js';
import { holdLaneFor, type Lane } from './lane.js';
import { DEFAULT_MAX_ATTEMPTS, entryFor, outcomeOf, type DeliveryDeps, type Try } from './types.js';

export const defaultBackoff = (attempt: number) => Math.min(2 ** attempt * 1000, 5 * 60_000);

/** how a failure reads in the ledger, the poison record and the logs */
export function reasonOf(e: unknown): string {
  const err = asKitError(e);
  return `${err.kind}${err.statusCode ? ` ${err.statusCode}` : ''}: ${err.message}`;
}

/** anything that is not a KitError is an unexpected fault: worth another try, bounded by maxAttempts */
function asKitError(e: unknown): KitError {
  return e instanceof KitError ? e : new KitError(e instanceof Error ? e.message : String(e), { kind: 'retryable', cause: e });
}

export interface RetryOrPoisonResult {
  outcome: DeliveryOutcome;
  /** the lane is held for the retry; the caller must not release it */
  laneHeld: boolean;
}

export async function retryOrPoison(
  e: unknown,
  t: Try,
  lane: Lane,
  deps: Pick<DeliveryDeps, 'maxAttempts' | 'backoffMs'> & { stores: { ledger: Ledger; leases: LeaseStore; queue: DeliveryQueue } },
): Promise<RetryOrPoisonResult> {
  const err = asKitError(e);
  const reason = reasonOf(err);
  if (err.retryable && t.attempt < (deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) {
    const delayMs = err.retryAfterMs ?? (deps.backoffMs ?? defaultBackoff)(t.attempt);
    await deps.stores.ledger.record(entryFor(t, { status: 'pending', error: reason }));
    const laneHeld = await holdLaneFor(deps.stores.leases, lane, delayMs);
    await deps.stores.queue.enqueue({ step: t.step, attempt: t.attempt + 1 }, { delayMs });
    t.log.warn(`delivery failed; re-queued in ${delayMs} ms`, { ...t.fields, error: reason });
    return { outcome: outcomeOf(t, { action: 'requeued', error: reason }), laneHeld };
  }
  return { outcome: await giveUp(t, reason, deps.stores), laneHeld: false };
}

/**
 * The step is failed for good: its message goes to the poison queue with the reason (the kit's own
 * record, for the operator), the ledger says failed, and it is reported at error level.
 */
export async function giveUp(t: Try, reason: string, stores: { ledger: Ledger; queue: DeliveryQueue }, message = 'delivery failed for good; moved to the poison queue'): Promise<DeliveryOutcome> {
  await stores.queue.poison({ step: t.step, attempt: t.attempt }, reason);
  await stores.ledger.record(entryFor(t, { status: 'failed', error: reason }));
  t.log.error(message, { ...t.fields, error: reason });
  return outcomeOf(t, { action: 'failed', error: reason });
}
