/**
 * Runs processDelivery over the queue until it is empty: what the Functions host does with the queue trigger,
 * for the CLI and the tests. Re-queued messages (Retry-After) are waited for by polling the queue's
 * visibility, never by sleeping inside processDelivery. Each message's dequeueCount goes to processDelivery as the host's
 * would, so a message received again after a try that threw counts as another attempt.
 */
import type { DeliveryOutcome } from '../core/delivery.js';
import { processDelivery, type DeliveryDeps } from './process-delivery.js';

export interface DrainOptions {
  batchSize?: number;
  visibilityTimeoutMs?: number;
  /** give up waiting for delayed messages after this long */
  timeoutMs?: number;
  pollMs?: number;
  /** called for every outcome as it happens (progress lines) */
  onOutcome?: (o: DeliveryOutcome) => void;
  /** the host's maxDequeueCount (default 5, as in host.json) */
  maxDequeueCount?: number;
  /** test hook: simulate a worker crash after the connector succeeded but before the message is deleted */
  afterDeliver?: (o: DeliveryOutcome) => Promise<void> | void;
}

export async function drainQueue(deps: DeliveryDeps, options: DrainOptions = {}): Promise<DeliveryOutcome[]> {
  const outcomes: DeliveryOutcome[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const batch = options.batchSize ?? 16;
  const visibility = options.visibilityTimeoutMs ?? 60_000;
  const queue = deps.stores.queue;
  for (;;) {
    const messages = await queue.receive(batch, visibility);
    if (messages.length === 0) {
      if ((await queue.approximateCount()) === 0) return outcomes;
      if (Date.now() > deadline) throw new Error(`queue not drained within ${options.timeoutMs ?? 120_000} ms (delayed messages remain)`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
      continue;
    }
    for (const m of messages) {
      const o = await processDelivery(m.delivery, deps, {
        dequeueCount: m.dequeueCount,
        ...(options.maxDequeueCount ? { maxDequeueCount: options.maxDequeueCount } : {}),
      });
      outcomes.push(o);
      options.onOutcome?.(o);
      await options.afterDeliver?.(o);
      await queue.delete(m);
    }
  }
}
