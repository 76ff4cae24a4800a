/**
 * deliver — Storage Queue trigger on the deliveries queue. One message is one step. The handler never
 * throws for a delivery failure: pipeline/process-delivery re-queues with a visibility delay (Retry-After) or
 * poisons the step itself, so the host's own retry never duplicates the kit's accounting. A message
 * that is not a delivery at all goes to the poison queue with the reason.
 *
 * When a try does throw (the kit's own storage failing), the host retries the same message: its
 * `dequeueCount` (trigger metadata) is passed on, so each host retry counts as an attempt, and the host's
 * last try (dequeueCount = maxDequeueCount) marks the step failed and writes the kit's poison record
 * instead of throwing — the host never moves a delivery to `<queue>-poison` behind the ledger's back.
 * No trigger listens on the poison queue: it holds the kit's own records for the operator.
 */
import { app, type InvocationContext } from '@azure/functions';
import { processDelivery, DEFAULT_MAX_DEQUEUE_COUNT, MAX_DEQUEUE_COUNT_SETTING, type HostTry } from '../pipeline/process-delivery.js';
import type { QueuedDelivery } from '../state/ports.js';
import { decodeDelivery } from '../state/index.js';
import { KitError } from '../core/errors.js';
import { invocationLogger } from './log.js';
import { appRuntime } from './runtime.js';

/** the queue the trigger listens to: the app setting the deployment sets (the same one the state reads) */
export const DELIVERIES_QUEUE = '%SPK_QUEUE_NAME%';

/** the host hands over the decoded message (JSON → object); anything that is not a whole delivery is rejected */
function asDelivery(message: unknown): QueuedDelivery | null {
  let value = message;
  if (typeof message === 'string') {
    try {
      value = JSON.parse(message);
    } catch {
      return null;
    }
  }
  try {
    return decodeDelivery(value);
  } catch (e) {
    if (e instanceof KitError) return null;
    throw e;
  }
}

/**
 * The host's limit on tries of one message: host.json `extensions.queues.maxDequeueCount` (5), which an
 * app setting of the same name overrides for the host — so the kit reads that setting too.
 */
export function maxDequeueCount(env: NodeJS.ProcessEnv = process.env): number {
  const set = Number(env[MAX_DEQUEUE_COUNT_SETTING]?.trim() || NaN);
  return Number.isInteger(set) && set >= 1 ? set : DEFAULT_MAX_DEQUEUE_COUNT;
}

/** what the host says about this delivery of the message (a number, or a numeric string on some hosts) */
export function hostTryOf(context: InvocationContext, env: NodeJS.ProcessEnv = process.env): HostTry {
  const raw = context.triggerMetadata?.['dequeueCount'];
  const count = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  return { ...(Number.isInteger(count) && count >= 1 ? { dequeueCount: count } : {}), maxDequeueCount: maxDequeueCount(env) };
}

export async function deliverHandler(message: unknown, context: InvocationContext): Promise<void> {
  const log = invocationLogger(context);
  const runtime = await appRuntime(log);
  const delivery = asDelivery(message);
  if (!delivery) {
    log.error('queue message is not a delivery; moved to the poison queue');
    const raw = typeof message === 'string' ? message : (JSON.stringify(message) ?? String(message));
    await runtime.stores.queue.poisonRaw(raw.slice(0, 48_000), 'malformed message: not a delivery step');
    return;
  }
  await processDelivery(delivery, { ...runtime.deliveryDeps, log }, hostTryOf(context));
}

app.storageQueue('deliver', { queueName: DELIVERIES_QUEUE, connection: 'AzureWebJobsStorage', handler: deliverHandler });
