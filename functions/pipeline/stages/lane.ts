/**
 * Stage 2 — lease: one worker at a time per lane (one receiver × one incident), so two workers holding
 * duplicate queue messages, or two steps racing to create the same ticket, never both call the target.
 * Leases live in their own store (state LeaseStore), judged by the store's clock.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { DeliveryStep } from '../../core/delivery.js';
import type { LeaseStore } from '../../state/ports.js';
import { MAX_LEASE_MS } from '../../state/azure/values.js';

export const DEFAULT_LEASE_MS = 5 * 60_000;
/** a busy lane is looked at again this much later */
export const LANE_BUSY_DELAY_MS = 15_000;

/** one receiver × one incident: deliveries in a lane never run at the same time */
export function laneKey(step: Pick<DeliveryStep, 'receiver' | 'incidentKey'>): string {
  return `lane-${createHash('sha256').update(['lane', step.receiver, step.incidentKey].join('\u0000')).digest('hex')}`;
}

export interface Lane {
  key: string;
  /** names this try only: a slow worker whose lease lapsed and was taken over cannot free the new holder's */
  holder: string;
}

/** the lane, or null when another worker holds it */
export async function takeLane(leases: LeaseStore, step: DeliveryStep, leaseMs: number): Promise<Lane | null> {
  const lane = { key: laneKey(step), holder: randomUUID() };
  return (await leases.claim(lane.key, lane.holder, leaseMs)) === 'claimed' ? lane : null;
}

/**
 * Keep the lane until this step's retry: a later step for the same receiver and incident must not
 * overtake it — not to create the ticket whose create may have gone through (a lost response), nor to
 * tell the story out of order. Holder-checked: a lane someone else took over stays theirs.
 */
export async function holdLaneFor(leases: LeaseStore, lane: Lane, ms: number): Promise<boolean> {
  return leases.renew(lane.key, lane.holder, Math.min(Math.max(ms, 0), MAX_LEASE_MS));
}

/** give the lane up; a failure to do so only means the next try waits for the lease to lapse */
export async function releaseLane(leases: LeaseStore, lane: Lane): Promise<void> {
  await leases.release(lane.key, lane.holder).catch(() => false);
}
