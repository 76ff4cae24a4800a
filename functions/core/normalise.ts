/**
 * The shared vocabulary mapping behind both parsers: how Sentinel and Graph spellings of status,
 * severity, owner, classification and determination become the kit's one lifecycle vocabulary
 * (docs/LIFECYCLE.md has the tables and the reasons), plus careful readers for untrusted JSON.
 *
 * Readers only ever look at a record's OWN properties, so a body carrying `__proto__` or
 * `constructor` keys cannot make an inherited value look like a field, and nothing here copies
 * unknown keys into a new object.
 */
import { invalid } from './errors.js';
import {
  AWAITING_CUSTOMER_ACTION,
  CUSTOMER,
  DEFENDER_EXPERTS,
  type Device,
  type Owner,
  type Severity,
  type Status,
  type User,
} from './model.js';

import { isJsonObject, type JsonObject } from './json-object.js';

export function own(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** A required object: absent, null or any other type is a validation error naming the field. */
export function requireRecord(obj: JsonObject, key: string, path: string): JsonObject {
  const v = own(obj, key);
  if (!isJsonObject(v)) throw invalid(at(path, key), `expected an object, got ${v === undefined ? 'nothing' : describeType(v)}`);
  return v;
}

/** An optional object: absent or null → null; any other non-object type is a validation error. */
export function optionalRecord(obj: JsonObject, key: string, path: string): JsonObject | null {
  const v = own(obj, key);
  if (v === undefined || v === null) return null;
  if (!isJsonObject(v)) throw invalid(at(path, key), `expected an object, got ${describeType(v)}`);
  return v;
}

/** An optional string: absent or null → null; any other type is a validation error. */
export function optionalString(obj: JsonObject, key: string, path: string): string | null {
  const v = own(obj, key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(at(path, key), `expected a string, got ${describeType(v)}`);
  return v;
}

/** Identifiers arrive as strings, but some producers send numbers; both mean the same id. */
export function optionalId(obj: JsonObject, key: string, path: string): string | null {
  const v = own(obj, key);
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v !== 'string') throw invalid(at(path, key), `expected a string, got ${describeType(v)}`);
  const t = v.trim();
  return t === '' ? null : t;
}

/** An optional array: absent or null → []; any other type is a validation error. */
export function optionalArray(obj: JsonObject, key: string, path: string): unknown[] {
  const v = own(obj, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(at(path, key), `expected an array, got ${describeType(v)}`);
  return v;
}

/** An optional non-negative whole number (a numeric string is accepted too); absent or null → null. */
export function optionalInteger(obj: JsonObject, key: string, path: string): number | null {
  const v = own(obj, key);
  if (v === undefined || v === null) return null;
  // `+ 0` turns -0 into 0, which JSON would do anyway on the way through the queue.
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v + 0;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v.trim())) return Number(v.trim());
  throw invalid(at(path, key), `expected a whole number, got ${describeType(v)}`);
}

/**
 * Context fields inside alerts, entities and evidence are read leniently: a wrong type there is
 * dropped, because one odd entity must not cost the SOC the notification about the incident.
 */
export function looseString(obj: JsonObject, key: string): string | null {
  const v = own(obj, key);
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

export function looseStrings(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const item of v) if (typeof item === 'string' && item.trim() !== '') out.push(item.trim());
  return out;
}

export function looseRecords(v: unknown): JsonObject[] {
  if (!Array.isArray(v)) return [];
  const out: JsonObject[] = [];
  for (const item of v) if (isJsonObject(item)) out.push(item);
  return out;
}

/** De-duplicate case-insensitively, keep the first spelling, trim, drop empties. */
export function uniqueCaseInsensitive(values: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of values) {
    const v = raw.trim();
    if (v === '') continue;
    const k = v.toLowerCase();
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(v);
  }
  return out;
}

/** A device is one name, whatever its case; a user is one UPN (or object id, or name). */
export function uniqueDevices(devices: Device[]): Device[] {
  const seen = new Set<string>();
  return devices.filter((d) => {
    const k = d.name.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function uniqueUsers(users: User[]): User[] {
  const seen = new Set<string>();
  return users.filter((u) => {
    const k = (u.userPrincipalName ?? u.objectId ?? u.name).toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function sameText(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export function containsCaseInsensitive(list: readonly string[], value: string): boolean {
  const k = value.trim().toLowerCase();
  return list.some((x) => x.trim().toLowerCase() === k);
}

// ---------------------------------------------------------------------------------------------
// status
//
// Vocabulary tables are Maps: a plain-object table answers "__proto__" or "constructor" with
// Object's own members, and those words arrive in attacker-controlled fields.

const SENTINEL_STATUS = new Map<string, Status>([
  ['new', 'New'],
  ['active', 'Active'],
  ['closed', 'Closed'],
]);

export function sentinelStatus(raw: string | null): Status {
  if (raw === null) return 'Unknown';
  return SENTINEL_STATUS.get(raw.trim().toLowerCase()) ?? 'Unknown';
}

/** Graph's incidentStatus in the kit's (Sentinel's) words; awaitingAction also adds a tag. */
const GRAPH_STATUS = new Map<string, Status>([
  ['active', 'New'],
  ['inprogress', 'Active'],
  ['resolved', 'Closed'],
  ['redirected', 'Redirected'],
  ['awaitingaction', 'Active'],
]);

export function graphStatus(raw: string | null): { status: Status; awaitingAction: boolean } {
  if (raw === null) return { status: 'Unknown', awaitingAction: false };
  const k = raw.trim().toLowerCase();
  return { status: GRAPH_STATUS.get(k) ?? 'Unknown', awaitingAction: k === 'awaitingaction' };
}

// ---------------------------------------------------------------------------------------------
// severity

const SEVERITY = new Map<string, Severity>([
  ['informational', 'Informational'],
  ['low', 'Low'],
  ['medium', 'Medium'],
  ['high', 'High'],
]);

export function severityOf(raw: string | null): Severity {
  if (raw === null) return 'Unknown';
  return SEVERITY.get(raw.trim().toLowerCase()) ?? 'Unknown';
}

// ---------------------------------------------------------------------------------------------
// owner

const UNASSIGNED_WORDS = new Set(['', 'unassigned']);

export interface OwnerFields {
  assignedTo: string | null;
  userPrincipalName: string | null;
  objectId: string | null;
  email: string | null;
}

function blankToNull(v: string | null): string | null {
  if (v === null) return null;
  const t = v.trim();
  return t === '' ? null : t;
}

/**
 * "Defender Experts" and "Customer" are not directory users: they arrive as free text in
 * assignedTo, in any case. They are canonicalised so push and poll spell them the same.
 */
export function ownerOf(fields: OwnerFields): Owner {
  const assigned = blankToNull(fields.assignedTo);
  const upn = blankToNull(fields.userPrincipalName);
  const objectId = blankToNull(fields.objectId);
  const email = blankToNull(fields.email);
  const lowered = assigned?.toLowerCase() ?? '';
  if (lowered === DEFENDER_EXPERTS.toLowerCase()) {
    return { assignedTo: DEFENDER_EXPERTS, userPrincipalName: upn, objectId, email, kind: 'defender-experts' };
  }
  if (lowered === CUSTOMER.toLowerCase()) {
    return { assignedTo: CUSTOMER, userPrincipalName: upn, objectId, email, kind: 'customer' };
  }
  if (UNASSIGNED_WORDS.has(lowered) && upn === null && objectId === null && email === null) {
    return { assignedTo: null, userPrincipalName: null, objectId: null, email: null, kind: 'unassigned' };
  }
  const display = assigned !== null && !UNASSIGNED_WORDS.has(lowered) ? assigned : (upn ?? email ?? objectId);
  return { assignedTo: display, userPrincipalName: upn, objectId, email, kind: 'user' };
}

/**
 * One comparable identity per owner. A user is compared by UPN first: Sentinel shows a synced
 * owner's display name while Graph shows their UPN, and both must read as the same owner.
 */
export function ownerIdentity(o: Owner): string {
  if (o.kind !== 'user') return o.kind;
  const id = o.userPrincipalName ?? o.email ?? o.assignedTo ?? o.objectId ?? '';
  return `user:${id.trim().toLowerCase()}`;
}

// ---------------------------------------------------------------------------------------------
// classification

const CLASSIFICATION = new Map<string, string | null>([
  ['truepositive', 'TruePositive'],
  ['falsepositive', 'FalsePositive'],
  ['benignpositive', 'BenignPositive'],
  ['informationalexpectedactivity', 'InformationalExpectedActivity'],
  ['undetermined', 'Undetermined'],
  ['unknown', null],
  ['unknownfuturevalue', null],
]);

/** Known values in the kit's spelling; "unknown" means not classified; anything new kept as received. */
export function classificationOf(raw: string | null): string | null {
  const v = blankToNull(raw);
  if (v === null) return null;
  const k = v.toLowerCase();
  const known = CLASSIFICATION.get(k);
  return known === undefined ? v : known;
}

// ---------------------------------------------------------------------------------------------
// determination

/** Both generations of Graph's alertDetermination, in their camelCase spelling. */
const DETERMINATIONS = [
  'apt',
  'malware',
  'securityPersonnel',
  'securityTesting',
  'unwantedSoftware',
  'other',
  'multiStagedAttack',
  'phishing',
  'maliciousUserActivity',
  'lineOfBusinessApplication',
  // older generation
  'compromisedUser',
  'clean',
  'insufficientData',
  'confirmedUserActivity',
  // newer generation
  'compromisedAccount',
  'notMalicious',
  'notEnoughDataToValidate',
  'confirmedActivity',
] as const;

const DETERMINATION_BY_LOWER = new Map<string, string>(DETERMINATIONS.map((d) => [d.toLowerCase(), d]));

/** Old name → new name: the same verdict, renamed by Microsoft. */
const DETERMINATION_SUCCESSOR = new Map<string, string>([
  ['compromiseduser', 'compromisedAccount'],
  ['clean', 'notMalicious'],
  ['insufficientdata', 'notEnoughDataToValidate'],
  ['confirmeduseractivity', 'confirmedActivity'],
]);

export function determinationOf(raw: string | null): string | null {
  const v = blankToNull(raw);
  if (v === null) return null;
  const k = v.toLowerCase();
  if (k === 'unknown' || k === 'unknownfuturevalue') return null;
  return DETERMINATION_BY_LOWER.get(k) ?? v;
}

/** True when two determinations are the same verdict, across the two naming generations. */
export function sameDetermination(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  const current = (d: string): string => {
    const k = d.trim().toLowerCase();
    return (DETERMINATION_SUCCESSOR.get(k) ?? k).toLowerCase();
  };
  return current(a) === current(b);
}

// ---------------------------------------------------------------------------------------------
// tags

export function withAwaitingTag(tags: string[], awaiting: boolean): string[] {
  return awaiting ? uniqueCaseInsensitive([...tags, AWAITING_CUSTOMER_ACTION]) : tags;
}

// ---------------------------------------------------------------------------------------------
// misc

/** The `tid` query parameter of a Defender portal link, which is the only tenant hint a Sentinel body carries. */
export function tenantFromDefenderUrl(url: string | null): string | null {
  if (url === null) return null;
  try {
    const tid = new URL(url).searchParams.get('tid');
    return tid !== null && /^[0-9a-f-]{36}$/i.test(tid) ? tid : null;
  } catch {
    return null;
  }
}

export function numericId(id: string | null): number | null {
  if (id === null || !/^\d{1,15}$/.test(id)) return null;
  return Number(id);
}
