/**
 * Checks on what callers hand the stores, shared by the Azure and in-memory adapters so both
 * refuse the same input with the same KitError.
 */
import { invalid } from '../../core/errors.js';
import type { TicketRef } from '../../core/delivery.js';
import type { Acknowledgement, Lease, LedgerEntry } from '../ports.js';
import { checkId, MAX_VALUE_CHARS } from './encoding.js';

const LEDGER_STATUSES: readonly unknown[] = ['pending', 'done', 'failed'];
const TICKET_STATES: readonly unknown[] = ['open', 'resolved'];

export function checkLedgerEntry(entry: LedgerEntry): void {
  if (typeof entry !== 'object' || entry === null) throw invalid('ledger', 'entry must be an object');
  checkId('ledger.idempotencyKey', entry.idempotencyKey);
  if (!LEDGER_STATUSES.includes(entry.status)) {
    throw invalid('ledger.status', `must be "pending", "done" or "failed", got ${JSON.stringify(entry.status)}`);
  }
  if (!Number.isInteger(entry.attempts) || entry.attempts < 0) {
    throw invalid('ledger.attempts', `must be an integer >= 0, got ${JSON.stringify(entry.attempts)}`);
  }
}

/**
 * 'done' is final: a slow worker's 'failed', or a released 'pending', must never hide that the
 * target already has the message (that is what would send it twice).
 */
export function mayReplace(existing: LedgerEntry['status'] | undefined, next: LedgerEntry['status']): boolean {
  return existing !== 'done' || next === 'done';
}

/** How a lease's holder is named: an opaque token, short enough to sit beside the lease in one property. */
export const MAX_HOLDER_CHARS = 200;
/** Nothing the kit does holds a lane longer than the queue can delay a message (7 days). */
export const MAX_LEASE_MS = 7 * 24 * 60 * 60 * 1000;

export function checkLeaseRequest(key: string, holder: string, leaseMs?: number): void {
  checkId('lease.key', key);
  if (typeof holder !== 'string' || holder === '' || holder.length > MAX_HOLDER_CHARS) {
    throw invalid('lease.holder', `must be a non-empty string of at most ${MAX_HOLDER_CHARS} characters`);
  }
  if (leaseMs !== undefined && (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs < 0 || leaseMs > MAX_LEASE_MS)) {
    throw invalid('lease.leaseMs', `must be milliseconds from 0 to ${MAX_LEASE_MS}, got ${JSON.stringify(leaseMs)}`);
  }
}

/** What a claim may do with what it found: take a free or lapsed lease, renew its own, never another's live one. */
export function mayClaim(existing: Lease | null, holder: string, now: number): boolean {
  return !existing || existing.holder === holder || existing.until <= now;
}

export function checkTicketRef(ref: TicketRef): void {
  if (typeof ref !== 'object' || ref === null) throw invalid('ticket', 'must be an object');
  checkId('ticket.receiver', ref.receiver);
  checkId('ticket.incidentKey', ref.incidentKey);
  if (typeof ref.id !== 'string' || ref.id === '') throw invalid('ticket.id', 'must be a non-empty string');
  if (!TICKET_STATES.includes(ref.state)) {
    throw invalid('ticket.state', `must be "open" or "resolved", got ${JSON.stringify(ref.state)}`);
  }
}

export function checkWatermarkValue(name: string, value: unknown): void {
  if (typeof value !== 'string') throw invalid(`watermarks.${name}`, `value must be a string, got ${typeof value}`);
  if (value.length > MAX_VALUE_CHARS) {
    throw invalid(`watermarks.${name}`, `value is ${value.length} characters; at most ${MAX_VALUE_CHARS} fit one table property`);
  }
}

const ACK_CHANNELS: readonly unknown[] = ['voice'];

export function checkAcknowledgement(ack: Acknowledgement): void {
  if (typeof ack !== 'object' || ack === null) throw invalid('acknowledgement', 'must be an object');
  checkId('acknowledgement.incidentKey', ack.incidentKey);
  checkId('acknowledgement.receiver', ack.receiver);
  checkId('acknowledgement.stepKey', ack.stepKey);
  checkId('acknowledgement.ref', ack.ref);
  if (!ACK_CHANNELS.includes(ack.via)) throw invalid('acknowledgement.via', `must be "voice", got ${JSON.stringify(ack.via)}`);
  if (typeof ack.by !== 'string' || ack.by.length > 256) throw invalid('acknowledgement.by', 'must be a string of at most 256 characters');
  if (typeof ack.at !== 'string' || Number.isNaN(Date.parse(ack.at))) throw invalid('acknowledgement.at', `must be an ISO 8601 time, got ${JSON.stringify(ack.at)}`);
}

/** one acknowledgement per channel event */
export function acknowledgementId(ack: Pick<Acknowledgement, 'via' | 'ref'>): string {
  return `${ack.via}:${ack.ref}`;
}

/** oldest first, then by id, so both adapters list in the same order */
export function byTime(a: Acknowledgement, b: Acknowledgement): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : acknowledgementId(a) < acknowledgementId(b) ? -1 : 1;
}
