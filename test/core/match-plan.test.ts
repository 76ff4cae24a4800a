import { describe, expect, it } from 'vitest';
import { matchPlaybooks, triggerMatches } from '../../functions/core/match.js';
import { idempotencyKey, planSteps, compactIncident, MAX_PLANNED_DESCRIPTION } from '../../functions/core/plan.js';
import { globToRegExp, matchExclusions } from '../../functions/core/exclusions.js';
import { playbookSchema, type PlaybookConfig, type Trigger } from '../../functions/config/schema.js';
import type { KitConfig } from '../../functions/config/parse.js';
import type { Change, IncidentEvent } from '../../functions/core/model.js';
import { planEvent } from '../../functions/core/plan-event.js';
import { SNAPSHOT_LIMITS } from '../../functions/core/plan.js';
import { makeIncident } from '../fixtures/incident.js';

const change = (kind: Change['kind'], to: string | null, from: string | null = null, n = 1): Change => ({
  kind,
  from,
  to,
  id: `${kind}:${(to ?? from ?? '').toLowerCase()}#${n}`,
});

function playbook(name: string, on: Record<string, unknown>, steps: unknown[] = [{ ticket: 'soc-jira' }]): PlaybookConfig {
  return { ...playbookSchema.parse({ on, steps }), name, file: `playbooks/${name}.yaml` };
}

describe('trigger matching', () => {
  it.each<[string, Trigger, Change, boolean]>([
    ['owner to Defender Experts, any case', { ownerChangedTo: 'defender experts' }, change('owner', 'Defender Experts'), true],
    ['owner to Customer is not Defender Experts', { ownerChangedTo: 'Defender Experts' }, change('owner', 'Customer'), false],
    ['owner list', { ownerChangedTo: ['Customer', 'Defender Experts'] }, change('owner', 'Customer'), true],
    ['owner cleared does not match', { ownerChangedTo: 'Customer' }, change('owner', null, 'Customer'), false],
    ['status to Closed', { statusChangedTo: 'Closed' }, change('status', 'Closed', 'Active'), true],
    ['status to Active is not Closed', { statusChangedTo: 'Closed' }, change('status', 'Active', 'New'), false],
    ['tag added', { tagAdded: 'Awaiting Customer Action' }, change('tag-added', 'awaiting customer action'), true],
    ['another tag added', { tagAdded: 'Awaiting Customer Action' }, change('tag-added', 'USB'), false],
    ['tag removed', { tagRemoved: 'Awaiting Customer Action' }, change('tag-removed', null, 'Awaiting Customer Action'), true],
    ['severity raised across the floor', { severityRaisedTo: 'High' }, change('severity', 'High', 'Medium'), true],
    ['severity already above the floor', { severityRaisedTo: 'Medium' }, change('severity', 'High', 'Medium'), false],
    ['severity lowered', { severityRaisedTo: 'Medium' }, change('severity', 'Low', 'High'), false],
    ['classification any', { classificationSet: true }, change('classification', 'TruePositive'), true],
    ['determination by value', { classificationSet: ['malware'] }, change('determination', 'Malware'), true],
    ['classification other value', { classificationSet: ['FalsePositive'] }, change('classification', 'TruePositive'), false],
  ])('%s', (_name, on, c, expected) => {
    expect(triggerMatches(on, c)).toBe(expected);
  });
});

describe('playbook matching', () => {
  const incident = makeIncident({ severity: 'Medium', provider: 'Microsoft Defender XDR' });
  const playbooks = [
    playbook('customer', { ownerChangedTo: 'Customer' }),
    playbook('customer-high', { ownerChangedTo: 'Customer', severityAtLeast: 'High' }),
    playbook('graph-only', { ownerChangedTo: 'Customer', source: 'graph' }),
    playbook('xdr-only', { statusChangedTo: 'Closed', provider: 'microsoft defender xdr' }),
    playbook('disabled', { ownerChangedTo: 'Customer' }),
    playbook('title', { statusChangedTo: 'Closed', titleMatches: '^ransom' }),
  ];
  playbooks[4]!.enabled = false;

  it('fires on triggers and honours every filter', () => {
    const m = matchPlaybooks(playbooks, incident, [change('owner', 'Customer'), change('status', 'Closed', 'Active')]);
    expect(m.map((x) => x.playbook.name)).toEqual(['customer', 'xdr-only']);
    expect(m[0]!.changes.map((c) => c.kind)).toEqual(['owner']);
  });

  it('matches nothing when no change fires a trigger', () => {
    expect(matchPlaybooks(playbooks, incident, [change('tag-added', 'USB')])).toEqual([]);
  });
});

describe('planning', () => {
  const config: KitConfig = {
    receivers: {
      'soc-teams': { kind: 'teams' },
      'soc-jira': { kind: 'jira', project: 'SOC', issueType: 'Task', doneTransition: 'Done', labels: [] },
    },
    playbooks: [
      playbook('awaiting', { tagAdded: 'Awaiting Customer Action' }, [
        { notify: ['soc-teams'], template: 'incident-change' },
        { ticket: 'soc-jira' },
      ]),
      playbook('closed', { statusChangedTo: 'Closed' }, [{ ticket: 'soc-jira', action: 'resolve' }]),
    ],
    exclusions: { devices: ['SRV-DC*'], users: [], groups: [] },
  };
  const now = new Date('2026-11-26T10:00:00Z');

  it('plans one step per receiver with a deterministic key', () => {
    const incident = makeIncident();
    const changes = [change('tag-added', 'Awaiting Customer Action')];
    const matches = matchPlaybooks(config.playbooks, incident, changes);
    const a = planSteps(config, incident, matches, now);
    const b = planSteps(config, incident, matches, new Date('2027-01-01T00:00:00Z'));
    expect(a.map((s) => [s.receiver, s.stepType, s.ticketAction])).toEqual([
      ['soc-teams', 'notify', null],
      ['soc-jira', 'ticket', 'upsert'],
    ]);
    expect(a.map((s) => s.idempotencyKey)).toEqual(b.map((s) => s.idempotencyKey));
    expect(a[1]!.idempotencyKey).toBe(idempotencyKey(incident.key, 'awaiting', 'soc-jira', ['tag-added:awaiting customer action#1']));
    expect(a.every((s) => !s.guidanceOnly)).toBe(true);
  });

  it('gives a repeat of the same move a new key', () => {
    const incident = makeIncident();
    const first = planSteps(config, incident, matchPlaybooks(config.playbooks, incident, [change('status', 'Closed', 'Active', 1)]), now);
    const second = planSteps(config, incident, matchPlaybooks(config.playbooks, incident, [change('status', 'Closed', 'Active', 2)]), now);
    expect(first[0]!.idempotencyKey).not.toBe(second[0]!.idempotencyKey);
  });

  it('marks every step guidance-only when an excluded device is involved', () => {
    const incident = makeIncident({ devices: [{ name: 'srv-dc01.contoso.com', id: null }] });
    const steps = planSteps(config, incident, matchPlaybooks(config.playbooks, incident, [change('tag-added', 'Awaiting Customer Action')]), now);
    expect(steps.every((s) => s.guidanceOnly)).toBe(true);
    expect(steps[0]!.exclusionMatches).toEqual(['device:srv-dc01.contoso.com (SRV-DC*)']);
  });

  describe('planEvent: what ingest and the CLI plan for one event', () => {
    const at = (minute: number) => `2026-11-26T10:${String(minute).padStart(2, '0')}:00.000Z`;
    const event = (minute: number, overrides: Parameters<typeof makeIncident>[0]): IncidentEvent => ({
      incident: makeIncident({ updatedAt: at(minute), ...overrides }),
      updates: null,
      eventId: null,
    });

    it('plans on the merged view: a later event without devices still honours the excluded device an earlier one named', () => {
      const first = planEvent(config, null, event(0, { devices: [{ name: 'SRV-DC01', id: null }], tags: [] }), now, { fingerprint: 'a' });
      const later = planEvent(config, first.snapshot, event(5, { devices: [], tags: ['Awaiting Customer Action'] }), now, { fingerprint: 'b' });
      expect(later.changes.map((c) => c.id)).toEqual(['tag-added:awaiting customer action#1']);
      expect(later.view.devices.map((d) => d.name)).toEqual(['SRV-DC01']);
      expect(later.steps.length).toBe(2);
      expect(later.steps.every((st) => st.guidanceOnly)).toBe(true);
    });

    it('merges the steps of two playbooks that reach one receiver, and names both', () => {
      const plan = planEvent(config, null, event(0, { tags: ['Awaiting Customer Action'], status: 'Closed' }), now);
      expect(plan.matches.map((m) => m.playbook.name).sort()).toEqual(['awaiting', 'closed']);
      const jira = plan.steps.filter((st) => st.receiver === 'soc-jira');
      expect(jira).toHaveLength(1);
      expect(jira[0]!.playbook.split('+').sort()).toEqual(['awaiting', 'closed']);
      expect(jira[0]!.ticketAction).toBe('resolve');
    });

    it('re-plans an exact replay with the same keys and leaves the snapshot alone', () => {
      const first = planEvent(config, null, event(0, { tags: ['Awaiting Customer Action'] }), now, { fingerprint: 'f' });
      expect(first.snapshot?.recentEvents?.map((e) => e.fingerprint)).toEqual(['f']);
      const again = planEvent(config, first.snapshot, event(0, { tags: ['Awaiting Customer Action'] }), now, { fingerprint: 'f' });
      expect(again.replay).toBe(true);
      expect(again.snapshot).toBeNull();
      expect(again.steps.map((st) => st.idempotencyKey)).toEqual(first.steps.map((st) => st.idempotencyKey));
    });

    it('plans what-if changes without remembering them', () => {
      const plan = planEvent(config, null, event(0, { tags: [] }), now, { fingerprint: 'w', extraChanges: [change('status', 'Closed', 'Active')] });
      expect(plan.matches.map((m) => m.playbook.name)).toEqual(['closed']);
      expect(plan.changes.map((c) => c.id)).toContain('status:closed#1');
      expect(plan.snapshot?.recentEvents?.[0]?.changes.map((c) => c.id)).not.toContain('status:closed#1');
      expect(Object.keys(plan.snapshot!.occurrences)).not.toContain('status:closed');
    });

    it('bounds what it keeps and what it queues whatever the event carries', () => {
      const huge = '標'.repeat(200_000);
      const plan = planEvent(config, null, event(0, { title: huge, description: huge, tags: ['Awaiting Customer Action'] }), now, { fingerprint: 'h' });
      expect(plan.event.incident.title.length).toBeLessThanOrEqual(SNAPSHOT_LIMITS.title);
      expect(plan.snapshot!.incident.description.length).toBeLessThanOrEqual(SNAPSHOT_LIMITS.description);
      for (const st of plan.steps) expect(st.incident.description.length).toBeLessThanOrEqual(MAX_PLANNED_DESCRIPTION);
    });
  });

  it('keeps the queued incident small whatever an attacker put in it', () => {
    const huge = 'A'.repeat(1_000_000);
    const incident = makeIncident({ description: huge, title: huge, tags: Array.from({ length: 500 }, (_, i) => `t${i}`) });
    const compact = compactIncident(incident);
    expect(compact.description.length).toBeLessThanOrEqual(MAX_PLANNED_DESCRIPTION + 1);
    expect(JSON.stringify(compact).length).toBeLessThan(40_000);
  });
});

describe('exclusions', () => {
  it('globs are whole-value and case-insensitive; regex characters are literal', () => {
    expect(globToRegExp('ot-*').test('OT-PLC-7')).toBe(true);
    expect(globToRegExp('ot-*').test('prod-ot-1')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('srv-??').test('srv-01')).toBe(true);
  });

  it('matches devices by host name, users by UPN, groups by name', () => {
    const incident = makeIncident({
      devices: [{ name: 'SRV-DC01.contoso.com', id: null }, { name: 'WS-1', id: null }],
      users: [{ name: 'Break Glass', userPrincipalName: 'breakglass-01@contoso.com', objectId: null }],
      groups: ['Domain Admins'],
    });
    expect(matchExclusions({ devices: ['srv-dc01'], users: ['breakglass-*@contoso.com'], groups: ['domain admins'] }, incident)).toEqual([
      'device:SRV-DC01.contoso.com (srv-dc01)',
      'user:breakglass-01@contoso.com (breakglass-*@contoso.com)',
      'group:Domain Admins',
    ]);
    expect(matchExclusions({ devices: [], users: [], groups: [] }, incident)).toEqual([]);
  });
});
