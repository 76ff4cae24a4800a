/**
 * Ingest: raw trigger body or Graph resource → changes → planned steps enqueued → snapshot saved.
 * Every entry point (dispatch, poll, the CLI) runs this one function, so the demo and the tests run
 * the real pipeline.
 *
 * Order matters (design invariant 1): steps are enqueued BEFORE the snapshot that hides their change is
 * saved. A crash in between means the change is seen again and re-enqueued with the same idempotency
 * key, and the ledger drops the duplicate. A lost ETag race (invariant 5) re-reads and re-diffs.
 */
import { createHash } from 'node:crypto';
import type { KitConfig } from '../core/config.js';
import type { DeliveryStep } from '../core/delivery.js';
import { detectChanges } from '../core/detect-changes.js';
import { KitError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { silentLogger } from '../core/log.js';
import { matchPlaybooks } from '../core/match.js';
import type { Change, Incident, IncidentEvent, Snapshot } from '../core/model.js';
import { parseEvent } from '../core/parse-event.js';
import { boundIncident, planSteps, SNAPSHOT_LIMITS } from '../core/plan.js';
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
const RECENT_EVENTS = 20;
/** replay memory is a convenience: it never gets to make the snapshot too big to store */
const RECENT_EVENTS_MAX_CHARS = 100_000;

/** Canonical JSON (sorted keys) so that key order in a re-sent body does not change the fingerprint. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export function eventFingerprint(raw: unknown): string {
  return createHash('sha256').update(canonical(raw)).digest('hex').slice(0, 32);
}

const byName = <T extends { name: string }>(max: number, ...lists: T[][]): T[] => {
  const seen = new Map<string, T>();
  for (const list of lists) for (const x of list) if (seen.size < max && !seen.has(x.name.toLowerCase())) seen.set(x.name.toLowerCase(), x);
  return [...seen.values()];
};

/** how many entities of each kind the snapshot remembers for exclusions */
const MAX_INVOLVED = 300;

type Involved = NonNullable<Snapshot['involved']>;

/** every device, user and group named so far: what exclusions are checked against */
function involvedSoFar(prev: Snapshot | null, observed: Incident): Involved {
  const before = prev?.involved ?? { devices: prev?.incident.devices ?? [], users: prev?.incident.users ?? [], groups: prev?.incident.groups ?? [] };
  const short = <T extends { name: string }>(xs: T[]) => xs.map((x) => ({ ...x, name: x.name.slice(0, 256) }));
  return {
    devices: byName(MAX_INVOLVED, before.devices, short(observed.devices)),
    users: byName(MAX_INVOLVED, before.users, short(observed.users)),
    groups: [...new Set([...before.groups, ...observed.groups.map((g) => g.slice(0, 256))])].slice(0, MAX_INVOLVED),
  };
}

/** Snapshots must stay storable whatever happened to the incident: trim what is convenience, then history. */
const SNAPSHOT_BUDGET_CHARS = 400_000;
function fitSnapshot(snapshot: Snapshot): Snapshot {
  let s = snapshot;
  for (let round = 0; JSON.stringify(s).length > SNAPSHOT_BUDGET_CHARS && round < 6; round++) {
    const keep = Math.max(1, Math.floor(MAX_INVOLVED / 2 ** (round + 1)));
    const occurrences = Object.entries(s.occurrences);
    // tag churn grows the counters: forget the oldest tag counters first, never owner/status ones
    const tagKeys = occurrences.filter(([k]) => k.startsWith('tag-'));
    const dropTags = new Set(tagKeys.slice(0, Math.max(0, tagKeys.length - 200 / (round + 1))).map(([k]) => k));
    s = {
      ...s,
      recentEvents: (s.recentEvents ?? []).slice(-Math.max(1, 5 - round)),
      involved: s.involved && { devices: s.involved.devices.slice(0, keep), users: s.involved.users.slice(0, keep), groups: s.involved.groups.slice(0, keep) },
      occurrences: Object.fromEntries(occurrences.filter(([k]) => !dropTags.has(k))),
      incident: boundIncident(s.incident, { ...SNAPSHOT_LIMITS, description: Math.floor(SNAPSHOT_LIMITS.description / 2 ** (round + 1)), other: Math.floor(SNAPSHOT_LIMITS.other / 2 ** (round + 1)) }),
    };
  }
  return s;
}

export async function ingest(raw: unknown, deps: IngestDeps): Promise<IngestResult> {
  const log = deps.log ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const parsed = parseEvent(raw);
  // Keep what is stored and diffed to a bounded size whatever the input (see SNAPSHOT_LIMITS).
  const event: IncidentEvent = { ...parsed, incident: boundIncident(parsed.incident, SNAPSHOT_LIMITS) };
  const incident = event.incident;
  const fingerprint = eventFingerprint(raw);

  // steps enqueued in every round: a lost race may have enqueued some already, and they are real
  const enqueued = new Map<string, DeliveryStep>();
  const acted = new Map<string, Change>();
  for (let round = 1; ; round++) {
    const stored = await deps.stores.snapshots.get(incident.key);
    const prev = stored?.snapshot ?? null;
    const known = prev?.recentEvents?.find((e) => e.fingerprint === fingerprint);

    let changes: Change[];
    let next: Snapshot;
    let stale = false;
    if (known) {
      // An exact replay: plan the same steps again so the ledger, not silence, says "duplicate".
      changes = known.changes;
      next = prev!;
    } else {
      const detected = detectChanges(prev, event);
      changes = detected.changes;
      next = detected.next;
      stale = detected.stale;
    }

    for (const c of changes) acted.set(c.id, c);
    // Plan on the merged view, not the bare event: a poll without entities must not forget the excluded
    // domain controller an earlier push named (exclusions are a safety promise).
    // exclusions are matched on what the event really named (before bounding) and everything named before
    const involved = involvedSoFar(prev, { ...parsed.incident, devices: parsed.incident.devices.slice(0, MAX_INVOLVED), users: parsed.incident.users.slice(0, MAX_INVOLVED), groups: parsed.incident.groups.slice(0, MAX_INVOLVED) });
    const view: Incident = { ...next.incident, source: incident.source, devices: involved.devices, users: involved.users, groups: involved.groups };
    const matches = matchPlaybooks(deps.config.playbooks, view, changes);
    const steps = planSteps(deps.config, view, matches, now());
    for (const step of steps) {
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
      stale,
      replay: Boolean(known),
    };
    // a stale event with nothing new leaves the snapshot alone; one that announced a late move records it
    if (known || (stale && changes.length === 0)) return result;

    const recent = [...(prev?.recentEvents ?? []), { fingerprint, changes }].slice(-RECENT_EVENTS);
    while (recent.length > 1 && JSON.stringify(recent).length > RECENT_EVENTS_MAX_CHARS) recent.shift();
    try {
      await deps.stores.snapshots.put(incident.key, fitSnapshot({ ...next, recentEvents: recent, involved }), stored?.etag ?? null);
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
