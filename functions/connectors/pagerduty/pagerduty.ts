/**
 * PagerDuty Events API v2 (and, optionally, the REST API for notes): one alert per incident under the
 * dedup key `sentinel-<key>`. The connector is the shared ticket engine (`../tickets/engine.ts`) on the
 * PagerDuty target (`./target.ts`).
 *
 * Why no second alert appears: PagerDuty deduplicates a trigger into the open alert with the same
 * dedup_key, so a create retried after a lost answer, a crash before the ledger write, or two deliveries
 * racing all land on one alert. What stays: a trigger after the alert was resolved (in PagerDuty, by a
 * person, or by the kit) raises a new incident under the same key; the target sends one only for a
 * create or a reactivation, never for a late update to an alert it knows is resolved.
 */
import type { TicketRef } from '../../core/delivery.js';
import { createTicketConnector } from '../tickets/engine.js';
import type { Connector } from '../types.js';
import type { PagerdutyReceiver } from './schema.js';
import { openPagerdutyTarget } from './target.js';

export interface PagerdutyConnectorOptions {
  receiverName: string;
  receiver: PagerdutyReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /** called right after PagerDuty accepted the create's trigger; its failure does not fail the delivery */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

export function createPagerdutyConnector(options: PagerdutyConnectorOptions): Connector {
  const { onTicketCreated, ...target } = options;
  return createTicketConnector({
    name: 'pagerduty',
    receiverName: options.receiverName,
    open: () => openPagerdutyTarget(target),
    ...(onTicketCreated ? { onTicketCreated } : {}),
  });
}
