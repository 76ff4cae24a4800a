/**
 * deliver — Storage Queue trigger on the deliveries queue. One message is one step. The handler never
 * throws for a delivery failure: pipeline/deliver re-queues with a visibility delay (Retry-After) or
 * poisons the step itself, so the host's own retry never duplicates the kit's accounting. A message
 * that is not a delivery at all goes to the poison queue with the reason.
 */
import { app, type InvocationContext } from '@azure/functions';
import { deliver } from '../pipeline/deliver.js';
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
  await deliver(delivery, { ...runtime.deliverDeps, log });
}

app.storageQueue('deliver', { queueName: DELIVERIES_QUEUE, connection: 'AzureWebJobsStorage', handler: deliverHandler });
