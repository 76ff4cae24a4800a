/**
 * A built-in sample incident and the five seed moments, for `spk validate` (render every template
 * once) and `spk render` / `spk routes test` when no event file is given.
 */
import type { KitConfig } from '../config/parse.js';
import { matchPlaybooks } from '../core/match.js';
import { planSteps } from '../core/plan.js';
import type { DeliveryStep } from '../core/delivery.js';
import { AWAITING_CUSTOMER_ACTION, CUSTOMER, DEFENDER_EXPERTS, type Change, type Incident } from '../core/model.js';

export const SAMPLE_INCIDENT: Incident = {
  key: '4711',
  source: 'sentinel',
  ids: { xdrIncidentId: '4711', sentinelName: '0b7d0c1e-1111-4c7d-9e10-2b4f6a8c0d12', sentinelArmId: null, tenantId: null, workspaceId: null },
  number: 4711,
  title: 'Multi-stage incident involving Initial access & Command and control on one endpoint',
  description: 'Defender Experts observed Raspberry Robin activity spreading through an infected USB drive.',
  severity: 'High',
  status: 'Active',
  rawStatus: 'Active',
  owner: { assignedTo: DEFENDER_EXPERTS, userPrincipalName: null, objectId: null, email: null, kind: 'defender-experts' },
  tags: ['Defender Experts'],
  classification: null,
  classificationReason: null,
  determination: null,
  classificationComment: null,
  provider: 'Microsoft Defender XDR',
  links: { sentinel: 'https://portal.azure.com/#blade/Microsoft_Azure_Security_Insights/Incident/4711', defender: 'https://security.microsoft.com/incidents/4711' },
  createdAt: '2026-11-26T08:00:00.000Z',
  updatedAt: '2026-11-26T09:00:00.000Z',
  firstActivityAt: '2026-11-26T07:55:00.000Z',
  lastActivityAt: '2026-11-26T08:40:00.000Z',
  alerts: { count: 1, titles: ['Suspicious USB activity'], products: ['Microsoft Defender for Endpoint'], tactics: ['InitialAccess'] },
  devices: [{ name: 'WS-FIN-042', id: null }],
  users: [{ name: 'Alex Wilber', userPrincipalName: 'alexw@contoso.com', objectId: null }],
  groups: [],
};

export const SEED_MOMENTS: ReadonlyArray<{ name: string; change: Change }> = [
  { name: 'owner → Defender Experts', change: { kind: 'owner', from: null, to: DEFENDER_EXPERTS, id: 'owner:defender experts#1' } },
  { name: 'owner → Customer', change: { kind: 'owner', from: DEFENDER_EXPERTS, to: CUSTOMER, id: 'owner:customer#1' } },
  { name: 'status → Active', change: { kind: 'status', from: 'New', to: 'Active', id: 'status:active#1' } },
  { name: 'status → Closed', change: { kind: 'status', from: 'Active', to: 'Closed', id: 'status:closed#1' } },
  { name: `tag "${AWAITING_CUSTOMER_ACTION}" added`, change: { kind: 'tag-added', from: null, to: AWAITING_CUSTOMER_ACTION, id: 'tag-added:awaiting customer action#1' } },
];

/** every step the config would plan for each seed moment, plus the same steps in guidance-only form */
export function sampleSteps(config: KitConfig): DeliveryStep[] {
  const now = new Date('2026-11-26T09:00:00.000Z');
  const steps: DeliveryStep[] = [];
  for (const { change } of SEED_MOMENTS) {
    const matches = matchPlaybooks(config.playbooks, SAMPLE_INCIDENT, [change]);
    for (const s of planSteps(config, SAMPLE_INCIDENT, matches, now)) {
      steps.push(s, { ...s, guidanceOnly: true, exclusionMatches: ['device:WS-FIN-042'] });
    }
  }
  return steps;
}
