/**
 * Made-up steps a JSON part is rendered with when the templates are compiled, so a template that
 * can produce invalid JSON is reported once, at load, at its own line and column — not once per
 * delivery at a position in the rendered output. Between them they make every `{{#if}}` the
 * shipped templates use go both ways: everything present, everything absent, and each moment.
 */
import type { ReceiverKind } from '../config/schema.js';
import type { DeliveryStep } from '../core/delivery.js';
import type { Change, Incident } from '../core/model.js';
import type { RenderOptions } from './context.js';

const FULL: Incident = {
  key: '4711',
  source: 'sentinel',
  ids: { xdrIncidentId: '4711', sentinelName: '0b7d0c1e-0000-4c7d-9e10-2b4f6a8c0d12', sentinelArmId: '/subscriptions/x', tenantId: 't', workspaceId: 'w' },
  number: 4711,
  title: 'Probe incident',
  description: 'Probe description',
  severity: 'High',
  status: 'Closed',
  rawStatus: 'resolved',
  owner: { assignedTo: 'Customer', userPrincipalName: 'soc@contoso.com', objectId: 'o', email: 'soc@contoso.com', kind: 'customer' },
  tags: ['Defender Experts', 'Awaiting Customer Action'],
  classification: 'TruePositive',
  classificationReason: 'SuspiciousActivity',
  determination: 'malware',
  classificationComment: 'Probe comment',
  provider: 'Microsoft Defender XDR',
  links: { sentinel: 'https://portal.azure.com/#probe', defender: 'https://security.microsoft.com/incidents/4711' },
  createdAt: '2026-11-26T08:00:00.000Z',
  updatedAt: '2026-11-26T09:00:00.000Z',
  firstActivityAt: '2026-11-26T07:55:00.000Z',
  lastActivityAt: '2026-11-26T08:40:00.000Z',
  alerts: { count: 2, titles: ['Probe alert', 'Second alert'], products: ['Microsoft Defender for Endpoint'], tactics: ['InitialAccess'] },
  devices: [{ name: 'WS-01', id: 'd' }],
  users: [{ name: 'Alex', userPrincipalName: 'alex@contoso.com', objectId: 'u' }],
  groups: ['Domain Admins'],
};

const EMPTY: Incident = {
  ...FULL,
  ids: { xdrIncidentId: null, sentinelName: null, sentinelArmId: null, tenantId: null, workspaceId: null },
  number: null,
  description: '',
  severity: 'Unknown',
  status: 'New',
  rawStatus: null,
  owner: { assignedTo: null, userPrincipalName: null, objectId: null, email: null, kind: 'unassigned' },
  tags: [],
  classification: null,
  classificationReason: null,
  determination: null,
  classificationComment: null,
  provider: null,
  links: { sentinel: null, defender: null },
  createdAt: null,
  updatedAt: null,
  firstActivityAt: null,
  lastActivityAt: null,
  alerts: { count: 0, titles: [], products: [], tactics: [] },
  devices: [],
  users: [],
  groups: [],
};

const MOMENTS: Change[] = [
  { kind: 'owner', from: null, to: 'Defender Experts', id: 'owner:defender experts#1' },
  { kind: 'owner', from: 'Defender Experts', to: 'Customer', id: 'owner:customer#1' },
  { kind: 'status', from: 'New', to: 'Active', id: 'status:active#1' },
  { kind: 'status', from: 'Active', to: 'Closed', id: 'status:closed#1' },
  { kind: 'tag-added', from: null, to: 'Awaiting Customer Action', id: 'tag-added:awaiting customer action#1' },
  { kind: 'severity', from: 'Low', to: 'High', id: 'severity:high#1' },
];

export function probeSteps(kind: ReceiverKind, template: string): Array<{ step: DeliveryStep; options: RenderOptions }> {
  const step = (incident: Incident, changes: Change[], guidanceOnly: boolean): DeliveryStep => ({
    idempotencyKey: 'probe',
    incidentKey: incident.key,
    playbook: 'probe',
    receiver: 'probe',
    kind,
    stepType: 'notify',
    ticketAction: null,
    template,
    changes,
    guidanceOnly,
    exclusionMatches: guidanceOnly ? ['device:WS-01'] : [],
    incident,
    plannedAt: '2026-11-26T09:00:00.000Z',
  });
  const ticket = { receiver: 'probe', incidentKey: '4711', id: '1', key: 'SOC-1', url: 'https://contoso.atlassian.net/browse/SOC-1', state: 'open' as const };
  return [
    { step: step(FULL, MOMENTS.slice(0, 3), true), options: { receiverName: 'probe', ticket, exclusionReason: 'probe reason' } },
    { step: step(EMPTY, [], false), options: { receiverName: 'probe', ticket: null } },
    ...MOMENTS.map((c) => ({ step: step(EMPTY, [c], false), options: { receiverName: 'probe', ticket: null } })),
    ...MOMENTS.map((c) => ({ step: step(FULL, [c], false), options: { receiverName: 'probe', ticket: null } })),
  ];
}
