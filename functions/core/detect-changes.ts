/**
 * Turns one observation of an incident into the moves it made since the last announced view
 * (the snapshot), and the snapshot to store once those moves are safely enqueued.
 *
 * Pure and deterministic: the same (snapshot, event) always gives the same changes with the
 * same ids, so a push and a poll of one real move, a retry, or a crash before the snapshot was
 * saved all land on the same idempotency keys downstream. docs/LIFECYCLE.md explains the rules.
 */
import {
  AWAITING_CUSTOMER_ACTION,
  type Change,
  type ChangeKind,
  type Incident,
  type IncidentEvent,
  type IncidentUpdates,
  type Snapshot,
  type Source,
} from './model.js';
import { containsCaseInsensitive, ownerIdentity, sameDetermination, sameText } from './normalise.js';

export interface Detection {
  changes: Change[];
  next: Snapshot;
  stale: boolean;
}

type Move = Omit<Change, 'id'>;

const KIND_ORDER: readonly ChangeKind[] = [
  'owner',
  'status',
  'tag-added',
  'tag-removed',
  'severity',
  'classification',
  'determination',
];

export function detectChanges(prev: Snapshot | null, event: IncidentEvent): Detection {
  const current = event.incident;
  const source = current.source;

  if (prev !== null) {
    const seen = prev.seenAt[source];
    if (seen !== undefined && current.updatedAt !== null && isStrictlyOlder(current.updatedAt, seen)) {
      return lateUpdate(prev, event);
    }
  }

  const reported = reportedTags(prev, current);
  const { moves, tags } =
    prev !== null
      ? diffAgainstSnapshot(prev, current, reported)
      : event.updates !== null
        ? movesFromUpdates(event.updates, current, reported)
        : movesFromBlank(current, reported);

  moves.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));

  const occurrences = copyOccurrences(prev?.occurrences);
  const changes: Change[] = moves.map((m) => {
    const key = occurrenceKey(m);
    const n = (occurrences[key] ?? 0) + 1;
    occurrences[key] = n;
    return { ...m, id: `${key}#${n}` };
  });

  const seenAt: Snapshot['seenAt'] = { ...(prev?.seenAt ?? {}) };
  if (current.updatedAt !== null) seenAt[source] = current.updatedAt;

  return {
    changes,
    next: {
      incident: merge(prev?.incident ?? null, current, tags),
      tagsBySource: { ...(prev?.tagsBySource ?? {}), [source]: reported },
      seenAt,
      occurrences,
      version: 1,
    },
    stale: false,
  };
}

/**
 * An update older than what this source already reported. Its state is history, but a Sentinel update
 * run still says what it changed: a move that was never announced (the pushes of one pick-up arrived
 * out of order, so the later one was seen first) is announced now instead of being lost; moves already
 * announced stay quiet. The stored view does not go back in time.
 */
function lateUpdate(prev: Snapshot, event: IncidentEvent): Detection {
  if (event.updates === null) return { changes: [], next: prev, stale: true };
  const { moves } = movesFromUpdates(event.updates, event.incident, event.incident.tags);
  const occurrences = copyOccurrences(prev.occurrences);
  const changes: Change[] = [];
  const view = prev.incident;
  // a late move is news only if what it moved to is still how things are (a late "Closed" after a reopen is history)
  const stillTrue = (m: Move): boolean => {
    switch (m.kind) {
      case 'owner':
        return sameText(m.to, view.owner.assignedTo);
      case 'status':
        return sameText(m.to, view.status);
      case 'severity':
        return sameText(m.to, view.severity);
      case 'tag-added':
        return m.to !== null && containsCaseInsensitive(view.tags, m.to);
      case 'classification':
        return sameText(m.to, view.classification);
      default:
        return false;
    }
  };
  for (const m of moves.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind))) {
    const key = occurrenceKey(m);
    if (occurrences[key] !== undefined || !stillTrue(m)) continue;
    occurrences[key] = 1;
    changes.push({ ...m, id: `${key}#1` });
  }
  if (changes.length === 0) return { changes: [], next: prev, stale: true };
  return { changes, next: { ...prev, occurrences }, stale: true };
}

/**
 * The tags this source reports now. Graph derives "Awaiting Customer Action" from its status;
 * when the status comes back unreadable (unknownFutureValue, when the Prefer header was not
 * honoured), that silence is no evidence the tag went away.
 */
function reportedTags(prev: Snapshot | null, current: Incident): string[] {
  if (prev === null || current.source !== 'graph' || current.status !== 'Unknown') return current.tags;
  const before = prev.tagsBySource.graph ?? [];
  const awaiting = before.find((t) => sameText(t, AWAITING_CUSTOMER_ACTION));
  if (awaiting === undefined || containsCaseInsensitive(current.tags, awaiting)) return current.tags;
  return [...current.tags, awaiting];
}

interface Detected {
  moves: Move[];
  /** the merged, announced tag set after this observation */
  tags: string[];
}

function diffAgainstSnapshot(prev: Snapshot, current: Incident, reported: string[]): Detected {
  const base = prev.incident;
  const moves: Move[] = [];

  if (ownerIdentity(current.owner) !== ownerIdentity(base.owner)) {
    moves.push({ kind: 'owner', from: base.owner.assignedTo, to: current.owner.assignedTo });
  }
  if (current.status !== 'Unknown' && current.status !== base.status) {
    moves.push({ kind: 'status', from: base.status, to: current.status });
  }

  const announced = base.tags;
  const added = reported.filter((t) => !containsCaseInsensitive(announced, t));
  const source = current.source;
  const before = prev.tagsBySource[source] ?? [];
  const otherReports = (Object.keys(prev.tagsBySource) as Source[])
    .filter((s) => s !== source)
    .map((s) => prev.tagsBySource[s] ?? []);
  // A removal is believed only from the source that reported the tag, and only once no other
  // source still reports it: otherwise two sources that disagree would flip the tag forever.
  const removed = before.filter(
    (t) =>
      !containsCaseInsensitive(reported, t) &&
      containsCaseInsensitive(announced, t) &&
      !otherReports.some((r) => containsCaseInsensitive(r, t)),
  );
  for (const t of added) moves.push({ kind: 'tag-added', from: null, to: t });
  for (const t of removed) moves.push({ kind: 'tag-removed', from: t, to: null });

  if (current.severity !== 'Unknown' && current.severity !== base.severity) {
    moves.push({ kind: 'severity', from: base.severity, to: current.severity });
  }
  if (current.classification !== null && !sameText(current.classification, base.classification)) {
    moves.push({ kind: 'classification', from: base.classification, to: current.classification });
  }
  if (current.determination !== null && !sameDetermination(current.determination, base.determination)) {
    moves.push({ kind: 'determination', from: base.determination, to: current.determination });
  }

  const tags = [...announced.filter((t) => !containsCaseInsensitive(removed, t)), ...added];
  return { moves, tags };
}

/**
 * A Sentinel update run with no snapshot: only what the trigger says changed is a change. Its
 * labels list holds just the labels added this time, so a re-fire for another tag while
 * "Awaiting Customer Action" stays on does not announce that tag again.
 */
function movesFromUpdates(updates: IncidentUpdates, current: Incident, reported: string[]): Detected {
  const fields = new Set(updates.updatedFields.map((f) => f.trim().toLowerCase()));
  const moves: Move[] = [];
  if (fields.has('owner')) moves.push({ kind: 'owner', from: null, to: current.owner.assignedTo });
  if (fields.has('status') && current.status !== 'Unknown') {
    moves.push({ kind: 'status', from: null, to: current.status });
    // Sentinel only closes with a classification, so a status run is when it was set.
    if (current.classification !== null) moves.push({ kind: 'classification', from: null, to: current.classification });
  }
  if (fields.has('labels')) {
    for (const label of updates.labelsAdded) {
      const spelled = reported.find((t) => sameText(t, label)) ?? label;
      moves.push({ kind: 'tag-added', from: null, to: spelled });
    }
  }
  if (fields.has('severity') && current.severity !== 'Unknown') {
    moves.push({ kind: 'severity', from: null, to: current.severity });
  }
  return { moves, tags: reported };
}

/** First sight of an incident: every move away from a blank, new, unassigned incident is news. */
function movesFromBlank(current: Incident, reported: string[]): Detected {
  const moves: Move[] = [];
  if (current.owner.kind !== 'unassigned') moves.push({ kind: 'owner', from: null, to: current.owner.assignedTo });
  if (current.status !== 'New' && current.status !== 'Unknown') moves.push({ kind: 'status', from: null, to: current.status });
  for (const t of reported) moves.push({ kind: 'tag-added', from: null, to: t });
  if (current.classification !== null) moves.push({ kind: 'classification', from: null, to: current.classification });
  if (current.determination !== null) moves.push({ kind: 'determination', from: null, to: current.determination });
  return { moves, tags: reported };
}

function occurrenceKey(m: Move): string {
  const value = m.kind === 'tag-removed' ? m.from : m.to;
  const shown = value ?? (m.kind === 'owner' ? 'unassigned' : 'none');
  return `${m.kind}:${shown.trim().toLowerCase()}`;
}

function copyOccurrences(src: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (src === undefined) return out;
  for (const [k, v] of Object.entries(src)) {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) out[k] = v;
  }
  return out;
}

/**
 * The announced view: the current observation, except where this source is silent or cannot
 * tell (Unknown status/severity, no classification, no alerts expanded by the poller, no
 * Sentinel link from Graph) — there the earlier view stands, so one source's blind spot never
 * reads as a move back.
 */
function merge(base: Incident | null, current: Incident, tags: string[]): Incident {
  if (base === null) return { ...current, tags };
  const keepClassification = current.classification === null;
  const sameClassification = sameText(current.classification, base.classification);
  return {
    ...current,
    ids: {
      xdrIncidentId: current.ids.xdrIncidentId ?? base.ids.xdrIncidentId,
      sentinelName: current.ids.sentinelName ?? base.ids.sentinelName,
      sentinelArmId: current.ids.sentinelArmId ?? base.ids.sentinelArmId,
      tenantId: current.ids.tenantId ?? base.ids.tenantId,
      workspaceId: current.ids.workspaceId ?? base.ids.workspaceId,
    },
    // Sentinel's incident number is what the SOC sees in Sentinel; Graph's id only stands in for it.
    number: current.source === 'sentinel' ? (current.number ?? base.number) : (base.number ?? current.number),
    description: current.description.trim() !== '' ? current.description : base.description,
    severity: current.severity === 'Unknown' ? base.severity : current.severity,
    status: current.status === 'Unknown' ? base.status : current.status,
    rawStatus: current.status === 'Unknown' ? base.rawStatus : current.rawStatus,
    tags,
    classification: keepClassification ? base.classification : current.classification,
    classificationReason: keepClassification
      ? base.classificationReason
      : (current.classificationReason ?? (sameClassification ? base.classificationReason : null)),
    classificationComment: keepClassification
      ? base.classificationComment
      : (current.classificationComment ?? (sameClassification ? base.classificationComment : null)),
    determination: current.determination ?? base.determination,
    provider: current.provider ?? base.provider,
    links: {
      sentinel: current.links.sentinel ?? base.links.sentinel,
      defender: current.links.defender ?? base.links.defender,
    },
    createdAt: current.createdAt ?? base.createdAt,
    updatedAt: current.updatedAt ?? base.updatedAt,
    firstActivityAt: current.firstActivityAt ?? base.firstActivityAt,
    lastActivityAt: current.lastActivityAt ?? base.lastActivityAt,
    alerts: current.alerts.count > 0 || current.alerts.titles.length > 0 ? current.alerts : base.alerts,
    devices: current.devices.length > 0 ? current.devices : base.devices,
    users: current.users.length > 0 ? current.users : base.users,
    groups: current.groups.length > 0 ? current.groups : base.groups,
  };
}

// ---------------------------------------------------------------------------------------------
// time

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.(\d+))?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * Graph stamps times to 100 ns (seven digits) and Date keeps milliseconds, so the digits past
 * the third break ties. A time that cannot be read is never called older: dropping a real
 * change is worse than re-diffing a duplicate, which the snapshot turns into no change.
 */
function isStrictlyOlder(candidate: string, reference: string): boolean {
  const a = instant(candidate);
  const b = instant(reference);
  if (a === null || b === null) return false;
  if (a.ms !== b.ms) return a.ms < b.ms;
  return a.subMs < b.subMs;
}

function instant(s: string): { ms: number; subMs: string } | null {
  const m = ISO_INSTANT.exec(s.trim());
  if (m === null) return null;
  const ms = Date.parse(s.trim());
  if (Number.isNaN(ms)) return null;
  return { ms, subMs: (m[1] ?? '').slice(3).padEnd(12, '0') };
}

// ---------------------------------------------------------------------------------------------
// wording

const CLASSIFICATION_WORDS = new Map<string, string>([
  ['truepositive', 'True positive'],
  ['falsepositive', 'False positive'],
  ['benignpositive', 'Benign positive'],
  ['informationalexpectedactivity', 'Informational, expected activity'],
  ['undetermined', 'Undetermined'],
]);

/** "multiStagedAttack" → "Multi staged attack": determinations are camelCase identifiers. */
function words(camel: string): string {
  const spaced = camel.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function shown(kind: ChangeKind, value: string | null): string {
  if (value === null) return kind === 'owner' ? 'Unassigned' : 'none';
  if (kind === 'classification') return CLASSIFICATION_WORDS.get(value.toLowerCase()) ?? value;
  if (kind === 'determination') return words(value);
  return value;
}

/** One line a person reads, e.g. "Owner changed to Defender Experts". */
export function changeSummary(c: Change): string {
  const to = shown(c.kind, c.to);
  const from = c.from === null ? null : shown(c.kind, c.from);
  switch (c.kind) {
    case 'tag-added':
      return `Tag added: ${to}`;
    case 'tag-removed':
      return `Tag removed: ${shown(c.kind, c.from)}`;
    case 'owner':
      return from === null ? `Owner changed to ${to}` : `Owner changed from ${from} to ${to}`;
    case 'status':
      return from === null ? `Status changed to ${to}` : `Status changed from ${from} to ${to}`;
    case 'severity':
      return from === null ? `Severity changed to ${to}` : `Severity changed from ${from} to ${to}`;
    case 'classification':
      return from === null ? `Classification set to ${to}` : `Classification changed from ${from} to ${to}`;
    case 'determination':
      return from === null ? `Determination set to ${to}` : `Determination changed from ${from} to ${to}`;
  }
}
