/**
 * Stage 5 — record: after the target accepted, the kit's own bookkeeping — the ticket reference, one
 * change marker per change carried, then the step's ledger entry. Each write is retried in place a few
 * times: the target already has the message, and sending it again is the worse outcome. If storage stays
 * down the error propagates and the caller keeps the lane (no other worker re-sends until it lapses).
 */
import type { Change } from '../../core/model.js';
import type { DeliveryAction } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import type { DeliveryResult } from '../../connectors/types.js';
import type { Ledger, TicketStore } from '../../state/ports.js';
import { changeMarker } from './dedup.js';
import { entryFor, type Try } from './types.js';

/** our own bookkeeping after a target accepted: tried this often before giving up on the invocation */
const BOOKKEEPING_TRIES = 4;

/** retries a storage write briefly when the error says a retry may help */
export async function persist(what: () => Promise<void>, tries = BOOKKEEPING_TRIES): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await what();
    } catch (e) {
      const transient = e instanceof KitError && e.retryable;
      if (!transient || i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 100 * 2 ** i));
    }
  }
}

export async function recordDelivered(
  stores: { ledger: Ledger; tickets: TicketStore },
  t: Try,
  result: DeliveryResult,
  action: DeliveryAction,
  carried: Change[],
): Promise<void> {
  if (result.ticket) await persist(() => stores.tickets.put(result.ticket!));
  for (const c of carried) await persist(() => stores.ledger.record(changeMarker(t, c, action)));
  await persist(() =>
    stores.ledger.record(entryFor(t, { status: 'done', action, ticketId: result.ticket?.id ?? null, outbox: result.outbox })),
  );
}

/** every change of the step already reached the receiver under other steps: this step is done as a duplicate */
export async function recordAllDelivered(ledger: Ledger, t: Try): Promise<void> {
  await persist(() => ledger.record(entryFor(t, { status: 'done', action: 'skipped-duplicate' })));
}
