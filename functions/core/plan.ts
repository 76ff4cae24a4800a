/**
 * Step planning: matched playbooks → the deliveries to queue, each with its deterministic
 * idempotency key (design invariant 2: incident key + playbook + receiver + the change it reacts to).
 */
import { createHash } from 'node:crypto';
import type { KitConfig } from './config.js';
import type { DeliveryStep } from './delivery.js';
import { matchExclusions } from './exclusions.js';
import type { PlaybookMatch } from './match.js';
import type { Change, Incident } from './model.js';

/** Queue messages are ≤ 64 KiB after base64; long DE investigation summaries are cut here, not lost: the links lead to the full text. */
export const MAX_PLANNED_DESCRIPTION = 12_000;
const MAX_LIST = 50;

export function idempotencyKey(incidentKey: string, playbook: string, receiver: string, changeIds: readonly string[]): string {
  return createHash('sha256')
    .update([incidentKey, playbook, receiver, ...[...changeIds].sort()].join('\u0000'))
    .digest('hex');
}

/** The incident as carried on the queue: bounded in size so a hostile 1 MB description cannot break delivery. */
export function compactIncident(incident: Incident): Incident {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);
  return {
    ...incident,
    title: cut(incident.title, 2_000),
    description: cut(incident.description, MAX_PLANNED_DESCRIPTION),
    tags: incident.tags.slice(0, MAX_LIST).map((t) => cut(t, 256)),
    alerts: {
      count: incident.alerts.count,
      titles: incident.alerts.titles.slice(0, 20).map((t) => cut(t, 512)),
      products: incident.alerts.products.slice(0, 10).map((t) => cut(t, 256)),
      tactics: incident.alerts.tactics.slice(0, 20).map((t) => cut(t, 128)),
    },
    devices: incident.devices.slice(0, MAX_LIST).map((d) => ({ ...d, name: cut(d.name, 256) })),
    users: incident.users.slice(0, MAX_LIST).map((u) => ({ ...u, name: cut(u.name, 256) })),
    groups: incident.groups.slice(0, MAX_LIST).map((g) => cut(g, 256)),
  };
}

/**
 * One step per (receiver, kind of step, template) per event: when several playbooks fire on one event
 * (owner → Defender Experts and status → Active arrive together), a receiver gets one message listing
 * both changes, and a ticket gets one update — never two racing creates for the same ticket.
 */
export function planSteps(config: KitConfig, incident: Incident, matches: readonly PlaybookMatch[], now: Date): DeliveryStep[] {
  const exclusionMatches = matchExclusions(config.exclusions, incident);
  const guidanceOnly = exclusionMatches.length > 0;
  const compact = compactIncident(incident);
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
    return {
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
      incident: compact,
      plannedAt: now.toISOString(),
    };
  });
}
