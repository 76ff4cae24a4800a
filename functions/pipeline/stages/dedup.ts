/**
 * Stage 1 — dedup: is there anything left to deliver? Per step (the ledger says done or failed) and,
 * inside the lane, per change: a change this receiver already got under another step key (a crash
 * before the snapshot save re-planned it beside a new one) is left out.
 */
import { createHash } from 'node:crypto';
import type { DeliveryOutcome, DeliveryStep } from '../../core/delivery.js';
import type { Change } from '../../core/model.js';
import type { Ledger, LedgerEntry } from '../../state/ports.js';
import { entryFor, outcomeOf, type Try } from './types.js';

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/**
 * The ledger key of the change marker "this receiver got this change", whichever step carried it. A
 * marker is an ordinary ledger entry (status done, the action that carried the change) under this key. A
 * notifier may be sent two different templates about one change on purpose (two playbooks); a ticket
 * hears about each change once.
 */
export function changeKey(step: Pick<DeliveryStep, 'receiver' | 'incidentKey' | 'stepType' | 'template'>, change: Pick<Change, 'id'>): string {
  const form = step.stepType === 'notify' ? `notify:${step.template}` : 'ticket';
  return `change-${sha('change', step.incidentKey, step.receiver, form, change.id)}`;
}

/** the marker entry for one change the receiver now has */
export function changeMarker(t: Try, change: Pick<Change, 'id'>, action: LedgerEntry['action']): LedgerEntry {
  return { ...entryFor(t, { status: 'done', action }), idempotencyKey: changeKey(t.step, change) };
}

/** The step is settled already: done (a duplicate message) or failed (given up on). null: deliver it. */
export async function settled(ledger: Ledger, t: Try): Promise<DeliveryOutcome | null> {
  const known = await ledger.get(t.step.idempotencyKey);
  if (known?.status === 'done') return outcomeOf(t, { action: 'skipped-duplicate', outbox: known.outbox });
  if (known?.status === 'failed') return outcomeOf(t, { action: 'failed', error: known.error });
  return null;
}

/** The step's changes this receiver has not got yet, in the step's order. */
export async function changesNotYetDelivered(ledger: Ledger, step: DeliveryStep): Promise<Change[]> {
  const markers = await Promise.all(step.changes.map((c) => ledger.get(changeKey(step, c))));
  return step.changes.filter((_, i) => markers[i]?.status !== 'done');
}
