/**
 * An acknowledgement, once it has been checked by the channel that carried it (connectors/voice/ack.ts
 * for a call's "press 1"): recorded in the acknowledgement store and commented on the Sentinel incident
 * (who, how, when). Both writes are keyed by the acknowledgement's own id, so a replayed or retried request
 * changes nothing: the store keeps the first record, and the comment is rewritten under the same id with
 * the first record's words — which is also why an `exists` still writes the comment (the first try may
 * have recorded and then failed to comment).
 */
import { KitError } from '../core/errors.js';
import { acknowledgementMessage } from '../connectors/sentinel/comment-message.js';
import type { Acknowledgement, StateStores } from '../state/ports.js';
import { acknowledgementId } from '../state/azure/values.js';
import type { IncidentCommenter } from './comment-back.js';

export interface AcknowledgeDeps {
  stores: Pick<StateStores, 'ledger' | 'snapshots' | 'acknowledgements'>;
  /** absent: no comment (dry runs, tests without ARM, SPK_COMMENT_BACK=false) */
  comment?: IncidentCommenter;
  now?: () => number;
}

export interface AcknowledgeOutcome {
  result: 'recorded' | 'already';
  /** the acknowledgement as stored (the first one, for a replay) */
  acknowledgement: Acknowledgement;
  commented: boolean;
}

/**
 * Records `ack` for the step it names. The step must be one the kit delivered (or is delivering) to that
 * receiver for that incident: an acknowledgement of a message the kit never sent is refused.
 */
export async function acknowledge(deps: AcknowledgeDeps, ack: Omit<Acknowledgement, 'at'>): Promise<AcknowledgeOutcome> {
  const entry = await deps.stores.ledger.get(ack.stepKey);
  if (!entry || entry.receiver !== ack.receiver || entry.incidentKey !== ack.incidentKey) {
    throw new KitError(`acknowledge: no message of receiver ${ack.receiver} for incident ${ack.incidentKey} has step ${ack.stepKey.slice(0, 16)}…`, {
      kind: 'validation',
      statusCode: 404,
    });
  }
  const at = new Date((deps.now ?? Date.now)()).toISOString();
  const added = await deps.stores.acknowledgements.add({ ...ack, at });
  const id = acknowledgementId(ack);
  const stored = added === 'added' ? { ...ack, at } : ((await deps.stores.acknowledgements.list(ack.incidentKey)).find((a) => acknowledgementId(a) === id) ?? { ...ack, at });
  let commented = false;
  const incident = deps.comment ? (await deps.stores.snapshots.get(ack.incidentKey))?.snapshot.incident : undefined;
  // a Graph-only incident has no Sentinel resource to comment on
  const armId = incident?.ids.sentinelArmId;
  if (deps.comment && incident && armId) {
    await deps.comment({ incidentArmId: armId, key: `ack:${id}`, message: acknowledgementMessage(stored, incident) });
    commented = true;
  }
  return { result: added === 'added' ? 'recorded' : 'already', acknowledgement: stored, commented };
}
