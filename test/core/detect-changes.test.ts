import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { changeSummary, detectChanges } from '../../functions/core/detect-changes.js';
import type { Change, Incident, IncidentEvent, IncidentUpdates, Snapshot } from '../../functions/core/model.js';
import { parseGraphIncident } from '../../functions/core/parse-graph.js';
import { parseSentinelTrigger } from '../../functions/core/parse-sentinel.js';
import { makeIncident } from '../fixtures/incident.js';

type Json = Record<string, any>;

function load(dir: 'graph' | 'sentinel', name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/${dir}/${name}.json`, import.meta.url), 'utf8')) as Json;
}

/** A Sentinel trigger fixture, with `object.properties` and `incidentUpdates` overrides. */
function sentinel(name: string, props: Json = {}, incidentUpdates?: Json | null): IncidentEvent {
  const body = load('sentinel', name);
  Object.assign(body.object.properties, props);
  if (incidentUpdates !== undefined) body.incidentUpdates = incidentUpdates;
  return parseSentinelTrigger(body);
}

function graph(name: string, overrides: Json = {}): IncidentEvent {
  return parseGraphIncident({ ...load('graph', name), ...overrides });
}

function event(overrides: Partial<Incident> = {}, updates: IncidentUpdates | null = null): IncidentEvent {
  return { incident: makeIncident(overrides), updates, eventId: null };
}

function updates(updatedFields: string[], labelsAdded: string[] = []): IncidentUpdates {
  return { updatedFields, updatedBy: 'Microsoft 365 Defender', labelsAdded, alertsAdded: 0, commentsAdded: 0, tacticsAdded: [] };
}

interface Run {
  /** the change ids of each step, in order */
  steps: string[][];
  stale: boolean[];
  snapshot: Snapshot | null;
}

/** Feeds events through detectChanges the way the pipeline does: each result's `next` is the next `prev`. */
function run(events: IncidentEvent[], start: Snapshot | null = null): Run {
  let snapshot = start;
  const steps: string[][] = [];
  const stale: boolean[] = [];
  for (const e of events) {
    const r = detectChanges(snapshot, e);
    steps.push(r.changes.map((c) => c.id));
    stale.push(r.stale);
    snapshot = r.next;
  }
  return { steps, stale, snapshot };
}

// The Defender Experts moments of incident 12345, in both views.
const sentinelCreate = () => sentinel('create-defender-incident');
const sentinelOwnerDE = () => sentinel('update-owner-defender-experts');
const sentinelAwaiting = () => sentinel('update-awaiting-customer-action');
const sentinelRefire = () => sentinel('update-labels-refire');
const sentinelClosedTP = () => sentinel('update-closed-true-positive');
const graphInProgress = () => graph('in-progress');
const graphAwaiting = () => graph('awaiting-action');
const graphResolved = () =>
  graph('awaiting-action', { status: 'resolved', lastUpdateDateTime: '2026-11-26T11:14:00.0000000Z' });

interface Row {
  name: string;
  events: () => IncidentEvent[];
  /** change ids of the last step */
  last: string[];
  stale?: boolean;
}

const rows: Row[] = [
  // first seen: compare with a blank, new, unassigned incident
  { name: 'first seen, new and unassigned: nothing to announce', events: () => [sentinelCreate()], last: [] },
  {
    name: 'first seen in progress: owner and status, no severity',
    events: () => [graphInProgress()],
    last: ['owner:defender experts#1', 'status:active#1'],
  },
  {
    name: 'first seen already awaiting action: the tag counts as added',
    events: () => [graphAwaiting()],
    last: [
      'owner:customer#1',
      'status:active#1',
      'tag-added:demo#1',
      'tag-added:defender experts#1',
      'tag-added:awaiting customer action#1',
      'classification:truepositive#1',
      'determination:multistagedattack#1',
    ],
  },
  {
    name: 'first seen resolved false positive (old determination)',
    events: () => [graph('resolved-false-positive-old-determination')],
    last: ['status:closed#1', 'tag-added:defender experts#1', 'classification:falsepositive#1', 'determination:clean#1'],
  },

  // Sentinel update runs without a snapshot: only what incidentUpdates names
  {
    name: 'update run, no snapshot: Owner and Status',
    events: () => [sentinelOwnerDE()],
    last: ['owner:defender experts#1', 'status:active#1'],
  },
  {
    name: 'update run, no snapshot: Labels announces only the labels added, not every current tag',
    events: () => [sentinelAwaiting()],
    last: ['owner:customer#1', 'tag-added:awaiting customer action#1'],
  },
  {
    name: 're-fire, no snapshot: another label added while "Awaiting Customer Action" stays on',
    events: () => [sentinelRefire()],
    last: ['tag-added:jira issue id: soc-12#1'],
  },
  {
    name: 'update run, no snapshot: Status to Closed carries the classification it was closed with',
    events: () => [sentinelClosedTP()],
    last: ['status:closed#1', 'classification:truepositive#1'],
  },
  {
    name: 'update run, no snapshot: Severity',
    events: () => [event({ severity: 'Medium' }, updates(['Severity']))],
    last: ['severity:medium#1'],
  },
  {
    name: 'update run, no snapshot: alerts and comments only are no change',
    events: () => [event({}, updates(['Alerts', 'Comments']))],
    last: [],
  },

  // with a snapshot: diff against the announced view
  {
    name: 'owner picked up by Defender Experts after create',
    events: () => [sentinelCreate(), sentinelOwnerDE()],
    last: ['owner:defender experts#1', 'status:active#1'],
  },
  {
    name: 're-fire with a snapshot: only the new tag',
    events: () => [sentinelCreate(), sentinelOwnerDE(), sentinelAwaiting(), sentinelRefire()],
    last: ['tag-added:jira issue id: soc-12#1'],
  },
  {
    name: 'the same move seen by poll then push is one change',
    events: () => [sentinelOwnerDE(), graphAwaiting(), sentinelAwaiting()],
    last: [],
  },
  {
    name: 'push then poll: the poll adds only what Sentinel does not show',
    events: () => [sentinelAwaiting(), graphAwaiting()],
    last: ['tag-added:demo#1', 'classification:truepositive#1', 'determination:multistagedattack#1'],
  },
  {
    name: 'owner compared case-insensitively',
    events: () => [event(), event({ owner: { ...makeIncident().owner, assignedTo: 'DEFENDER EXPERTS' } })],
    last: [],
  },
  {
    name: 'a user is the same owner by display name in Sentinel and by UPN in Graph',
    events: () => [
      sentinel('update-owner-defender-experts', {
        owner: { assignedTo: 'Alex Wilber', userPrincipalName: 'alexw@contoso.com', objectId: null, email: null },
      }),
      graph('in-progress', { assignedTo: 'AlexW@contoso.com', lastUpdateDateTime: '2026-11-26T09:05:00Z' }),
    ],
    last: [],
  },
  {
    name: 'owner released to unassigned',
    events: () => [event(), event({ owner: { assignedTo: null, userPrincipalName: null, objectId: null, email: null, kind: 'unassigned' } })],
    last: ['owner:unassigned#1'],
  },
  {
    name: 'repeat occurrence: Closed → Active → Closed',
    events: () => [event({ status: 'Closed' }), event({ status: 'Active' }), event({ status: 'Closed' })],
    last: ['status:closed#2'],
  },
  {
    name: 'repeat occurrence of a tag: added, removed, added again',
    events: () => [event({ tags: ['X'] }), event({ tags: [] }), event({ tags: ['x'] })],
    last: ['tag-added:x#2'],
  },
  { name: 'severity raised', events: () => [sentinelCreate(), sentinel('create-defender-incident', { severity: 'Low' })], last: ['severity:low#1'] },
  {
    name: 'severity Unknown is no change',
    events: () => [event(), event({ severity: 'Unknown' })],
    last: [],
  },
  {
    name: 'status Unknown (unknownFutureValue) is no change',
    events: () => [graphInProgress(), graph('in-progress', { status: 'unknownFutureValue', lastUpdateDateTime: '2026-11-26T09:10:00Z' })],
    last: [],
  },
  {
    name: 'classification changed',
    events: () => [event({ classification: 'FalsePositive' }), event({ classification: 'TruePositive' })],
    last: ['classification:truepositive#1'],
  },
  {
    name: 'classification compared case-insensitively',
    events: () => [event({ classification: 'TruePositive' }), event({ classification: 'truepositive' })],
    last: [],
  },
  {
    name: 'a source without classification does not clear it',
    events: () => [graphAwaiting(), sentinelAwaiting()],
    last: [],
  },
  {
    name: 'determination renamed between generations is the same verdict',
    events: () => [
      graph('resolved-false-positive-old-determination'),
      graph('resolved-false-positive-new-determination', { lastUpdateDateTime: '2026-11-26T12:10:00Z' }),
    ],
    last: [],
  },
  {
    name: 'determination changed',
    events: () => [event({ determination: 'malware' }), event({ determination: 'phishing' })],
    last: ['determination:phishing#1'],
  },

  // tags from two sources
  {
    name: 'a tag dropped by the source that reported it is removed',
    events: () => [graphAwaiting(), graphResolved()],
    last: ['status:closed#1', 'tag-removed:awaiting customer action#1'],
  },
  {
    name: 'a tag one source never reported is not removed by its silence',
    events: () => [sentinelAwaiting(), graphInProgress()],
    last: ['owner:defender experts#1'],
  },
  {
    name: 'two sources that disagree about tags do not flip-flop',
    events: () => [graphAwaiting(), sentinelAwaiting(), graphAwaiting(), sentinelAwaiting(), graphAwaiting()],
    last: [],
  },
  {
    name: 'a removal waits while another source still reports the tag',
    events: () => [graphAwaiting(), sentinelAwaiting(), graphResolved()],
    last: ['status:closed#1'],
  },
  {
    name: '…and happens when that source drops it too',
    events: () => [
      graphAwaiting(),
      sentinelAwaiting(),
      graphResolved(),
      sentinel('update-closed-true-positive', { labels: [{ labelName: 'Defender Experts' }] }),
    ],
    last: ['tag-removed:awaiting customer action#1'],
  },
  {
    name: 'an unreadable Graph status is no evidence the awaiting tag went away',
    events: () => [graphAwaiting(), graph('awaiting-action', { status: 'unknownFutureValue', lastUpdateDateTime: '2026-11-26T09:50:00Z' })],
    last: [],
  },

  // stale guard
  {
    name: 'an older observation from the same source is stale',
    events: () => [graphAwaiting(), graphInProgress()],
    last: [],
    stale: true,
  },
  {
    name: 'stale by a tenth of a microsecond (Graph has seven fractional digits)',
    events: () => [graphInProgress(), graph('in-progress', { assignedTo: 'Customer', lastUpdateDateTime: '2026-11-26T09:02:10.1133332Z' })],
    last: [],
    stale: true,
  },
  {
    name: 'the same time again is not stale',
    events: () => [graphInProgress(), graph('in-progress', { assignedTo: 'Customer' })],
    last: ['owner:customer#1'],
    stale: false,
  },
  {
    name: 'the pushes of one pick-up arrive out of order: the late Owner push still announces the owner',
    events: () => [
      sentinel('update-owner-defender-experts', { lastModifiedTimeUtc: '2026-11-26T09:05:00Z' }, { updatedFields: ['Status'], updatedBy: { name: 'Microsoft 365 Defender' }, labels: [] }),
      sentinel('update-owner-defender-experts', { lastModifiedTimeUtc: '2026-11-26T09:04:00Z' }, { updatedFields: ['Owner'], updatedBy: { name: 'Microsoft 365 Defender' }, labels: [] }),
    ],
    last: ['owner:defender experts#1'],
    stale: true,
  },
  {
    name: 'a late Closed push after the incident was reopened is history, not news',
    events: () => [
      sentinel('update-owner-defender-experts', { lastModifiedTimeUtc: '2026-11-26T12:00:00Z', status: 'Active' }, { updatedFields: ['Owner'], updatedBy: { name: 'x' }, labels: [] }),
      sentinel('update-owner-defender-experts', { lastModifiedTimeUtc: '2026-11-26T11:00:00Z', status: 'Closed' }, { updatedFields: ['Status'], updatedBy: { name: 'x' }, labels: [] }),
    ],
    last: [],
    stale: true,
  },
  {
    name: 'a late push whose moves were already announced stays quiet',
    events: () => [sentinelOwnerDE(), sentinel('update-owner-defender-experts', { lastModifiedTimeUtc: '2026-11-26T08:00:00Z' })],
    last: [],
    stale: true,
  },
  {
    name: 'staleness is per source',
    events: () => [graphAwaiting(), sentinel('update-awaiting-customer-action', { lastModifiedTimeUtc: '2026-11-26T08:00:00Z' })],
    last: [],
    stale: false,
  },
];

describe('detectChanges: rules', () => {
  it.each(rows)('$name', ({ events, last, stale }) => {
    const r = run(events());
    expect(r.steps.at(-1)).toEqual(last);
    if (stale !== undefined) expect(r.stale.at(-1)).toBe(stale);
  });
});

describe('detectChanges: the snapshot it returns', () => {
  it('keeps per-source tags, per-source times, occurrence counts and the merged view', () => {
    const r = run([graphAwaiting(), sentinelAwaiting()]);
    const s = r.snapshot!;
    expect(s.version).toBe(1);
    expect(s.tagsBySource).toEqual({
      graph: ['Demo', 'Defender Experts', 'Awaiting Customer Action'],
      sentinel: ['Defender Experts', 'Awaiting Customer Action'],
    });
    expect(s.seenAt).toEqual({ graph: '2026-11-26T09:35:45.1133333Z', sentinel: '2026-11-26T09:36:12.0000000Z' });
    expect(s.occurrences['owner:customer']).toBe(1);
    expect(s.occurrences['tag-added:awaiting customer action']).toBe(1);
    expect(s.incident.tags).toEqual(['Demo', 'Defender Experts', 'Awaiting Customer Action']);
    // Sentinel's view adds its ids and link; Graph's classification and determination stand.
    expect(s.incident.source).toBe('sentinel');
    expect(s.incident.ids.sentinelName).toBe('73e01a99-5cd7-4139-a149-9f2736ff2ab5');
    expect(s.incident.ids.tenantId).toBe('b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c');
    expect(s.incident.number).toBe(3177);
    expect(s.incident.links.sentinel).not.toBeNull();
    expect(s.incident.classification).toBe('TruePositive');
    expect(s.incident.determination).toBe('multiStagedAttack');
  });

  it('keeps alerts and entities the poller did not expand', () => {
    const s = run([sentinelAwaiting(), graphAwaiting()]).snapshot!;
    expect(s.incident.source).toBe('graph');
    expect(s.incident.alerts.count).toBe(2);
    expect(s.incident.devices.map((d) => d.name)).toEqual(['WS-FIN-042']);
    expect(s.incident.number).toBe(3177);
  });

  it('returns the previous snapshot itself when stale', () => {
    const first = detectChanges(null, graphAwaiting());
    const again = detectChanges(first.next, graphInProgress());
    expect(again).toEqual({ changes: [], next: first.next, stale: true });
    expect(again.next).toBe(first.next);
  });

  it('does not change the snapshot it was given', () => {
    const first = detectChanges(null, graphAwaiting()).next;
    const copy = structuredClone(first);
    detectChanges(first, graphResolved());
    expect(first).toEqual(copy);
  });

  it('finds nothing when the same observation is seen again', () => {
    for (const e of [sentinelCreate(), sentinelAwaiting(), graphAwaiting(), graphResolved(), sentinelRefire()]) {
      const first = detectChanges(null, e);
      expect(detectChanges(first.next, e).changes).toEqual([]);
    }
  });

  it('is deterministic: the same input gives the same changes and snapshot', () => {
    const events = [sentinelCreate(), graphInProgress(), sentinelOwnerDE(), graphAwaiting(), sentinelAwaiting(), sentinelRefire(), graphResolved()];
    expect(run(events)).toEqual(run(events));
  });

  it('orders changes owner, status, tag-added, tag-removed, severity, classification, determination', () => {
    const prev = detectChanges(null, event({ tags: ['Old'], severity: 'Low' })).next;
    const r = detectChanges(
      prev,
      event({
        determination: 'malware',
        classification: 'TruePositive',
        severity: 'High',
        tags: ['New'],
        status: 'Closed',
        owner: { assignedTo: 'Customer', userPrincipalName: null, objectId: null, email: null, kind: 'customer' },
      }),
    );
    expect(r.changes.map((c) => c.kind)).toEqual([
      'owner',
      'status',
      'tag-added',
      'tag-removed',
      'severity',
      'classification',
      'determination',
    ]);
    expect(r.changes.find((c) => c.kind === 'tag-removed')).toEqual({
      kind: 'tag-removed',
      from: 'Old',
      to: null,
      id: 'tag-removed:old#1',
    });
    expect(r.changes.find((c) => c.kind === 'severity')).toMatchObject({ from: 'Low', to: 'High' });
  });
});

describe('changeSummary', () => {
  it.each<[Change, string]>([
    [{ kind: 'owner', from: null, to: 'Defender Experts', id: 'x' }, 'Owner changed to Defender Experts'],
    [{ kind: 'owner', from: 'Defender Experts', to: 'Customer', id: 'x' }, 'Owner changed from Defender Experts to Customer'],
    [{ kind: 'owner', from: 'Defender Experts', to: null, id: 'x' }, 'Owner changed from Defender Experts to Unassigned'],
    [{ kind: 'status', from: 'Active', to: 'Closed', id: 'x' }, 'Status changed from Active to Closed'],
    [{ kind: 'status', from: null, to: 'Active', id: 'x' }, 'Status changed to Active'],
    [{ kind: 'tag-added', from: null, to: 'Awaiting Customer Action', id: 'x' }, 'Tag added: Awaiting Customer Action'],
    [{ kind: 'tag-removed', from: 'Awaiting Customer Action', to: null, id: 'x' }, 'Tag removed: Awaiting Customer Action'],
    [{ kind: 'severity', from: 'Low', to: 'High', id: 'x' }, 'Severity changed from Low to High'],
    [{ kind: 'classification', from: null, to: 'FalsePositive', id: 'x' }, 'Classification set to False positive'],
    [{ kind: 'classification', from: 'TruePositive', to: 'InformationalExpectedActivity', id: 'x' }, 'Classification changed from True positive to Informational, expected activity'],
    [{ kind: 'determination', from: null, to: 'multiStagedAttack', id: 'x' }, 'Determination set to Multi staged attack'],
    [{ kind: 'determination', from: 'clean', to: 'notEnoughDataToValidate', id: 'x' }, 'Determination changed from Clean to Not enough data to validate'],
  ])('%j → %s', (change, text) => {
    expect(changeSummary(change)).toBe(text);
  });
});
