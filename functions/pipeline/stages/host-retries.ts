/**
 * The Functions host's own retries. A handler that throws is retried by the host on the *same* message
 * (its dequeueCount rises, its attempt does not), and after `maxDequeueCount` tries the host moves it to
 * `<queue>-poison` — where the kit never sees it, so the ledger would say pending for ever. Two things
 * close that: every host retry counts as an attempt (so maxAttempts still bounds the work), and the
 * host's last try does not call the target but gives the step up itself — poison record, ledger failed,
 * log.error — and returns normally, so the host never has to poison a delivery.
 */
import type { DeliveryOutcome } from '../../core/delivery.js';
import type { DeliveryQueue, Ledger, QueuedDelivery } from '../../state/ports.js';
import { giveUp } from './retry-or-poison.js';
import { outcomeOf, type Try } from './types.js';

/** host.json `extensions.queues.maxDequeueCount`, which the host also takes from this app setting */
export const DEFAULT_MAX_DEQUEUE_COUNT = 5;
export const MAX_DEQUEUE_COUNT_SETTING = 'AzureFunctionsJobHost__extensions__queues__maxDequeueCount';

/** What the queue trigger knows about this delivery of the message. */
export interface HostTry {
  /** 1 the first time the host hands this message over; n after n - 1 tries that threw or crashed */
  dequeueCount?: number;
  /** the host's limit; default 5, as in host.json */
  maxDequeueCount?: number;
}

function countOf(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : fallback;
}

/**
 * This try's attempt number: the message's own attempt (re-queues by the kit carry attempt + 1) plus
 * one per earlier host try of this very message. Never below either count.
 */
export function attemptOf(message: QueuedDelivery, host: HostTry = {}): number {
  return message.attempt + countOf(host.dequeueCount, 1) - 1;
}

/** the host will not hand this message over again if this try fails */
export function isHostsLastTry(host: HostTry): boolean {
  return countOf(host.dequeueCount, 1) >= countOf(host.maxDequeueCount, DEFAULT_MAX_DEQUEUE_COUNT);
}

/**
 * On the host's last try, after earlier tries threw: give the step up instead of trying once more, so a
 * try that crashes the process (not just throws) cannot leave the host to poison it behind the kit's
 * back. (With maxDequeueCount 1 the first try is also the last; that one is tried, see processDelivery.)
 */
export function giveUpInsteadOfTrying(host: HostTry): boolean {
  return isHostsLastTry(host) && countOf(host.dequeueCount, 1) > 1;
}

export async function giveUpForHost(t: Try, host: HostTry, stores: { ledger: Ledger; queue: DeliveryQueue }, cause?: string): Promise<DeliveryOutcome> {
  const known = await stores.ledger.get(t.step.idempotencyKey);
  // 'done' is final: an earlier try delivered and recorded it, then failed after (e.g. in the comment back)
  if (known?.status === 'done') return outcomeOf(t, { action: 'skipped-duplicate', outbox: known.outbox });
  if (known?.status === 'failed') return outcomeOf(t, { action: 'failed', error: known.error });
  const tries = countOf(host.dequeueCount, 1);
  const last = cause ?? known?.error ?? null;
  const reason = `the Functions host handed this message over ${tries} time(s), its limit (maxDequeueCount ${countOf(host.maxDequeueCount, DEFAULT_MAX_DEQUEUE_COUNT)}), and the tries failed${last ? `; last: ${last}` : ''}`;
  return giveUp(t, reason, stores, 'delivery failed for good after the Functions host retried it to its limit; moved to the poison queue');
}
