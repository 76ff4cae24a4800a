/**
 * Freshservice: one ticket per incident, found again by its tag `sentinel-<key>`. The connector is the shared
 * ticket engine (`../tickets/engine.ts`: store first, search before create, persist at once, note once,
 * settle delay) on the Freshservice target (`./target.ts`), with one per-minute call budget for the receiver
 * (`./rate-limit.ts`) shared by all its deliveries in this process.
 *
 * Why a duplicate should not appear, and the window where it still could:
 *  - The kit's ticket store (ledger first) is the primary record; when it knows the ticket, Freshservice is
 *    not searched.
 *  - Otherwise the tag filter runs before a create. Freshservice has no idempotency key and does not say how
 *    soon the filter sees a new ticket, so a create whose answer was lost is re-queued no sooner than
 *    FRESHSERVICE_FILTER_SETTLE_MS, and this process reads the tickets it created by id.
 *  - Left open: a crash between Freshservice's 201 and the ticket-store write, retried by another instance
 *    before the filter shows the ticket.
 */
import type { FreshserviceReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { createTicketConnector } from '../tickets/engine.js';
import type { Connector } from '../types.js';
import { FRESHSERVICE_DEFAULT_RATE_LIMIT_PER_MINUTE, minuteBudget } from './rate-limit.js';
import { openFreshserviceTarget } from './target.js';

export { FRESHSERVICE_FILTER_SETTLE_MS } from './target.js';
export { FRESHSERVICE_DEFAULT_RATE_LIMIT_PER_MINUTE } from './rate-limit.js';

export interface FreshserviceConnectorOptions {
  receiverName: string;
  receiver: FreshserviceReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /** clock of the call budget and of Retry-After dates (tests move it) */
  now?: () => number;
  /** called right after Freshservice answers a create, before any other call of the same delivery (the ticket store) */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

export function createFreshserviceConnector(options: FreshserviceConnectorOptions): Connector {
  const { onTicketCreated, ...target } = options;
  const budget = minuteBudget(options.receiver.rateLimitPerMinute ?? FRESHSERVICE_DEFAULT_RATE_LIMIT_PER_MINUTE, options.now);
  return createTicketConnector({
    name: 'freshservice',
    receiverName: options.receiverName,
    open: () => openFreshserviceTarget({ ...target, budget: budget.policy }),
    ...(onTicketCreated ? { onTicketCreated } : {}),
  });
}
