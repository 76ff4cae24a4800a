/**
 * State ports. The pipeline talks only to these interfaces; adapters live beside them:
 * memory.ts (fast, for unit tests and `--memory`) and azure/*.ts (Azure Tables + Queues; Azurite locally).
 */
import type { Snapshot } from '../core/model.js';
import type { DeliveryAction, DeliveryStep, TicketRef } from '../core/delivery.js';

export interface StoredSnapshot {
  snapshot: Snapshot;
  etag: string;
}

export interface SnapshotStore {
  get(incidentKey: string): Promise<StoredSnapshot | null>;
  /**
   * Write with an ETag condition (invariant 5): `etag` null means "create, must not exist".
   * Throws KitError kind 'conflict' when someone else wrote first. Returns the new etag.
   */
  put(incidentKey: string, snapshot: Snapshot, etag: string | null): Promise<string>;
}

export type LedgerStatus = 'pending' | 'done' | 'failed';

export interface LedgerEntry {
  idempotencyKey: string;
  status: LedgerStatus;
  incidentKey: string;
  receiver: string;
  playbook: string;
  action: DeliveryAction | null;
  ticketId: string | null;
  outbox: string | null;
  attempts: number;
  error: string | null;
  updatedAt: string;
  /** for 'pending' entries: ms since epoch when the claim lapses */
  leaseUntil?: number;
  /** for claims: a token naming the worker that holds it, so only that worker can release it */
  holder?: string;
}

export interface Ledger {
  get(idempotencyKey: string): Promise<LedgerEntry | null>;
  /** upsert; the last writer wins (a 'done' entry is never downgraded to 'failed') */
  record(entry: LedgerEntry): Promise<void>;
  /** every entry (for reports and tests); adapters may page internally */
  list(): Promise<LedgerEntry[]>;
  /**
   * Take the right to deliver `entry.idempotencyKey` (status 'pending') so that two workers holding duplicate
   * queue messages never both call the target. Atomic (create-if-absent, or ETag-conditional replace of a
   * 'pending' entry whose lease, `leaseUntil` ms since epoch, has expired — a crashed worker's claim).
   * Returns 'claimed', 'done' (already delivered: skip), 'failed' (gave up earlier) or 'busy' (another
   * worker holds a live lease: re-queue and look again later).
   */
  claim(entry: LedgerEntry, leaseUntil: number): Promise<'claimed' | 'done' | 'failed' | 'busy'>;
  /**
   * Give up a claim early — only if `holder` still holds it (a slow worker whose lease lapsed and was
   * taken over must not free the new holder's claim). Returns whether it released anything.
   */
  release(idempotencyKey: string, holder: string): Promise<boolean>;
}

export interface TicketStore {
  get(receiver: string, incidentKey: string): Promise<TicketRef | null>;
  put(ref: TicketRef): Promise<void>;
}

export interface WatermarkStore {
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
}

export interface QueuedDelivery {
  step: DeliveryStep;
  /** 1 for the first try; a re-queue after a failure carries attempt + 1 */
  attempt: number;
}

export interface ReceivedMessage {
  delivery: QueuedDelivery;
  /** adapter-specific handle for delete */
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
}

export interface DeliveryQueue {
  /** `delayMs` hides the message for that long (how the kit waits for Retry-After without sleeping) */
  enqueue(delivery: QueuedDelivery, options?: { delayMs?: number }): Promise<void>;
  receive(max: number, visibilityTimeoutMs: number): Promise<ReceivedMessage[]>;
  delete(message: ReceivedMessage): Promise<void>;
  /** moves a delivery to the poison queue */
  poison(delivery: QueuedDelivery, reason: string): Promise<void>;
  /** puts a message that is not a delivery at all on the poison queue, raw text kept for the operator */
  poisonRaw(raw: string, reason: string): Promise<void>;
  /** what is in the poison queue (for reports and tests) */
  peekPoison(max: number): Promise<Array<{ delivery: QueuedDelivery; reason: string }>>;
  /** approximate number of visible + invisible messages (for drain loops and tests) */
  approximateCount(): Promise<number>;
}

export interface StateStores {
  snapshots: SnapshotStore;
  ledger: Ledger;
  tickets: TicketStore;
  watermarks: WatermarkStore;
  queue: DeliveryQueue;
}
