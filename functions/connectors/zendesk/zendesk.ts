/**
 * Zendesk Support: one ticket per incident, found again by its external_id (the incident key). The
 * connector is the shared ticket engine (`../tickets/engine.ts`: store first, search before create,
 * persist at once, comment once) on the Zendesk target (`./target.ts`).
 *
 * Why a duplicate should not appear:
 *  - The kit's ticket store is the primary record; when it knows the ticket, Zendesk is not searched.
 *  - Otherwise the target lists tickets by external_id before it creates; that list is a database query,
 *    so a ticket created a moment ago is already there (no settle delay).
 *  - A create whose answer was lost is sent again with the same Idempotency-Key (the step's key), and
 *    Zendesk answers a repeat within two hours with the original ticket instead of making another.
 *    Each guard covers the other's gap: the key expires, the list needs the create to have finished.
 */
import type { ZendeskReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { createTicketConnector } from '../tickets/engine.js';
import type { Connector } from '../types.js';
import { openZendeskTarget } from './target.js';

export { ZENDESK_SETTLE_MS } from './target.js';

export interface ZendeskConnectorOptions {
  receiverName: string;
  receiver: ZendeskReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /** called right after Zendesk answers a create, before any other call of the same delivery (the ticket store) */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

export function createZendeskConnector(options: ZendeskConnectorOptions): Connector {
  const { onTicketCreated, ...target } = options;
  return createTicketConnector({
    name: 'zendesk',
    receiverName: options.receiverName,
    open: () => openZendeskTarget(target),
    ...(onTicketCreated ? { onTicketCreated } : {}),
  });
}
