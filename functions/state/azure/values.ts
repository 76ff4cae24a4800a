/**
 * Checks on what callers hand the stores, shared by the Azure and in-memory adapters so both
 * refuse the same input with the same KitError.
 */
import { invalid } from '../../core/errors.js';
import type { TicketRef } from '../../core/delivery.js';
import type { LedgerEntry } from '../ports.js';
import { checkId, MAX_VALUE_CHARS } from './encoding.js';

const LEDGER_STATUSES: readonly unknown[] = ['pending', 'done', 'failed'];
const TICKET_STATES: readonly unknown[] = ['open', 'resolved'];

export function checkLedgerEntry(entry: LedgerEntry): void {
  if (typeof entry !== 'object' || entry === null) throw invalid('ledger', 'entry must be an object');
  checkId('ledger.idempotencyKey', entry.idempotencyKey);
  if (!LEDGER_STATUSES.includes(entry.status)) {
    throw invalid('ledger.status', `must be "pending", "done" or "failed", got ${JSON.stringify(entry.status)}`);
  }
  if (entry.leaseUntil !== undefined && !Number.isFinite(entry.leaseUntil)) {
    throw invalid('ledger.leaseUntil', `must be milliseconds since the epoch, got ${JSON.stringify(entry.leaseUntil)}`);
  }
  if (entry.holder !== undefined && (typeof entry.holder !== 'string' || entry.holder.length > 200)) {
    throw invalid('ledger.holder', 'must be a string of at most 200 characters');
  }
  if (!Number.isInteger(entry.attempts) || entry.attempts < 0) {
    throw invalid('ledger.attempts', `must be an integer >= 0, got ${JSON.stringify(entry.attempts)}`);
  }
}

export function checkLease(leaseUntil: number): void {
  if (typeof leaseUntil !== 'number' || !Number.isFinite(leaseUntil)) {
    throw invalid('ledger.claim.leaseUntil', `must be milliseconds since the epoch, got ${JSON.stringify(leaseUntil)}`);
  }
}

/**
 * 'done' is final: a slow worker's 'failed', or a released 'pending', must never hide that the
 * target already has the message (that is what would send it twice).
 */
export function mayReplace(existing: LedgerEntry['status'] | undefined, next: LedgerEntry['status']): boolean {
  return existing !== 'done' || next === 'done';
}

export type ClaimResult = 'claimed' | 'done' | 'failed' | 'busy';

/** A release rewrites the claim as a lapsed one, and only the holder's own live claim. */
export function releasedBy(existing: LedgerEntry | null, holder: string): LedgerEntry | null {
  if (!existing || existing.status !== 'pending' || existing.holder !== holder) return null;
  const { holder: _gone, ...rest } = existing;
  return { ...rest, leaseUntil: 0 };
}

/** What a claim finds in an existing entry; null means the caller may take it over. */
export function claimBlockedBy(existing: Pick<LedgerEntry, 'status' | 'leaseUntil'>, now: number): ClaimResult | null {
  if (existing.status === 'done') return 'done';
  if (existing.status === 'failed') return 'failed';
  // a pending entry without a lease was never a live claim (written by record, e.g. a released one)
  return (existing.leaseUntil ?? 0) > now ? 'busy' : null;
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
