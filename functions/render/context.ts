/**
 * The data every template renders from (documented in docs/TEMPLATES.md). Built from the delivery
 * step alone, so a retry renders exactly what the first attempt rendered.
 */
import type { ReceiverKind } from '../core/config-schema.js';
import type { DeliveryStep, TicketRef } from '../core/delivery.js';
import { AWAITING_CUSTOMER_ACTION, CUSTOMER, DEFENDER_EXPERTS, type Change, type Incident } from '../core/model.js';

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
}

export interface TemplateContext {
  incident: Incident;
  /** Defender's incident page when there is one (Defender Experts work there), else Sentinel's */
  incidentUrl: string | null;
  changes: ContextChange[];
  change: ContextChange | null;
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
  const fromTo = (what: string) =>
    c.to === null || c.to === ''
      ? `${what} cleared`
      : c.from
        ? `${what} changed from ${c.from} to ${c.to}`
        : `${what} changed to ${c.to}`;
  switch (c.kind) {
    case 'owner':
      return c.to ? fromTo('Owner') : 'Owner removed (unassigned)';
    case 'status':
      return fromTo('Status');
    case 'severity':
      return fromTo('Severity');
    case 'tag-added':
      return `Tag "${c.to ?? c.from ?? ''}" added`;
    case 'tag-removed':
      return `Tag "${c.from ?? c.to ?? ''}" removed`;
    case 'classification':
      return c.to ? `Classified as ${c.to}` : 'Classification cleared';
    case 'determination':
      return c.to ? `Determination set to ${c.to}` : 'Determination cleared';
    default:
      return fromTo(c.kind);
  }
}

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
  }));
  const moments = step.changes.map(momentOf);
  const moment = MOMENT_PRIORITY.find((m) => moments.includes(m)) ?? 'other';
  const lead = step.changes[moments.indexOf(moment)];
  const headline = lead
    ? describeChange(lead) + (changes.length > 1 ? ` (+${changes.length - 1} more)` : '')
    : `Incident ${incident.number ?? incident.key} updated`;
  const ticket = options.ticket;
  return {
    incident,
    incidentUrl: incident.links.defender ?? incident.links.sentinel,
    changes,
    change: changes[0] ?? null,
    headline,
    moment,
    playbook: step.playbook,
    receiver: { name: options.receiverName, kind: step.kind },
    guidanceOnly: step.guidanceOnly,
    manualActionRequired: step.guidanceOnly,
    exclusionMatches: [...step.exclusionMatches],
    exclusionReason: options.exclusionReason ?? null,
    ticket: ticket ? { id: ticket.id, key: ticket.key, url: safeLink(ticket.url) } : null,
    kit: options.kit ?? { name: KIT_NAME, version: KIT_VERSION },
    now: nowOf(step, options).toISOString(),
  };
}
