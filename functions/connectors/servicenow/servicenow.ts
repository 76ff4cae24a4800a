/**
 * ServiceNow Table API: one record per incident (incident, or sn_si_incident for Security Incident
 * Response), found again by correlation_id. The connector is the shared ticket engine
 * (`../tickets/engine.ts`: store first, query before create, persist at once, note once) on the
 * ServiceNow target (`./target.ts`).
 *
 * Why a duplicate should not appear, and the window where it still could:
 *  - The kit's ticket store (ledger first) is the primary record; when it knows the record, ServiceNow
 *    is not queried at all.
 *  - Otherwise the engine queries by correlation_id before it creates. The Table API reads the
 *    database, so a record created a moment ago is found: a create whose answer was lost (or a crash
 *    between ServiceNow's 201 and the ticket-store write) is found by its retry. Every hit is checked
 *    field by field, because an encoded query with a field the table lacks returns every row.
 *  - Left: a create still in flight when its worker's lane lease (5 minutes) lapses, racing the retry
 *    of another worker through query-then-create. The Table API has no idempotency key to close it.
 */
import type { ServicenowReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { createTicketConnector } from '../tickets/engine.js';
import type { Connector } from '../types.js';
import type { ServicenowTokenCache } from './oauth.js';
import { openServicenowTarget } from './target.js';

export interface ServicenowConnectorOptions {
  receiverName: string;
  receiver: ServicenowReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /**
   * Called right after ServiceNow answers 201 to a create, before any other call of the same delivery.
   * Wire the ticket store here; its failure does not fail the delivery.
   */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
  /** clock for OAuth token expiry */
  now?: () => number;
}

export function createServicenowConnector(options: ServicenowConnectorOptions): Connector {
  const { onTicketCreated, ...target } = options;
  // one OAuth token for every delivery of this receiver in this process, not one per delivery
  const tokens: ServicenowTokenCache = {};
  return createTicketConnector({
    name: 'servicenow',
    receiverName: options.receiverName,
    open: () => openServicenowTarget({ ...target, tokens }),
    ...(onTicketCreated ? { onTicketCreated } : {}),
  });
}
