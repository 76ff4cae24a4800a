/**
 * DeliveryQueue on Azure Storage Queues (Azurite locally). Messages are base64(JSON), which is what
 * the Functions queue trigger decodes by default, so the deliver function and `receive` read the
 * same messages. The poison queue is `<queue>-poison`, the name the Functions host itself uses.
 */
import type { QueueClient } from '@azure/storage-queue';
import { KitError } from '../../core/errors.js';
import type { DeliveryQueue, QueuedDelivery, ReceivedMessage } from '../ports.js';
import {
  checkBatchSize,
  decodeDelivery,
  decodePoison,
  delaySeconds,
  encodeDelivery,
  encodePoison,
  readDelivery,
  visibilitySeconds,
  type PoisonEntry,
} from './encoding.js';
import { serviceCode, statusOf, toKitError } from './errors.js';

/** The port plus what reports and tests need to see of messages the port cannot represent. */
export interface InspectableDeliveryQueue extends DeliveryQueue {
  /** every poison entry, including undecodable messages (delivery null, raw text kept) */
  peekPoisonEntries(max: number): Promise<PoisonEntry[]>;
}

// Storage Queues hand out and show at most 32 messages per call.
const SERVICE_BATCH = 32;
// Without this a message expires after 7 days in the queue, which would lose a delivery silently.
const NEVER_EXPIRE = -1;

export function storageDeliveryQueue(queue: QueueClient, poisonQueue: QueueClient): InspectableDeliveryQueue {
  const sendPoison = async (delivery: QueuedDelivery | null, reason: string, raw: string | null): Promise<void> => {
    const text = encodePoison(delivery, reason, raw, new Date());
    try {
      await poisonQueue.sendMessage(text, { messageTimeToLive: NEVER_EXPIRE });
    } catch (error) {
      throw toKitError(`send to poison queue ${poisonQueue.name}`, error);
    }
  };

  const peekEntries = async (max: number): Promise<PoisonEntry[]> => {
    checkBatchSize('peekPoison.max', max);
    try {
      const peeked = await poisonQueue.peekMessages({ numberOfMessages: Math.min(max, SERVICE_BATCH) });
      return peeked.peekedMessageItems.map((item) => decodePoison(item.messageText));
    } catch (error) {
      throw toKitError(`peek poison queue ${poisonQueue.name}`, error);
    }
  };

  return {
    async enqueue(delivery, options) {
      const text = encodeDelivery(delivery);
      const visibilityTimeout = delaySeconds('enqueue.delayMs', options?.delayMs);
      try {
        await queue.sendMessage(text, {
          messageTimeToLive: NEVER_EXPIRE,
          ...(visibilityTimeout > 0 ? { visibilityTimeout } : {}),
        });
      } catch (error) {
        throw toKitError(`enqueue delivery ${delivery.step.idempotencyKey} on queue ${queue.name}`, error);
      }
    },

    async receive(max, visibilityTimeoutMs) {
      checkBatchSize('receive.max', max);
      const visibilityTimeout = visibilitySeconds('receive.visibilityTimeoutMs', visibilityTimeoutMs);
      const received: ReceivedMessage[] = [];
      while (received.length < max) {
        let items;
        try {
          const response = await queue.receiveMessages({
            numberOfMessages: Math.min(max - received.length, SERVICE_BATCH),
            visibilityTimeout,
          });
          items = response.receivedMessageItems;
        } catch (error) {
          throw toKitError(`receive from queue ${queue.name}`, error);
        }
        if (items.length === 0) break;
        for (const item of items) {
          const read = readDelivery(item.messageText);
          if ('delivery' in read) {
            received.push({
              delivery: read.delivery,
              messageId: item.messageId,
              popReceipt: item.popReceipt,
              dequeueCount: item.dequeueCount,
            });
            continue;
          }
          // A message nobody can read would otherwise come back forever; park it with the reason.
          await sendPoison(null, `undecodable message ${item.messageId}: ${read.reason}`, item.messageText);
          await deleteOrConflict(queue, item.messageId, item.popReceipt).catch(() => undefined);
        }
      }
      return received;
    },

    async delete(message) {
      await deleteOrConflict(queue, message.messageId, message.popReceipt);
    },

    async poisonRaw(raw, reason) {
      await sendPoison(null, reason, raw);
    },
    async poison(delivery, reason) {
      await sendPoison(decodeDelivery(delivery), reason, null);
    },

    async peekPoison(max) {
      const entries = await peekEntries(max);
      return entries.flatMap((entry) => (entry.delivery ? [{ delivery: entry.delivery, reason: entry.reason }] : []));
    },

    peekPoisonEntries: peekEntries,

    async approximateCount() {
      try {
        const properties = await queue.getProperties();
        return properties.approximateMessagesCount ?? 0;
      } catch (error) {
        throw toKitError(`read properties of queue ${queue.name}`, error);
      }
    },
  };
}

async function deleteOrConflict(queue: QueueClient, messageId: string, popReceipt: string): Promise<void> {
  try {
    await queue.deleteMessage(messageId, popReceipt);
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || (status === 400 && serviceCode(error) === 'PopReceiptMismatch')) {
      throw new KitError(
        `message ${messageId} is gone or was received again after its visibility timeout (stale pop receipt)`,
        { kind: 'conflict', statusCode: status, cause: error },
      );
    }
    throw toKitError(`delete message ${messageId} from queue ${queue.name}`, error);
  }
}
