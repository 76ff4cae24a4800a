/**
 * Step planning: matched playbooks → the deliveries to queue, each with its deterministic
 * idempotency key (design invariant 2: incident key + playbook + receiver + the change it reacts to).
 */
import { createHash } from 'node:crypto';
import type { KitConfig } from '../config/parse.js';
import type { DeliveryStep } from './delivery.js';
import { matchExclusions } from './exclusions.js';
import type { PlaybookMatch } from './match.js';
import type { Change, Incident } from './model.js';

export function idempotencyKey(incidentKey: string, playbook: string, receiver: string, changeIds: readonly string[]): string {
  return createHash('sha256')
    .update([incidentKey, playbook, receiver, ...[...changeIds].sort()].join('\u0000'))
    .digest('hex');
}

export interface IncidentLimits {
  title: number;
  description: number;
  /** [max items, max characters each] */
  tags: [number, number];
  alertTitles: [number, number];
  products: [number, number];
  tactics: [number, number];
  entities: [number, number];
  /** every other free-text field: closing comment, owner names, provider, links, ids */
  other: number;
}

/**
 * What the kit keeps of an incident (snapshot and diffing): attacker-sized input — a 1 MB description,
 * 3,000 labels — must never make a snapshot too large to store, which would wedge the incident.
 */
export const SNAPSHOT_LIMITS: IncidentLimits = {
  title: 2_000,
  description: 12_000,
  tags: [100, 256],
  alertTitles: [50, 512],
  products: [20, 256],
  tactics: [30, 128],
  entities: [100, 256],
  other: 2_000,
};

/** What a queued step carries: a Storage Queue message is ≤ 64 KiB after base64; the links lead to the full text. */
export const QUEUE_LIMITS: IncidentLimits = {
  title: 1_000,
  description: 6_000,
  tags: [30, 128],
  alertTitles: [15, 256],
  products: [8, 128],
  tactics: [15, 64],
  entities: [25, 128],
  other: 1_000,
};
export const MAX_PLANNED_DESCRIPTION = QUEUE_LIMITS.description;

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, Math.max(0, n - 1))}…` : s);
const cutList = (xs: string[], [items, chars]: [number, number]) => xs.slice(0, items).map((x) => cut(x, chars));
const scale = ([items, chars]: [number, number], f: number): [number, number] => [Math.max(1, Math.floor(items * f)), Math.max(16, Math.floor(chars * f))];

export function boundIncident(incident: Incident, limits: IncidentLimits): Incident {
  const [items, chars] = limits.entities;
  const o = limits.other;
  const opt = (v: string | null) => (v === null ? null : cut(v, o));
  return {
    ...incident,
    rawStatus: incident.rawStatus === null ? null : cut(incident.rawStatus, 64),
    owner: {
      ...incident.owner,
      assignedTo: opt(incident.owner.assignedTo),
      userPrincipalName: opt(incident.owner.userPrincipalName),
      objectId: opt(incident.owner.objectId),
      email: opt(incident.owner.email),
    },
    classification: opt(incident.classification),
    classificationReason: opt(incident.classificationReason),
    determination: opt(incident.determination),
    classificationComment: opt(incident.classificationComment),
    provider: opt(incident.provider),
    links: { sentinel: opt(incident.links.sentinel), defender: opt(incident.links.defender) },
    ids: {
      xdrIncidentId: opt(incident.ids.xdrIncidentId),
      sentinelName: opt(incident.ids.sentinelName),
      sentinelArmId: opt(incident.ids.sentinelArmId),
      tenantId: opt(incident.ids.tenantId),
      workspaceId: opt(incident.ids.workspaceId),
    },
    createdAt: incident.createdAt === null ? null : cut(incident.createdAt, 64),
    updatedAt: incident.updatedAt === null ? null : cut(incident.updatedAt, 64),
    title: cut(incident.title, limits.title),
    description: cut(incident.description, limits.description),
    tags: cutList(incident.tags, limits.tags),
    alerts: {
      count: incident.alerts.count,
      titles: cutList(incident.alerts.titles, limits.alertTitles),
      products: cutList(incident.alerts.products, limits.products),
      tactics: cutList(incident.alerts.tactics, limits.tactics),
    },
    devices: incident.devices.slice(0, items).map((d) => ({ ...d, name: cut(d.name, chars), id: d.id === null ? null : cut(d.id, chars) })),
    users: incident.users.slice(0, items).map((u) => ({
      ...u,
      name: cut(u.name, chars),
      userPrincipalName: u.userPrincipalName === null ? null : cut(u.userPrincipalName, chars),
      objectId: u.objectId === null ? null : cut(u.objectId, chars),
    })),
    groups: cutList(incident.groups, limits.entities),
  };
}

/** The incident as carried on the queue (kept for callers that want the default queue bound). */
export function compactIncident(incident: Incident): Incident {
  return boundIncident(incident, QUEUE_LIMITS);
}

/** Base64 text the queue will hold for this step; the budget leaves room for the envelope. */
const QUEUE_BUDGET_CHARS = 60_000;
function encodedSize(step: DeliveryStep): number {
  return Math.ceil((Buffer.byteLength(JSON.stringify({ step, attempt: 99 }), 'utf8') * 4) / 3);
}

/** Shrinks a step's incident (and over-long change values) until its queue message fits, whatever the input. */
export function fitForQueue(step: DeliveryStep): DeliveryStep {
  // every change is kept (their ids are the idempotency key); only over-long values are shortened
  const cutValues = (n: number) => step.changes.map((c) => ({ ...c, from: c.from === null ? null : cut(c.from, n), to: c.to === null ? null : cut(c.to, n) }));
  let fitted: DeliveryStep = { ...step, changes: cutValues(256), incident: boundIncident(step.incident, QUEUE_LIMITS) };
  for (let f = 0.5; encodedSize(fitted) > QUEUE_BUDGET_CHARS && f > 0.01; f /= 2) {
    const limits: IncidentLimits = {
      other: Math.max(32, Math.floor(QUEUE_LIMITS.other * f)),
      title: Math.floor(QUEUE_LIMITS.title * f),
      description: Math.floor(QUEUE_LIMITS.description * f),
      tags: scale(QUEUE_LIMITS.tags, f),
      alertTitles: scale(QUEUE_LIMITS.alertTitles, f),
      products: scale(QUEUE_LIMITS.products, f),
      tactics: scale(QUEUE_LIMITS.tactics, f),
      entities: scale(QUEUE_LIMITS.entities, f),
    };
    fitted = { ...fitted, changes: cutValues(Math.max(32, Math.floor(256 * f))), incident: boundIncident(step.incident, limits) };
  }
  return fitted;
}

/**
 * One step per (receiver, kind of step, template) per event: when several playbooks fire on one event
 * (owner → Defender Experts and status → Active arrive together), a receiver gets one message listing
 * both changes, and a ticket gets one update — never two racing creates for the same ticket.
 */
export function planSteps(config: KitConfig, incident: Incident, matches: readonly PlaybookMatch[], now: Date): DeliveryStep[] {
  const exclusionMatches = matchExclusions(config.exclusions, incident);
  const guidanceOnly = exclusionMatches.length > 0;
  interface Group {
    receiver: string;
    kind: DeliveryStep['kind'];
    stepType: DeliveryStep['stepType'];
    ticketAction: DeliveryStep['ticketAction'];
    template: string;
    playbooks: string[];
    changes: Change[];
  }
  const groups = new Map<string, Group>();
  for (const { playbook, changes } of matches) {
    for (const step of playbook.steps) {
      const receivers = 'notify' in step ? (Array.isArray(step.notify) ? step.notify : [step.notify]) : [step.ticket];
      for (const name of receivers) {
        const receiver = config.receivers[name];
        if (!receiver) continue; // crossCheck reports it; planning never invents a receiver
        const stepType = 'notify' in step ? 'notify' : 'ticket';
        const groupKey = stepType === 'ticket' ? `ticket\u0000${name}` : `notify\u0000${name}\u0000${step.template}`;
        let g = groups.get(groupKey);
        if (!g) {
          g = { receiver: name, kind: receiver.kind, stepType, ticketAction: null, template: step.template, playbooks: [], changes: [] };
          groups.set(groupKey, g);
        }
        if (!g.playbooks.includes(playbook.name)) g.playbooks.push(playbook.name);
        for (const c of changes) if (!g.changes.some((x) => x.id === c.id)) g.changes.push(c);
        if (!('notify' in step)) g.ticketAction = g.ticketAction === 'resolve' || step.action === 'resolve' ? 'resolve' : 'upsert';
      }
    }
  }
  return [...groups.values()].map((g) => {
    const playbook = g.playbooks.join('+');
    return fitForQueue({
      idempotencyKey: idempotencyKey(incident.key, playbook, g.receiver, g.changes.map((c) => c.id)),
      incidentKey: incident.key,
      playbook,
      receiver: g.receiver,
      kind: g.kind,
      stepType: g.stepType,
      ticketAction: g.ticketAction,
      template: g.template,
      changes: g.changes,
      guidanceOnly,
      exclusionMatches,
      incident,
      plannedAt: now.toISOString(),
    });
  });
}
