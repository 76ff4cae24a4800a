/**
 * Jira Cloud REST v3: one issue per incident, found again by the label `sentinel-<key>`. The connector is
 * the shared ticket engine (`../tickets/engine.ts`: store first, search before create, persist at once,
 * comment once, settle delay) on the Jira target (`./target.ts`).
 *
 * Why a duplicate should not appear, and the windows where it still could:
 *  - The kit's own ticket store (ledger first, invariant 3) is the primary record. When it knows
 *    the issue, Jira is not searched at all.
 *  - Otherwise the engine searches by label before it creates. Jira's search/jql is eventually
 *    consistent: an issue created seconds ago may be missing from the index (seconds to minutes).
 *    Search therefore cannot protect a create-retry on its own; the ticket store does.
 *  - The remaining window is between Jira's 201 and the ticket-store write. Two things shrink it:
 *    `onTicketCreated` persists the ticket the moment Jira returns 201, and the engine remembers the
 *    issues it created in this process, which the target names in `reconcileIssues` (read-after-write
 *    for those ids). A create whose response was lost is re-queued no sooner than JIRA_SEARCH_SETTLE_MS.
 *    What is left: a process crash between Jira's 201 and the ticket-store write, retried by another
 *    instance before the index shows the issue, or an index slower than JIRA_SEARCH_SETTLE_MS.
 */
import type { JiraReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { createTicketConnector } from '../tickets/engine.js';
import type { Connector } from '../types.js';
import { openJiraTarget } from './target.js';

export { JIRA_SEARCH_SETTLE_MS } from './target.js';

export interface JiraConnectorOptions {
  receiverName: string;
  receiver: JiraReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /** see JiraTargetOptions.reopenTransition */
  reopenTransition?: string;
  /**
   * Called right after Jira answers 201 to a create, before any other call of the same delivery.
   * Wire the ticket store here; its failure does not fail the delivery (the issue exists; the pipeline
   * stores the returned ticket again once the delivery completes).
   */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

export function createJiraConnector(options: JiraConnectorOptions): Connector {
  const { onTicketCreated, ...target } = options;
  return createTicketConnector({
    name: 'jira',
    receiverName: options.receiverName,
    open: () => openJiraTarget(target),
    ...(onTicketCreated ? { onTicketCreated } : {}),
  });
}
