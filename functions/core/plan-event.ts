/**
 * One event → everything the pipeline decides about it: the bounded event, the changes since the stored
 * snapshot, the merged view the playbooks are matched on, the planned (queue-sized) steps and the snapshot
 * to store once those steps are enqueued.
 *
 * Pure: ingest runs it (and does the I/O around it: read snapshot, enqueue, save), and so do
 * `spk routes test`, `spk rules test` and `spk render`, so the CLI shows exactly what the pipeline would do.
 */
import { createHash } from 'node:crypto';
import type { KitConfig } from '../config/parse.js';
import type { DeliveryStep } from './delivery.js';
import { detectChanges } from './detect-changes.js';
import { matchPlaybooks, type PlaybookMatch } from './match.js';
import type { Change, Incident, IncidentEvent, Snapshot } from './model.js';
import { boundIncident, planSteps, SNAPSHOT_LIMITS } from './plan.js';
import { fitsTableEntity } from './storage-budget.js';

export interface EventPlan {
  /** the event as the kit keeps and diffs it (SNAPSHOT_LIMITS applied) */
  event: IncidentEvent;
  /** the merged view the playbooks were matched on: the stored incident updated by this event, with every entity named so far */
  view: Incident;
  changes: Change[];
  matches: PlaybookMatch[];
  /** the steps to enqueue, each already fitted to a queue message */
  steps: DeliveryStep[];
  /** the event is older than what this source already reported */
  stale: boolean;
  /** the exact event was seen before: its changes were re-planned with the same keys */
  replay: boolean;
  /** what to store after the steps are enqueued; null when the stored snapshot must stay as it is */
  snapshot: Snapshot | null;
}

export interface PlanEventOptions {
  /** eventFingerprint of the raw body: recognises exact replays and is remembered in the snapshot */
  fingerprint?: string;
  /**
   * What-if changes (`spk routes test --change`) planned on top of what the event changed. The pipeline
   * never passes any; they are not remembered in the snapshot.
   */
  extraChanges?: readonly Change[];
}

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

const RECENT_EVENTS = 20;
/** replay memory is a convenience: it never gets to make the snapshot too big to store */
const RECENT_EVENTS_MAX_CHARS = 100_000;
/** how many entities of each kind the snapshot remembers for exclusions */
const MAX_INVOLVED = 300;

const byName = <T extends { name: string }>(max: number, ...lists: T[][]): T[] => {
  const seen = new Map<string, T>();
  for (const list of lists) for (const x of list) if (seen.size < max && !seen.has(x.name.toLowerCase())) seen.set(x.name.toLowerCase(), x);
  return [...seen.values()];
};

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

/**
 * Snapshots must stay storable whatever happened to the incident: trim what is convenience, then history.
 * Both counts matter: the stored length, and the escaped request body (non-ASCII text is six times longer
 * there), or an all-CJK incident would plan fine and then be refused by every snapshot write.
 */
const SNAPSHOT_BUDGET_CHARS = 400_000;
const fits = (s: Snapshot) => {
  const json = JSON.stringify(s);
  return json.length <= SNAPSHOT_BUDGET_CHARS && fitsTableEntity(json);
};
export function fitSnapshot(snapshot: Snapshot): Snapshot {
  let s = snapshot;
  for (let round = 0; !fits(s) && round < 6; round++) {
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

export function planEvent(config: KitConfig, prev: Snapshot | null, parsed: IncidentEvent, now: Date, options: PlanEventOptions = {}): EventPlan {
  // Keep what is stored and diffed to a bounded size whatever the input (see SNAPSHOT_LIMITS).
  const event: IncidentEvent = { ...parsed, incident: boundIncident(parsed.incident, SNAPSHOT_LIMITS) };
  const { fingerprint } = options;
  const known = fingerprint === undefined ? undefined : prev?.recentEvents?.find((e) => e.fingerprint === fingerprint);

  let detected: Change[];
  let next: Snapshot;
  let stale = false;
  if (known) {
    // An exact replay: plan the same steps again so the ledger, not silence, says "duplicate".
    detected = known.changes;
    next = prev!;
  } else {
    const d = detectChanges(prev, event);
    detected = d.changes;
    next = d.next;
    stale = d.stale;
  }
  const changes = options.extraChanges?.length ? [...detected, ...options.extraChanges] : detected;

  // Plan on the merged view, not the bare event: a poll without entities must not forget the excluded
  // domain controller an earlier push named (exclusions are a safety promise). Exclusions are matched on
  // what the event really named (before bounding) and everything named before.
  const involved = involvedSoFar(prev, {
    ...parsed.incident,
    devices: parsed.incident.devices.slice(0, MAX_INVOLVED),
    users: parsed.incident.users.slice(0, MAX_INVOLVED),
    groups: parsed.incident.groups.slice(0, MAX_INVOLVED),
  });
  const view: Incident = { ...next.incident, source: event.incident.source, devices: involved.devices, users: involved.users, groups: involved.groups };
  const matches = matchPlaybooks(config.playbooks, view, changes);
  const steps = planSteps(config, view, matches, now);

  // a stale event with nothing new leaves the snapshot alone; one that announced a late move records it
  let snapshot: Snapshot | null = null;
  if (!known && !(stale && detected.length === 0)) {
    const remembered = fingerprint === undefined ? (prev?.recentEvents ?? []) : [...(prev?.recentEvents ?? []), { fingerprint, changes: detected }];
    const recent = remembered.slice(-RECENT_EVENTS);
    while (recent.length > 1 && JSON.stringify(recent).length > RECENT_EVENTS_MAX_CHARS) recent.shift();
    snapshot = fitSnapshot({ ...next, recentEvents: recent, involved });
  }
  return { event, view, changes, matches, steps, stale, replay: Boolean(known), snapshot };
}
