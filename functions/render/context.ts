/**
 * The data every template renders from (documented in docs/TEMPLATES.md). Built from the delivery
 * step alone, so a retry renders exactly what the first attempt rendered.
 */
import type { ReceiverKind } from '../config/schema.js';
import type { DeliveryStep, TicketRef } from '../core/delivery.js';
import { AWAITING_CUSTOMER_ACTION, CUSTOMER, DEFENDER_EXPERTS, type Change, type Incident } from '../core/model.js';
import { humanValue } from './words.js';

export const KIT_NAME = 'Sentinel Playbook Kit';
export const KIT_VERSION = '0.1.0';

export interface RenderOptions {
  receiverName: string;
  ticket: TicketRef | null;
  /** the moment `now` and `since` refer to; defaults to when the step was planned, so retries render the same */
  now?: Date;
  /** the exclusions file's `reason`, shown next to "manual action required" */
  exclusionReason?: string;
  kit?: { name: string; version: string };
}

/** The five moments the shipped templates are written for; `other` for everything else. */
export type Moment =
  | 'owner-defender-experts'
  | 'owner-customer'
  | 'awaiting-customer-action'
  | 'status-active'
  | 'status-closed'
  | 'other';

export interface ContextChange {
  kind: Change['kind'];
  from: string | null;
  to: string | null;
  id: string;
  summary: string;
  /** a few words for an SMS: `owner now Customer`, `classified as benign positive` */
  short: string;
}

export interface TemplateContext {
  incident: Incident;
  /** Defender's incident page when there is one (Defender Experts work there), else Sentinel's */
  incidentUrl: string | null;
  /** The shortest link to the incident: Defender's `/incidents/<id>` when it has a Defender XDR id */
  shortUrl: string | null;
  /** where `incidentUrl` leads, in words */
  incidentPortal: 'Microsoft Defender' | 'Microsoft Sentinel' | null;
  changes: ContextChange[];
  change: ContextChange | null;
  /** the changes the headline does not name, so a message can name them too */
  otherChanges: ContextChange[];
  /** every change in words, the headline's first */
  allChanges: string;
  headline: string;
  moment: Moment;
  playbook: string;
  receiver: { name: string; kind: ReceiverKind };
  guidanceOnly: boolean;
  manualActionRequired: boolean;
  exclusionMatches: string[];
  exclusionReason: string | null;
  ticket: { id: string; key: string | null; url: string | null } | null;
  kit: { name: string; version: string };
  now: string;
}

const same = (a: string | null, b: string) => (a ?? '').trim().toLowerCase() === b.toLowerCase();

/** "Owner changed to Defender Experts", "Status changed from Active to Closed", "Tag "X" added" */
export function describeChange(c: { kind: string; from: string | null; to: string | null }): string {
  const from = c.from === null || c.from === '' ? null : humanValue(c.kind, c.from);
  const to = c.to === null || c.to === '' ? null : humanValue(c.kind, c.to);
  const fromTo = (what: string) => (to === null ? `${what} cleared` : from ? `${what} changed from ${from} to ${to}` : `${what} changed to ${to}`);
  switch (c.kind) {
    case 'owner':
      return to ? fromTo('Owner') : 'Owner removed (unassigned)';
    case 'status':
      return fromTo('Status');
    case 'severity':
      return fromTo('Severity');
    case 'tag-added':
      return `Tag "${c.to ?? c.from ?? ''}" added`;
    case 'tag-removed':
      return `Tag "${c.from ?? c.to ?? ''}" removed`;
    case 'classification':
      return to ? `Classified as ${to}` : 'Classification cleared';
    case 'determination':
      return to ? `Determination set to ${to}` : 'Determination cleared';
    default:
      return fromTo(humanValue(c.kind, c.kind));
  }
}

/** Values in an SMS are capped: one 200-character tag name must not cost the reader a segment. */
const SHORT_VALUE = 24;
const cap = (s: string) => {
  const runes = Array.from(s);
  return runes.length <= SHORT_VALUE ? s : `${runes.slice(0, SHORT_VALUE - 1).join('').trimEnd()}…`;
};

/** "owner now Customer", "tag "Awaiting Customer Action" added", "classified as benign positive" */
export function describeChangeShort(c: { kind: string; from: string | null; to: string | null }): string {
  const to = c.to === null || c.to === '' ? null : cap(humanValue(c.kind, c.to));
  switch (c.kind) {
    case 'owner':
      return to ? `owner now ${to}` : 'owner removed';
    case 'status':
    case 'severity':
      return to ? `${c.kind} now ${to}` : `${c.kind} cleared`;
    case 'tag-added':
      return `tag "${cap(c.to ?? c.from ?? '')}" added`;
    case 'tag-removed':
      return `tag "${cap(c.from ?? c.to ?? '')}" removed`;
    case 'classification':
      return to ? `classified as ${to}` : 'classification cleared';
    case 'determination':
      return to ? `determination ${to}` : 'determination cleared';
    default:
      return to ? `${humanValue(c.kind, c.kind)} now ${to}` : `${humanValue(c.kind, c.kind)} cleared`;
  }
}

/**
 * The merged view can name one machine twice (`SRV-DC01` from Sentinel, `SRV-DC01.contoso.com` from
 * Graph), and each matches the exclusion: a reader needs to hear about the machine once.
 */
export function distinctExclusionMatches(matches: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of matches) {
    const hit = /^(device|user|group):(.*?)(?: \((.*)\))?$/s.exec(m);
    const kind = hit?.[1];
    const label = (hit?.[2] ?? m).trim().toLowerCase();
    const key = kind === 'device' ? `device:${label.split('.')[0]}` : kind ? `${kind}:${label}` : m.trim().toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(m);
  }
  return out;
}

/** "Owner changed…" → "owner changed…" after a "; "; a quoted tag name keeps its case */
const lowerFirst = (s: string) => (/^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s);

function momentOf(c: Change): Moment {
  if (c.kind === 'tag-added' && same(c.to, AWAITING_CUSTOMER_ACTION)) return 'awaiting-customer-action';
  if (c.kind === 'owner' && same(c.to, CUSTOMER)) return 'owner-customer';
  if (c.kind === 'owner' && same(c.to, DEFENDER_EXPERTS)) return 'owner-defender-experts';
  if (c.kind === 'status' && same(c.to, 'Closed')) return 'status-closed';
  if (c.kind === 'status' && same(c.to, 'Active')) return 'status-active';
  return 'other';
}

/** When one step reacts to several changes, the one asking most of the customer names the moment. */
const MOMENT_PRIORITY: Moment[] = [
  'awaiting-customer-action',
  'owner-customer',
  'status-closed',
  'owner-defender-experts',
  'status-active',
  'other',
];

function safeLink(url: string | null | undefined): string | null {
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) return null;
  try {
    return new URL(url).href === '' ? null : url;
  } catch {
    return null;
  }
}

/** Defender XDR incident ids are numbers; anything else would not be a safe path segment. */
export function shortDefenderUrl(xdrIncidentId: string | null | undefined): string | null {
  return typeof xdrIncidentId === 'string' && /^\d{1,20}$/.test(xdrIncidentId) ? `https://security.microsoft.com/incidents/${xdrIncidentId}` : null;
}

function nowOf(step: DeliveryStep, options: RenderOptions): Date {
  if (options.now && !Number.isNaN(options.now.getTime())) return options.now;
  const planned = new Date(step.plannedAt);
  return Number.isNaN(planned.getTime()) ? new Date(0) : planned;
}

export function templateContext(step: DeliveryStep, options: RenderOptions): TemplateContext {
  const incident: Incident = {
    ...step.incident,
    links: { sentinel: safeLink(step.incident.links.sentinel), defender: safeLink(step.incident.links.defender) },
  };
  const changes: ContextChange[] = step.changes.map((c) => ({
    kind: c.kind,
    from: c.from,
    to: c.to,
    id: c.id,
    summary: describeChange(c),
    short: describeChangeShort(c),
  }));
  const moments = step.changes.map(momentOf);
  const moment = MOMENT_PRIORITY.find((m) => moments.includes(m)) ?? 'other';
  const lead = step.changes[moments.indexOf(moment)];
  const headline = lead
    ? describeChange(lead) + (changes.length > 1 ? ` (+${changes.length - 1} more)` : '')
    : `Incident ${incident.number ?? incident.key} updated`;
  const leadIndex = lead ? moments.indexOf(moment) : -1;
  const ordered = leadIndex >= 0 ? [changes[leadIndex]!, ...changes.filter((_, i) => i !== leadIndex)] : changes;
  const ticket = options.ticket;
  const incidentUrl = incident.links.defender ?? incident.links.sentinel;
  return {
    incident,
    incidentUrl,
    shortUrl: shortDefenderUrl(incident.ids.xdrIncidentId),
    incidentPortal: incident.links.defender ? 'Microsoft Defender' : incident.links.sentinel ? 'Microsoft Sentinel' : null,
    changes,
    change: changes[0] ?? null,
    otherChanges: ordered.slice(1),
    allChanges: ordered.map((c, i) => (i === 0 ? c.summary : lowerFirst(c.summary))).join('; '),
    headline,
    moment,
    playbook: step.playbook,
    receiver: { name: options.receiverName, kind: step.kind },
    guidanceOnly: step.guidanceOnly,
    manualActionRequired: step.guidanceOnly,
    exclusionMatches: distinctExclusionMatches(step.exclusionMatches),
    exclusionReason: options.exclusionReason ?? null,
    ticket: ticket ? { id: ticket.id, key: ticket.key, url: safeLink(ticket.url) } : null,
    kit: options.kit ?? { name: KIT_NAME, version: KIT_VERSION },
    now: nowOf(step, options).toISOString(),
  };
}
