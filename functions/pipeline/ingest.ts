/**
 * Ingest: raw trigger body or Graph resource → changes → planned steps enqueued → snapshot saved.
 * Every entry point (dispatch, poll, the CLI) runs this one function, so the demo and the tests run
 * the real pipeline. What to enqueue and store is decided by core/plan-event.ts (planEvent), the same
 * function `spk routes test` and `spk rules test` print; this file adds only the I/O around it.
 *
 * Order matters (design invariant 1): steps are enqueued BEFORE the snapshot that hides their change is
 * saved. A crash in between means the change is seen again and re-enqueued with the same idempotency
 * key, and the ledger drops the duplicate. A lost ETag race (invariant 5) re-reads and re-diffs.
 */
import type { KitConfig } from '../config/parse.js';
import type { DeliveryStep } from '../core/delivery.js';
import { KitError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { silentLogger } from '../core/log.js';
import type { Change, IncidentEvent } from '../core/model.js';
import { parseEvent } from '../core/parse-event.js';
import { eventFingerprint, planEvent } from '../core/plan-event.js';
import type { StateStores } from '../state/ports.js';

export interface IngestDeps {
  stores: Pick<StateStores, 'snapshots' | 'queue'>;
  config: KitConfig;
  now?: () => Date;
  log?: Logger;
  /** test hook: runs after the steps are enqueued and before the snapshot is saved */
  afterEnqueue?: () => Promise<void> | void;
}

export interface IngestResult {
  incidentKey: string;
  source: IncidentEvent['incident']['source'];
  changes: Change[];
  playbooks: string[];
  steps: DeliveryStep[];
  /** the event is older than what this source already reported */
  stale: boolean;
  /** the exact event was seen before: its steps were re-planned with the same keys */
  replay: boolean;
}

const MAX_RACE_RETRIES = 5;

export async function ingest(raw: unknown, deps: IngestDeps): Promise<IngestResult> {
  const log = deps.log ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const parsed = parseEvent(raw);
  const fingerprint = eventFingerprint(raw);

  // steps enqueued in every round: a lost race may have enqueued some already, and they are real
  const enqueued = new Map<string, DeliveryStep>();
  const acted = new Map<string, Change>();
  for (let round = 1; ; round++) {
    const stored = await deps.stores.snapshots.get(parsed.incident.key);
    const plan = planEvent(deps.config, stored?.snapshot ?? null, parsed, now(), { fingerprint });
    const incident = plan.event.incident;

    for (const c of plan.changes) acted.set(c.id, c);
    for (const step of plan.steps) {
      await deps.stores.queue.enqueue({ step, attempt: 1 });
      enqueued.set(step.idempotencyKey, step);
      log.info('step enqueued', { incidentKey: step.incidentKey, playbook: step.playbook, receiver: step.receiver, idempotencyKey: step.idempotencyKey, attempt: 1 });
    }
    await deps.afterEnqueue?.();

    const result: IngestResult = {
      incidentKey: incident.key,
      source: incident.source,
      changes: [...acted.values()],
      playbooks: [...new Set([...enqueued.values()].map((st) => st.playbook))],
      steps: [...enqueued.values()],
      stale: plan.stale,
      replay: plan.replay,
    };
    if (plan.snapshot === null) return result;
    try {
      await deps.stores.snapshots.put(incident.key, plan.snapshot, stored?.etag ?? null);
      return result;
    } catch (e) {
      if (e instanceof KitError && e.kind === 'conflict' && round < MAX_RACE_RETRIES) {
        log.warn('snapshot write lost a race; re-reading and re-diffing', { incidentKey: incident.key, attempt: round });
        continue;
      }
      throw e;
    }
  }
}
