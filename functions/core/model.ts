/**
 * The kit's one incident vocabulary. Sentinel trigger bodies and Graph `security/incidents`
 * resources are both normalised into `Incident`, so one real change seen through both paths
 * is one change. See docs/ARCHITECTURE.md "Lifecycle vocabulary" for the mapping.
 */

export const DEFENDER_EXPERTS = 'Defender Experts';
export const CUSTOMER = 'Customer';
export const AWAITING_CUSTOMER_ACTION = 'Awaiting Customer Action';

/** Sentinel's status names are the kit's: XDR active ≈ New, inProgress ≈ Active, resolved ≈ Closed. */
export type Status = 'New' | 'Active' | 'Closed' | 'Redirected' | 'Unknown';
export const STATUSES: readonly Status[] = ['New', 'Active', 'Closed', 'Redirected', 'Unknown'];

export type Severity = 'Informational' | 'Low' | 'Medium' | 'High' | 'Unknown';
export const SEVERITIES: readonly Severity[] = ['Unknown', 'Informational', 'Low', 'Medium', 'High'];
/** Ordering used by `severityAtLeast`: Unknown < Informational < Low < Medium < High. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export type Source = 'sentinel' | 'graph';

export type OwnerKind = 'defender-experts' | 'customer' | 'user' | 'unassigned';

export interface Owner {
  /** Display value: "Defender Experts", "Customer", a user's name, or null when unassigned. */
  assignedTo: string | null;
  userPrincipalName: string | null;
  objectId: string | null;
  email: string | null;
  kind: OwnerKind;
}

export interface Device {
  name: string;
  /** MDE device id / Azure resource id when known */
  id: string | null;
}

export interface User {
  name: string;
  userPrincipalName: string | null;
  objectId: string | null;
}

export interface AlertSummary {
  count: number;
  /** alert display names, de-duplicated, in arrival order */
  titles: string[];
  products: string[];
  tactics: string[];
}

export interface Incident {
  /** Defender XDR incident id where there is one, else the Sentinel incident name (design invariant 6). */
  key: string;
  source: Source;
  ids: {
    xdrIncidentId: string | null;
    sentinelName: string | null;
    sentinelArmId: string | null;
    tenantId: string | null;
    workspaceId: string | null;
  };
  /** Sentinel incidentNumber, or the numeric Graph id */
  number: number | null;
  title: string;
  description: string;
  severity: Severity;
  status: Status;
  /** the value as received, e.g. "inProgress", "awaitingAction", "Active" */
  rawStatus: string | null;
  owner: Owner;
  /** Sentinel labels / Graph customTags ∪ systemTags (∪ "Awaiting Customer Action" for Graph awaitingAction) */
  tags: string[];
  /** Normalised: TruePositive | FalsePositive | BenignPositive | InformationalExpectedActivity | Undetermined, else the raw value */
  classification: string | null;
  classificationReason: string | null;
  /** Graph determination, camelCase as received (both generations accepted), else null */
  determination: string | null;
  classificationComment: string | null;
  provider: string | null;
  links: { sentinel: string | null; defender: string | null };
  createdAt: string | null;
  updatedAt: string | null;
  firstActivityAt: string | null;
  lastActivityAt: string | null;
  alerts: AlertSummary;
  devices: Device[];
  users: User[];
  /** security groups named in the incident's entities */
  groups: string[];
}

/** What a Sentinel update-triggered run says changed (`incidentUpdates`); only new values are known. */
export interface IncidentUpdates {
  updatedFields: string[];
  updatedBy: string | null;
  labelsAdded: string[];
  alertsAdded: number;
  commentsAdded: number;
  tacticsAdded: string[];
}

/** A parsed event: the incident and, for Sentinel update runs, what the trigger says changed. */
export interface IncidentEvent {
  incident: Incident;
  updates: IncidentUpdates | null;
  /** Sentinel eventUniqueId when present */
  eventId: string | null;
}

export type ChangeKind =
  | 'owner'
  | 'status'
  | 'tag-added'
  | 'tag-removed'
  | 'severity'
  | 'classification'
  | 'determination';

export interface Change {
  kind: ChangeKind;
  /** previous value; null when unknown (first seen, or a Sentinel update run without a snapshot) */
  from: string | null;
  to: string | null;
  /**
   * Deterministic identity of this occurrence of the change: `<kind>:<value>#<n>` where n counts
   * how many times this incident has made this same move (kept in the snapshot). The same change
   * observed twice (push and poll, retry, crash before snapshot save) gets the same id; a genuine
   * repeat (closed, reopened, closed again) gets a new one.
   */
  id: string;
}

export interface Snapshot {
  /** the merged, last announced view of the incident */
  incident: Incident;
  /** tags as each source last reported them (removals are only believed from the same source) */
  tagsBySource: Partial<Record<Source, string[]>>;
  /** last `updatedAt` seen per source: an older observation from the same source is stale */
  seenAt: Partial<Record<Source, string>>;
  /** per `<kind>:<value>` how many times it happened (feeds Change.id) */
  occurrences: Record<string, number>;
  version: 1;
  /**
   * Set by the pipeline (not by detectChanges): the changes each recently seen event produced, keyed by
   * the event's fingerprint, so an exact replay (Logic App retry, the same poll page twice) is re-planned
   * with the same idempotency keys and the ledger reports it as a duplicate instead of silently vanishing.
   */
  recentEvents?: Array<{ fingerprint: string; changes: Change[] }>;
  /**
   * Set by the pipeline: every device, user and group any event of this incident named (bounded). Exclusions
   * are a safety promise, so they are checked against this, not only against what the latest event lists.
   */
  involved?: { devices: Device[]; users: User[]; groups: string[] };
}
