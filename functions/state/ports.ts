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
}

export interface Ledger {
  get(idempotencyKey: string): Promise<LedgerEntry | null>;
  /** upsert; the last writer wins (a 'done' entry is never downgraded to 'failed' or 'pending') */
  record(entry: LedgerEntry): Promise<void>;
  /** every entry (for reports and tests); adapters may page internally */
  list(): Promise<LedgerEntry[]>;
}

/** A lease as stored: who holds `key`, and until when (ms since the epoch, on the store's clock). */
export interface Lease {
  key: string;
  holder: string;
  until: number;
}

/**
 * Short-lived exclusive rights, e.g. one worker at a time per delivery lane (receiver × incident), so two
 * workers holding duplicate queue messages never both call a target. Expiry is judged by the store's own
 * clock, never the caller's, so two workers with skewed clocks agree on whether a lease lapsed.
 * Writes are atomic (create-if-absent, or conditional on what was read).
 */
export interface LeaseStore {
  /**
   * Take `key` for `holder` for `leaseMs` from now: 'claimed' when nobody holds it, its lease lapsed (a
   * crashed worker's) or `holder` already holds it (then it is renewed); 'busy' while another holder's
   * lease lives.
   */
  claim(key: string, holder: string, leaseMs: number): Promise<'claimed' | 'busy'>;
  /**
   * Set the holder's own lease to end `leaseMs` from now (longer or shorter) — only while `holder` still
   * holds it; false when someone else took it over or it is gone.
   */
  renew(key: string, holder: string, leaseMs: number): Promise<boolean>;
  /**
   * Give the lease up early — only if `holder` still holds it (a slow worker whose lease lapsed and was
   * taken over must not free the new holder's). Returns whether it released anything.
   */
  release(key: string, holder: string): Promise<boolean>;
  /** the stored lease, live or lapsed (for reports and tests) */
  get(key: string): Promise<Lease | null>;
}

export interface TicketStore {
  get(receiver: string, incidentKey: string): Promise<TicketRef | null>;
  put(ref: TicketRef): Promise<void>;
}

/**
 * Someone said "I have seen it" about an incident: a key pressed on a call now; signed links and the
 * ticket or owner moving later (escalation stops on any of them). Who and how come from the channel
 * that carried it, checked there (a Twilio signature), never from incident text.
 */
export interface Acknowledgement {
  incidentKey: string;
  /** the channel it came through */
  via: 'voice';
  /** the receiver whose message was acknowledged */
  receiver: string;
  /** the step (message) that was acknowledged */
  stepKey: string;
  /** who: for voice, the number that was called and pressed the key */
  by: string;
  /** the channel's own id of the event (Twilio CallSid): one acknowledgement per event, however often it is replayed */
  ref: string;
  /** when the kit received it (ISO 8601) */
  at: string;
}

export interface AcknowledgementStore {
  /** create-if-absent on (incidentKey, via, ref): `exists` when this very acknowledgement was recorded before */
  add(ack: Acknowledgement): Promise<'added' | 'exists'>;
  /** every acknowledgement of an incident, oldest first */
  list(incidentKey: string): Promise<Acknowledgement[]>;
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
  leases: LeaseStore;
  tickets: TicketStore;
  watermarks: WatermarkStore;
  acknowledgements: AcknowledgementStore;
  queue: DeliveryQueue;
}
