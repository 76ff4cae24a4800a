import { readFileSync } from 'node:fs';
import { validationError } from '../helpers/errors.js';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../functions/core/errors.js';
import { parseSentinelTrigger } from '../../functions/core/parse-sentinel.js';

type Json = Record<string, any>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/sentinel/${name}.json`, import.meta.url), 'utf8')) as Json;
}

/** A create body with properties overridden (or removed, with undefined). */
function withProps(overrides: Json, base = fixture('create-defender-incident')): Json {
  const props = base.object.properties as Json;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete props[k];
    else props[k] = v;
  }
  return base;
}

const TENANT = 'b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c';

describe('parseSentinelTrigger: realistic bodies', () => {
  it('normalises the create body of a Defender XDR incident', () => {
    const { incident, updates, eventId } = parseSentinelTrigger(fixture('create-defender-incident'));
    expect(eventId).toBe('0b9a4c1e-5d3f-4e2a-9c8b-7a6f5e4d3c21');
    expect(updates).toBeNull();
    expect(incident.key).toBe('12345');
    expect(incident.source).toBe('sentinel');
    expect(incident.ids).toEqual({
      xdrIncidentId: '12345',
      sentinelName: '73e01a99-5cd7-4139-a149-9f2736ff2ab5',
      sentinelArmId: expect.stringMatching(/\/Microsoft\.SecurityInsights\/Incidents\/73e01a99-5cd7-4139-a149-9f2736ff2ab5$/),
      tenantId: TENANT,
      workspaceId: '8d300aff-d535-4430-9eef-3046965c48cf',
    });
    expect(incident.number).toBe(3177);
    expect(incident.title).toBe('Multi-stage incident involving Initial access & Lateral movement');
    expect(incident.description).toBe('');
    expect(incident.severity).toBe('High');
    expect(incident.status).toBe('New');
    expect(incident.rawStatus).toBe('New');
    expect(incident.owner).toEqual({ assignedTo: null, userPrincipalName: null, objectId: null, email: null, kind: 'unassigned' });
    expect(incident.tags).toEqual([]);
    expect(incident.classification).toBeNull();
    expect(incident.determination).toBeNull();
    expect(incident.provider).toBe('Microsoft Defender XDR');
    expect(incident.links.defender).toBe(`https://security.microsoft.com/incidents/12345?tid=${TENANT}`);
    expect(incident.links.sentinel).toMatch(/^https:\/\/portal\.azure\.com\/#asset\/Microsoft_Azure_Security_Insights\/Incident\/subscriptions\//);
    expect(incident.createdAt).toBe('2026-11-26T08:43:41.2428874Z');
    expect(incident.updatedAt).toBe('2026-11-26T08:43:41.2428874Z');
    expect(incident.firstActivityAt).toBe('2026-11-26T08:40:00Z');
    expect(incident.lastActivityAt).toBe('2026-11-26T09:30:00Z');
    expect(incident.alerts).toEqual({
      count: 2,
      titles: ['Suspicious USB activity', 'Raspberry Robin worm detected'],
      products: ['Microsoft Defender Advanced Threat Protection'],
      tactics: ['InitialAccess', 'LateralMovement'],
    });
    expect(incident.devices).toEqual([{ name: 'WS-FIN-042', id: 'f3c2a1b0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b4' }]);
    expect(incident.users).toEqual([
      { name: 'Alex Wilber', userPrincipalName: 'alexw@contoso.com', objectId: '6b2d7f1e-3c4a-4b5d-8e9f-0a1b2c3d4e5f' },
    ]);
    expect(incident.groups).toEqual(['Finance Admins']);
  });

  it('reads the owner change to Defender Experts and what the update run says changed', () => {
    const { incident, updates, eventId } = parseSentinelTrigger(fixture('update-owner-defender-experts'));
    expect(eventId).toBe('6f2c8d1e-5a3b-4c7d-9e10-2b4f6a8c0d12');
    expect(incident.owner.kind).toBe('defender-experts');
    expect(incident.owner.assignedTo).toBe('Defender Experts');
    expect(incident.status).toBe('Active');
    expect(updates).toEqual({
      updatedFields: ['Owner', 'Status'],
      updatedBy: 'Microsoft 365 Defender',
      labelsAdded: [],
      alertsAdded: 0,
      commentsAdded: 0,
      tacticsAdded: [],
    });
  });

  it('reads the awaiting-customer-action moment: owner Customer, the tag, and only the label added this run', () => {
    const { incident, updates } = parseSentinelTrigger(fixture('update-awaiting-customer-action'));
    expect(incident.owner.kind).toBe('customer');
    expect(incident.owner.assignedTo).toBe('Customer');
    expect(incident.tags).toEqual(['Defender Experts', 'Awaiting Customer Action']);
    expect(incident.description).toMatch(/^Microsoft observed Raspberry Robin/);
    expect(updates?.updatedFields).toEqual(['Owner', 'Labels', 'Comments']);
    expect(updates?.labelsAdded).toEqual(['Awaiting Customer Action']);
    expect(updates?.commentsAdded).toBe(1);
  });

  it('reads a labels re-fire: the incident keeps every tag, the update names only the new one', () => {
    const { incident, updates } = parseSentinelTrigger(fixture('update-labels-refire'));
    expect(incident.tags).toEqual(['Defender Experts', 'Awaiting Customer Action', 'Jira Issue ID: SOC-12']);
    expect(updates?.labelsAdded).toEqual(['Jira Issue ID: SOC-12']);
    expect(updates?.updatedBy).toBe('Playbook');
  });

  it('reads a true-positive close with its reason and comment', () => {
    const { incident } = parseSentinelTrigger(fixture('update-closed-true-positive'));
    expect(incident.status).toBe('Closed');
    expect(incident.classification).toBe('TruePositive');
    expect(incident.classificationReason).toBe('SuspiciousActivity');
    expect(incident.classificationComment).toBe('Remediated by the customer after Defender Experts guidance.');
    expect(incident.owner.kind).toBe('customer');
  });

  it('reads a false-positive close by Defender Experts: unassigned, FalsePositive, its own key', () => {
    const { incident, updates } = parseSentinelTrigger(fixture('update-closed-false-positive'));
    expect(incident.key).toBe('12377');
    expect(incident.number).toBe(3181);
    expect(incident.owner.kind).toBe('unassigned');
    expect(incident.classification).toBe('FalsePositive');
    expect(incident.classificationReason).toBe('IncorrectAlertLogic');
    expect(incident.alerts.count).toBe(1);
    expect(incident.alerts.titles).toEqual([]);
    expect(incident.devices).toEqual([{ name: 'SRV-APP-07', id: null }]);
    expect(updates?.updatedFields).toEqual(['Status', 'Owner']);
  });

  it('keys a Sentinel-native incident by its name, with no XDR id', () => {
    const { incident } = parseSentinelTrigger(fixture('sentinel-native-incident'));
    expect(incident.key).toBe('5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f');
    expect(incident.ids.xdrIncidentId).toBeNull();
    expect(incident.ids.tenantId).toBeNull();
    expect(incident.links.defender).toBeNull();
    expect(incident.provider).toBe('Azure Sentinel');
    expect(incident.users).toEqual([{ name: 'meganb@contoso.com', userPrincipalName: 'meganb@contoso.com', objectId: null }]);
  });
});

describe('parseSentinelTrigger: the incident key (design invariant 6)', () => {
  it.each([
    ['Microsoft Defender XDR', '12345', '12345'],
    ['Microsoft 365 Defender', '12345', '12345'],
    ['microsoft defender xdr', '12345', '12345'],
    ['Azure Sentinel', '3190', '73e01a99-5cd7-4139-a149-9f2736ff2ab5'],
    ['Microsoft Sentinel', '3190', '73e01a99-5cd7-4139-a149-9f2736ff2ab5'],
    [null, '3190', '73e01a99-5cd7-4139-a149-9f2736ff2ab5'],
  ])('provider %s with providerIncidentId %s → key %s', (providerName, providerIncidentId, key) => {
    const { incident } = parseSentinelTrigger(withProps({ providerName, providerIncidentId }));
    expect(incident.key).toBe(key);
    expect(incident.ids.xdrIncidentId).toBe(key === providerIncidentId ? providerIncidentId : null);
  });

  it('falls back to providerIncidentId when there is no object.name', () => {
    const body = withProps({ providerName: 'Azure Sentinel', providerIncidentId: 3190 });
    delete body.object.name;
    expect(parseSentinelTrigger(body).incident.key).toBe('3190');
  });
});

describe('parseSentinelTrigger: vocabulary', () => {
  it.each([
    [{ assignedTo: 'Defender Experts' }, 'defender-experts', 'Defender Experts'],
    [{ assignedTo: 'DEFENDER EXPERTS' }, 'defender-experts', 'Defender Experts'],
    [{ assignedTo: ' customer ' }, 'customer', 'Customer'],
    [{ assignedTo: 'Unassigned' }, 'unassigned', null],
    [{ assignedTo: '' }, 'unassigned', null],
    [{ assignedTo: null }, 'unassigned', null],
    [{}, 'unassigned', null],
    [{ assignedTo: 'Alex Wilber', userPrincipalName: 'alexw@contoso.com' }, 'user', 'Alex Wilber'],
    [{ assignedTo: null, userPrincipalName: 'alexw@contoso.com', objectId: '6b2d7f1e-3c4a-4b5d-8e9f-0a1b2c3d4e5f' }, 'user', 'alexw@contoso.com'],
    [{ objectId: '6b2d7f1e-3c4a-4b5d-8e9f-0a1b2c3d4e5f' }, 'user', '6b2d7f1e-3c4a-4b5d-8e9f-0a1b2c3d4e5f'],
  ])('owner %j → %s (%s)', (owner, kind, assignedTo) => {
    const { incident } = parseSentinelTrigger(withProps({ owner }));
    expect(incident.owner.kind).toBe(kind);
    expect(incident.owner.assignedTo).toBe(assignedTo);
  });

  it('reads an absent or null owner as unassigned', () => {
    expect(parseSentinelTrigger(withProps({ owner: null })).incident.owner.kind).toBe('unassigned');
    expect(parseSentinelTrigger(withProps({ owner: undefined })).incident.owner.kind).toBe('unassigned');
  });

  it.each([
    ['New', 'New'],
    ['active', 'Active'],
    ['CLOSED', 'Closed'],
    ['Archived', 'Unknown'],
    [null, 'Unknown'],
  ])('status %s → %s, keeping the raw value', (status, expected) => {
    const { incident } = parseSentinelTrigger(withProps({ status }));
    expect(incident.status).toBe(expected);
    expect(incident.rawStatus).toBe(status);
  });

  it.each([
    ['Informational', 'Informational'],
    ['low', 'Low'],
    ['MEDIUM', 'Medium'],
    ['High', 'High'],
    ['Critical', 'Unknown'],
    [null, 'Unknown'],
  ])('severity %s → %s', (severity, expected) => {
    expect(parseSentinelTrigger(withProps({ severity })).incident.severity).toBe(expected);
  });

  it.each([
    ['TruePositive', 'TruePositive'],
    ['benignpositive', 'BenignPositive'],
    ['FALSEPOSITIVE', 'FalsePositive'],
    ['Undetermined', 'Undetermined'],
    ['SomethingNew', 'SomethingNew'],
    [null, null],
  ])('classification %s → %s', (classification, expected) => {
    expect(parseSentinelTrigger(withProps({ classification })).incident.classification).toBe(expected);
  });

  it('trims tags and de-duplicates them case-insensitively, keeping the first spelling', () => {
    const { incident } = parseSentinelTrigger(
      withProps({
        labels: [
          { labelName: ' Awaiting Customer Action ', labelType: 'User' },
          { labelName: 'awaiting customer action', labelType: 'AutoAssigned' },
          'Defender Experts',
          { labelName: '   ' },
          { labelName: null },
          42,
          null,
          { labelName: 'DEFENDER EXPERTS' },
        ],
      }),
    );
    expect(incident.tags).toEqual(['Awaiting Customer Action', 'Defender Experts']);
  });

  it('counts alerts by the declared total when the trigger inlines fewer', () => {
    const body = withProps({});
    body.object.properties.additionalData.alertsCount = 180;
    expect(parseSentinelTrigger(body).incident.alerts.count).toBe(180);
  });

  it('treats an incidentUpdates without updatedFields as a create run', () => {
    const body = fixture('update-owner-defender-experts');
    body.incidentUpdates.updatedFields = null;
    expect(parseSentinelTrigger(body).updates).toBeNull();
  });
});

describe('parseSentinelTrigger: bad input names the field', () => {
  it.each<[string, () => unknown, string]>([
    ['a string body', () => 'incident', 'body'],
    ['an array body', () => [fixture('create-defender-incident')], 'body'],
    ['no object', () => ({ objectSchemaType: 'Incident' }), 'object'],
    ['object is an array', () => ({ object: [] }), 'object'],
    ['no properties', () => ({ object: { name: 'x' } }), 'object.properties'],
    ['properties is a string', () => ({ object: { name: 'x', properties: 'x' } }), 'object.properties'],
    ['no title', () => withProps({ title: undefined }), 'object.properties.title'],
    ['title is a number', () => withProps({ title: 7 }), 'object.properties.title'],
    [
      'neither providerIncidentId nor name',
      () => {
        const b = withProps({ providerIncidentId: undefined });
        delete b.object.name;
        return b;
      },
      'object.properties.providerIncidentId',
    ],
    ['severity is a number', () => withProps({ severity: 3 }), 'object.properties.severity'],
    ['owner is an array', () => withProps({ owner: [] }), 'object.properties.owner'],
    ['owner.assignedTo is an object', () => withProps({ owner: { assignedTo: { name: 'x' } } }), 'object.properties.owner.assignedTo'],
    ['labels is an object', () => withProps({ labels: { labelName: 'x' } }), 'object.properties.labels'],
    ['relatedEntities is a string', () => withProps({ relatedEntities: 'Host' }), 'object.properties.relatedEntities'],
    ['incidentNumber is fractional', () => withProps({ incidentNumber: 31.5 }), 'object.properties.incidentNumber'],
    ['incidentNumber is negative', () => withProps({ incidentNumber: -3177 }), 'object.properties.incidentNumber'],
    ['additionalData is an array', () => withProps({ additionalData: [] }), 'object.properties.additionalData'],
    [
      'incidentUpdates is an array',
      () => ({ ...fixture('create-defender-incident'), incidentUpdates: [] }),
      'incidentUpdates',
    ],
    [
      'incidentUpdates.labels is a string',
      () => ({ ...fixture('create-defender-incident'), incidentUpdates: { updatedFields: ['Labels'], labels: 'x' } }),
      'incidentUpdates.labels',
    ],
  ])('%s → %s', (_name, make, field) => {
    const err = validationError(() => parseSentinelTrigger(make()));
    expect(err.where?.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it('says what it expected and what it got', () => {
    const err = validationError(() => parseSentinelTrigger(withProps({ title: 7 })));
    expect(err.message).toBe('object.properties.title: expected a string, got a number');
  });
});

describe('parseSentinelTrigger: hostile payloads', () => {
  it('carries attacker text as data, unchanged, for the renderer to escape', () => {
    const title = '<script>alert(1)</script> {{constructor.constructor "x"}} @channel <!here> ](javascript:x)';
    const { incident } = parseSentinelTrigger(
      withProps({
        title,
        description: '<img src=x onerror=alert(1)>\r\nBcc: victim@example.com',
        labels: [{ labelName: '<b>tag</b>' }],
      }),
    );
    expect(incident.title).toBe(title);
    expect(incident.description).toBe('<img src=x onerror=alert(1)>\r\nBcc: victim@example.com');
    expect(incident.tags).toEqual(['<b>tag</b>']);
  });

  it('keeps a 100,000-character title whole', () => {
    const title = 'A'.repeat(100_000);
    expect(parseSentinelTrigger(withProps({ title })).incident.title).toHaveLength(100_000);
  });

  it('accepts nulls in every optional field', () => {
    const body = fixture('create-defender-incident');
    const props = body.object.properties as Json;
    for (const k of Object.keys(props)) if (k !== 'title' && k !== 'providerIncidentId') props[k] = null;
    for (const k of ['eventUniqueId', 'objectSchemaType', 'objectEventType', 'workspaceInfo', 'workspaceId', 'incidentUpdates']) body[k] = null;
    const { incident, updates } = parseSentinelTrigger(body);
    expect(incident.status).toBe('Unknown');
    expect(incident.severity).toBe('Unknown');
    expect(incident.key).toBe('73e01a99-5cd7-4139-a149-9f2736ff2ab5');
    expect(incident.alerts).toEqual({ count: 0, titles: [], products: [], tactics: [] });
    expect(incident.devices).toEqual([]);
    expect(updates).toBeNull();
  });

  it('skips malformed alerts and entities instead of losing the incident', () => {
    const { incident } = parseSentinelTrigger(
      withProps({
        alerts: [null, 'x', [], { properties: [] }, { properties: { alertDisplayName: 5, tactics: 'InitialAccess' } }],
        relatedEntities: [[], 'Host', null, { kind: 'Host' }, { kind: 'Host', properties: { hostName: ['x'] } }, { kind: 7 }],
        additionalData: null,
      }),
    );
    expect(incident.alerts).toEqual({ count: 2, titles: [], products: [], tactics: [] });
    expect(incident.devices).toEqual([]);
    expect(incident.users).toEqual([]);
  });

  it('never reads inherited or __proto__ keys as fields, and pollutes nothing', () => {
    const text = JSON.stringify(fixture('create-defender-incident')).replace(
      '"title":"Multi-stage incident involving Initial access & Lateral movement",',
      '"__proto__":{"title":"inherited","polluted":true},"constructor":{"prototype":{"polluted":true}},',
    );
    const body = JSON.parse(text) as Json;
    const err = validationError(() => parseSentinelTrigger(body));
    expect(err.where?.field).toBe('object.properties.title');
    expect(({} as Json).polluted).toBeUndefined();

    const inherited = fixture('create-defender-incident');
    const props = inherited.object.properties as Json;
    delete props.title;
    Object.setPrototypeOf(props, { title: 'inherited' });
    expect(() => parseSentinelTrigger(inherited)).toThrow(KitError);
  });

  it('ignores __proto__ inside labels and entities', () => {
    const body = JSON.parse(
      JSON.stringify(withProps({})).replace(
        '"labels":[]',
        '"labels":[{"__proto__":{"labelName":"evil"}},{"labelName":"ok","__proto__":{"x":1}}]',
      ),
    ) as Json;
    expect(parseSentinelTrigger(body).incident.tags).toEqual(['ok']);
    expect(({} as Json).x).toBeUndefined();
  });
});
