/**
 * processDelivery: one queued step, as named stages (each in ./stages/):
 *
 *   dedup → lease → render → send → record → after delivered
 *                      └──────┴─ failed before the target accepted → retry or poison
 *
 * Exactly once in effect:
 *  - dedup: the ledger says the step is done → skip (failed → it was given up on);
 *  - lease: a lease on the step's *lane* (one receiver × one incident) lets one worker at a time talk to
 *    that receiver about that incident, so duplicate messages, and two steps racing to create the same
 *    ticket, never both call the target;
 *  - dedup again inside the lane, per change: changes this receiver already got under another step are
 *    left out;
 *  - ticket receivers find their ticket (ticket store first, then the target's own search inside the
 *    connector) before creating one (invariant 3);
 *  - record: after the target accepted, a failure of the kit's own writes keeps the lane (no re-send
 *    until the lease lapses) and propagates.
 * Failures never sleep here: a retryable one is re-queued with a visibility delay (Retry-After), and after
 * `maxAttempts` the step goes to the poison queue and is marked failed in the ledger. The Functions host's
 * own retries (a try that threw) count as attempts, and its last try gives the step up (host-retries.ts).
 */
import type { DeliveryOutcome, DeliveryStep } from '../core/delivery.js';
import type { DeliveryResult } from '../connectors/types.js';
import type { QueuedDelivery } from '../state/ports.js';
import { afterDelivered } from './stages/after-delivered.js';
import { changesNotYetDelivered, settled } from './stages/dedup.js';
import { attemptOf, giveUpForHost, giveUpInsteadOfTrying, isHostsLastTry, type HostTry } from './stages/host-retries.js';
import { DEFAULT_LEASE_MS, LANE_BUSY_DELAY_MS, releaseLane, takeLane } from './stages/lane.js';
import { recordAllDelivered, recordDelivered } from './stages/record.js';
import { prepare } from './stages/render.js';
import { reasonOf, retryOrPoison } from './stages/retry-or-poison.js';
import { send } from './stages/send.js';
import { entryFor, outcomeOf, tryOf, type DeliveryDeps, type Try } from './stages/types.js';

export { DEFAULT_MAX_ATTEMPTS, type DeliveryDeps } from './stages/types.js';
export { changeKey } from './stages/dedup.js';
export { laneKey } from './stages/lane.js';
export { attemptOf, DEFAULT_MAX_DEQUEUE_COUNT, MAX_DEQUEUE_COUNT_SETTING, type HostTry } from './stages/host-retries.js';

/**
 * Delivers one queue message. `host` is what the queue trigger knows (dequeueCount); without it the
 * message is taken as handed over for the first time. A try that throws rethrows (the host retries the
 * message), except on the host's last try, where the step is given up on instead.
 */
export async function processDelivery(message: QueuedDelivery, deps: DeliveryDeps, host: HostTry = {}): Promise<DeliveryOutcome> {
  const t = tryOf(message, attemptOf(message, host), deps);
  if (giveUpInsteadOfTrying(host)) return giveUpForHost(t, host, deps.stores);
  try {
    return await deliverTry(t, deps);
  } catch (e) {
    const reason = reasonOf(e);
    if (isHostsLastTry(host)) return giveUpForHost(t, host, deps.stores, reason);
    // the next try (the host's retry of this message) reports what went wrong if it has to give up
    await deps.stores.ledger.record(entryFor(t, { status: 'pending', error: reason })).catch(() => undefined);
    t.log.warn('delivery try threw; the Functions host will retry the message', { ...t.fields, error: reason });
    throw e;
  }
}

async function deliverTry(t: Try, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const { ledger, leases, queue } = deps.stores;
  const step = t.step;

  const known = await settled(ledger, t);
  if (known) {
    if (known.action === 'failed') t.log.warn('delivery already marked failed; not retrying a poisoned step', t.fields);
    else t.log.info('already delivered; skipping duplicate', t.fields);
    return known;
  }

  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const lane = await takeLane(leases, step, leaseMs);
  if (!lane) {
    // Another worker is talking to this receiver about this incident; look again shortly. The attempt
    // carries the host's retries of this message, so they still count.
    await queue.enqueue({ step, attempt: t.attempt }, { delayMs: Math.min(leaseMs, LANE_BUSY_DELAY_MS) });
    t.log.info('lane busy (receiver × incident); re-queued', t.fields);
    return outcomeOf(t, { action: 'requeued' });
  }

  let holdLane = false; // true when the lane must outlive this try: a retry is due, or bookkeeping failed after the target accepted
  try {
    // a duplicate message may have finished between the first look and taking the lane
    const again = await settled(ledger, t);
    if (again?.action === 'skipped-duplicate') return again;

    const remaining = await changesNotYetDelivered(ledger, step);
    if (remaining.length === 0) {
      await recordAllDelivered(ledger, t);
      t.log.info('every change of this step already reached the receiver; skipping duplicate', t.fields);
      return outcomeOf(t, { action: 'skipped-duplicate' });
    }
    const carried: DeliveryStep = remaining.length === step.changes.length ? step : { ...step, changes: remaining };

    let result: DeliveryResult;
    try {
      result = await send(await prepare(carried, deps), t.attempt, deps);
    } catch (e) {
      const failed = await retryOrPoison(e, t, lane, deps);
      holdLane = failed.laneHeld;
      return failed.outcome;
    }

    // The target has it. From here on, a failure must not lead to sending it again.
    holdLane = true;
    const action = step.guidanceOnly ? 'guidance-only' : result.action;
    try {
      await recordDelivered(deps.stores, t, result, action, remaining);
    } catch (e) {
      // the one case an operator must hear about even if a later try succeeds: the receiver has it, the kit's record does not
      t.log.error('the target accepted the delivery but the kit could not record it; the lane stays held until its lease lapses', {
        ...t.fields,
        error: reasonOf(e),
      });
      throw e;
    }
    holdLane = false;

    const done = outcomeOf(t, { action, ticket: result.ticket, outbox: result.outbox, changeIds: remaining.map((c) => c.id) });
    t.log.info(result.action === 'outbox' ? 'written to the outbox only (dry-run receiver: nobody was notified)' : `delivered: ${result.action}`, {
      ...t.fields,
      ticket: result.ticket?.key ?? result.ticket?.id ?? null,
      changes: remaining.map((c) => c.id),
    });
    await afterDelivered(t, carried, done, deps);
    return done;
  } finally {
    if (!holdLane) await releaseLane(leases, lane);
  }
}
