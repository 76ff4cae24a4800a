/**
 * Azure DevOps Work Items: one work item per incident, found again by the tag `sentinel-<key>`. The
 * connector is the shared ticket engine (`../tickets/engine.ts`: store first, search before create,
 * persist at once, comment once, settle delay) on the Azure DevOps target (`./target.ts`).
 *
 * Why a duplicate should not appear, and the window where it still could:
 *  - The kit's ticket store (ledger first) is the primary record; when it knows the work item, WIQL is
 *    not asked at all.
 *  - Otherwise the engine asks WIQL for the tag before it creates. WIQL reads the work item store, not a
 *    search index, and sees a new work item at once in practice (undocumented), and the work item this
 *    process created is also read by id. A create whose answer was lost is retried no sooner than
 *    ADO_WIQL_SETTLE_MS.
 *  - What is left: Azure DevOps has no idempotency key, so a create whose answer was lost, retried by
 *    another instance before WIQL shows the work item, would make a second one.
 *
 * Auth: a PAT (`pat`, Basic with an empty user name) or, without one, an Entra token for Azure DevOps from
 * the Function App's managed identity. The Entra policy lives as long as the connector (one per receiver
 * per process), so its cached token serves every delivery; @azure/identity is loaded on the first token.
 */
import type { TokenCredential } from '@azure/identity';
import type { AzuredevopsReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { entraTokenAuth, type HttpPolicy } from '../http/index.js';
import { createTicketConnector } from '../tickets/engine.js';
import type { Connector } from '../types.js';
import { openAzuredevopsTarget } from './target.js';

export { ADO_WIQL_SETTLE_MS } from './target.js';

/** The Azure DevOps resource (application id), as every Entra token for it is scoped. */
export const ADO_ENTRA_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default';

export interface AzuredevopsConnectorOptions {
  receiverName: string;
  receiver: AzuredevopsReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /**
   * the identity that gets Entra tokens when the receiver has no PAT; default DefaultAzureCredential (the
   * Function App's managed identity; AZURE_CLIENT_ID picks a user-assigned one), created on first use
   */
  credential?: TokenCredential;
  /**
   * Called right after Azure DevOps answers a create, before any other call of the same delivery. Wire
   * the ticket store here; its failure does not fail the delivery.
   */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

export function createAzuredevopsConnector(options: AzuredevopsConnectorOptions): Connector {
  const { onTicketCreated, credential, ...target } = options;
  let entra: HttpPolicy | undefined;
  const entraAuth = () => (entra ??= entraTokenAuth({ scope: ADO_ENTRA_SCOPE, ...(credential ? { credential } : {}) }));
  return createTicketConnector({
    name: 'azuredevops',
    receiverName: options.receiverName,
    open: () => openAzuredevopsTarget({ ...target, entraAuth }),
    ...(onTicketCreated ? { onTicketCreated } : {}),
  });
}
