/**
 * Stage 7 — after delivered: the comment back on the Sentinel incident (pipeline/comment-back.ts) or
 * whatever the entry point hooked in. The delivery already happened and is recorded; a failure here is
 * a warning, never a reason to deliver again.
 */
import type { DeliveryOutcome, DeliveryStep } from '../../core/delivery.js';
import type { DeliveryDeps } from './types.js';
import type { Try } from './types.js';

export async function afterDelivered(t: Try, carried: DeliveryStep, done: DeliveryOutcome, deps: Pick<DeliveryDeps, 'afterDelivered'>): Promise<void> {
  if (!deps.afterDelivered) return;
  try {
    await deps.afterDelivered(carried, done);
  } catch (e) {
    t.log.warn('comment back failed (the delivery itself succeeded)', { ...t.fields, error: e instanceof Error ? e.message : String(e) });
  }
}
