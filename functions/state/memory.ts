/**
 * In-memory StateStores for unit tests, the demo and `--memory` runs. They behave like the Azure
 * adapters, limits included: values are stored as JSON (callers never share objects with the
 * store), ETags guard snapshot writes, queue messages are base64 text with visibility driven by
 * an injectable clock, and the same checks refuse the same input.
 */
import { randomUUID } from 'node:crypto';
import { KitError } from '../core/errors.js';
import type { Snapshot } from '../core/model.js';
import type { TicketRef } from '../core/delivery.js';
import type {
  Acknowledgement,
  AcknowledgementStore,
  Lease,
  LeaseStore,
  Ledger,
  LedgerEntry,
  ReceivedMessage,
  SnapshotStore,
  StateStores,
  TicketStore,
  WatermarkStore,
} from './ports.js';
import {
  checkBatchSize,
  checkId,
  checkJsonSize,
  decodeDelivery,
  decodePoison,
  delaySeconds,
  encodeDelivery,
  encodePoison,
  readDelivery,
  visibilitySeconds,
  type PoisonEntry,
} from './azure/encoding.js';
import {
  acknowledgementId,
  byTime,
  checkAcknowledgement,
  checkLeaseRequest,
  checkLedgerEntry,
  checkTicketRef,
  checkWatermarkValue,
  mayClaim,
  mayReplace,
} from './azure/values.js';
import type { InspectableDeliveryQueue } from './azure/queue.js';

export interface MemoryStateOptions {
  /** milliseconds since the epoch, for queue visibility and leases; tests move it instead of sleeping */
  now?: () => number;
}

export interface MemoryDeliveryQueue extends InspectableDeliveryQueue {
  /** puts text on the queue as-is, as another producer or an operator with Storage Explorer could */
  sendRaw(text: string, options?: { delayMs?: number }): Promise<void>;
}

export interface MemoryStateStores extends StateStores {
  queue: MemoryDeliveryQueue;
}

export function createMemoryStores(options: MemoryStateOptions = {}): MemoryStateStores {
  const now = options.now ?? Date.now;
  return {
    snapshots: memorySnapshotStore(),
    ledger: memoryLedger(),
    leases: memoryLeaseStore(now),
    tickets: memoryTicketStore(),
    watermarks: memoryWatermarkStore(),
    acknowledgements: memoryAcknowledgementStore(),
    queue: memoryDeliveryQueue(now),
  };
}

function memorySnapshotStore(): SnapshotStore {
  const rows = new Map<string, { json: string; etag: string }>();
  let version = 0;
  return {
    async get(incidentKey) {
      checkId('incidentKey', incidentKey);
      const row = rows.get(incidentKey);
      return row ? { snapshot: JSON.parse(row.json) as Snapshot, etag: row.etag } : null;
    },
    async put(incidentKey, snapshot, etag) {
      checkId('incidentKey', incidentKey);
      const what = `snapshot ${incidentKey}`;
      const json = JSON.stringify(snapshot);
      checkJsonSize(what, json);
      const current = rows.get(incidentKey);
      if (etag === null && current) {
        throw new KitError(`${what} already exists: another writer created it first; re-read and re-diff`, {
          kind: 'conflict',
          statusCode: 409,
        });
      }
      if (etag !== null && current?.etag !== etag) {
        throw new KitError(`${what} changed since it was read (stale ETag); re-read and re-diff`, {
          kind: 'conflict',
          statusCode: 412,
        });
      }
      const next = `W/"memory-${++version}"`;
      rows.set(incidentKey, { json, etag: next });
      return next;
    },
  };
}

function memoryLedger(): Ledger {
  const rows = new Map<string, string>();
  const read = (idempotencyKey: string): LedgerEntry | null => {
    const json = rows.get(idempotencyKey);
    return json === undefined ? null : (JSON.parse(json) as LedgerEntry);
  };
  return {
    async get(idempotencyKey) {
      checkId('idempotencyKey', idempotencyKey);
      return read(idempotencyKey);
    },
    async record(entry) {
      checkLedgerEntry(entry);
      if (!mayReplace(read(entry.idempotencyKey)?.status, entry.status)) return;
      const json = JSON.stringify(entry);
      checkJsonSize(`ledger entry ${entry.idempotencyKey}`, json);
      rows.set(entry.idempotencyKey, json);
    },
    async list() {
      return [...rows.values()].map((json) => JSON.parse(json) as LedgerEntry);
    },
  };
}

function memoryLeaseStore(now: () => number): LeaseStore {
  // One map, read and written without an await in between: each call is as atomic as the Azure adapter's
  // conditional writes.
  const rows = new Map<string, Lease>();
  const held = (key: string, holder: string): boolean => rows.get(key)?.holder === holder;
  return {
    async claim(key, holder, leaseMs) {
      checkLeaseRequest(key, holder, leaseMs);
      if (!mayClaim(rows.get(key) ?? null, holder, now())) return 'busy';
      rows.set(key, { key, holder, until: now() + leaseMs });
      return 'claimed';
    },
    async renew(key, holder, leaseMs) {
      checkLeaseRequest(key, holder, leaseMs);
      if (!held(key, holder)) return false;
      rows.set(key, { key, holder, until: now() + leaseMs });
      return true;
    },
    async release(key, holder) {
      checkLeaseRequest(key, holder);
      if (!held(key, holder)) return false;
      rows.delete(key);
      return true;
    },
    async get(key) {
      checkId('lease.key', key);
      const lease = rows.get(key);
      return lease ? { ...lease } : null;
    },
  };
}

function memoryTicketStore(): TicketStore {
  const rows = new Map<string, string>();
  return {
    async get(receiver, incidentKey) {
      checkId('receiver', receiver);
      checkId('incidentKey', incidentKey);
      const json = rows.get(JSON.stringify([receiver, incidentKey]));
      return json === undefined ? null : (JSON.parse(json) as TicketRef);
    },
    async put(ref) {
      checkTicketRef(ref);
      const json = JSON.stringify(ref);
      checkJsonSize(`ticket of ${ref.receiver} for incident ${ref.incidentKey}`, json);
      rows.set(JSON.stringify([ref.receiver, ref.incidentKey]), json);
    },
  };
}

function memoryAcknowledgementStore(): AcknowledgementStore {
  const byIncident = new Map<string, Map<string, string>>();
  return {
    async add(ack) {
      checkAcknowledgement(ack);
      const rows = byIncident.get(ack.incidentKey) ?? new Map<string, string>();
      byIncident.set(ack.incidentKey, rows);
      const id = acknowledgementId(ack);
      if (rows.has(id)) return 'exists';
      rows.set(id, JSON.stringify(ack));
      return 'added';
    },
    async list(incidentKey) {
      checkId('incidentKey', incidentKey);
      return [...(byIncident.get(incidentKey)?.values() ?? [])].map((json) => JSON.parse(json) as Acknowledgement).sort(byTime);
    },
  };
}

function memoryWatermarkStore(): WatermarkStore {
  const rows = new Map<string, string>();
  return {
    async get(name) {
      checkId('watermark', name);
      return rows.get(name) ?? null;
    },
    async set(name, value) {
      checkId('watermark', name);
      checkWatermarkValue(name, value);
      rows.set(name, value);
    },
  };
}

interface StoredMessage {
  id: string;
  text: string;
  visibleAt: number;
  popReceipt: string | null;
  dequeueCount: number;
}

function memoryDeliveryQueue(now: () => number): MemoryDeliveryQueue {
  const messages: StoredMessage[] = [];
  const poisoned: string[] = [];

  const send = (text: string, delayMs: number | undefined): void => {
    const seconds = delaySeconds('enqueue.delayMs', delayMs);
    messages.push({ id: randomUUID(), text, visibleAt: now() + seconds * 1000, popReceipt: null, dequeueCount: 0 });
  };

  const peekEntries = async (max: number): Promise<PoisonEntry[]> => {
    checkBatchSize('peekPoison.max', max);
    // Storage Queues peek at most 32 messages; so does this
    return poisoned.slice(0, Math.min(max, 32)).map(decodePoison);
  };

  return {
    async enqueue(delivery, options) {
      send(encodeDelivery(delivery), options?.delayMs);
    },

    async sendRaw(text, options) {
      send(text, options?.delayMs);
    },

    async receive(max, visibilityTimeoutMs) {
      checkBatchSize('receive.max', max);
      const hideFor = visibilitySeconds('receive.visibilityTimeoutMs', visibilityTimeoutMs) * 1000;
      const at = now();
      const received: ReceivedMessage[] = [];
      for (const message of [...messages]) {
        if (received.length >= max) break;
        if (message.visibleAt > at) continue;
        message.dequeueCount += 1;
        message.popReceipt = randomUUID();
        message.visibleAt = at + hideFor;
        const delivery = readDelivery(message.text);
        if ('delivery' in delivery) {
          received.push({
            delivery: delivery.delivery,
            messageId: message.id,
            popReceipt: message.popReceipt,
            dequeueCount: message.dequeueCount,
          });
          continue;
        }
        poisoned.push(encodePoison(null, `undecodable message ${message.id}: ${delivery.reason}`, message.text, new Date(at)));
        messages.splice(messages.indexOf(message), 1);
      }
      return received;
    },

    async delete(message) {
      const index = messages.findIndex((stored) => stored.id === message.messageId);
      const stored = messages[index];
      if (!stored || stored.popReceipt !== message.popReceipt) {
        throw new KitError(
          `message ${message.messageId} is gone or was received again after its visibility timeout (stale pop receipt)`,
          { kind: 'conflict', statusCode: stored ? 400 : 404 },
        );
      }
      messages.splice(index, 1);
    },

    async poisonRaw(raw, reason) {
      poisoned.push(encodePoison(null, reason, raw, new Date(now())));
    },
    async poison(delivery, reason) {
      poisoned.push(encodePoison(decodeDelivery(delivery), reason, null, new Date(now())));
    },

    async peekPoison(max) {
      const entries = await peekEntries(max);
      return entries.flatMap((entry) => (entry.delivery ? [{ delivery: entry.delivery, reason: entry.reason }] : []));
    },

    peekPoisonEntries: peekEntries,

    async approximateCount() {
      return messages.length;
    },
  };
}
