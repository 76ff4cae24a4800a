import { readFileSync } from 'node:fs';
import { validationError } from '../helpers/errors.js';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../functions/core/errors.js';
import { detectShape, parseEvent } from '../../functions/core/parse-event.js';
import { parseGraphIncident } from '../../functions/core/parse-graph.js';

type Json = Record<string, any>;

function fixture(dir: 'graph' | 'sentinel', name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/${dir}/${name}.json`, import.meta.url), 'utf8')) as Json;
}

function graph(name: string, overrides: Json = {}): Json {
  const r = fixture('graph', name);
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete r[k];
    else r[k] = v;
  }
  return r;
}

const TENANT = 'b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c';
const AWAITING = 'Awaiting Customer Action';

describe('parseGraphIncident: realistic resources', () => {
  it('reads an incident Defender Experts are investigating', () => {
    const { incident, updates, eventId } = parseGraphIncident(graph('in-progress'));
    expect(updates).toBeNull();
    expect(eventId).toBeNull();
    expect(incident.key).toBe('12345');
    expect(incident.source).toBe('graph');
    expect(incident.ids).toEqual({ xdrIncidentId: '12345', sentinelName: null, sentinelArmId: null, tenantId: TENANT, workspaceId: null });
    expect(incident.number).toBe(12345);
    expect(incident.status).toBe('Active');
    expect(incident.rawStatus).toBe('inProgress');
    expect(incident.severity).toBe('High');
    expect(incident.owner).toEqual({ assignedTo: 'Defender Experts', userPrincipalName: null, objectId: null, email: null, kind: 'defender-experts' });
    expect(incident.classification).toBeNull();
    expect(incident.determination).toBeNull();
    expect(incident.tags).toEqual([]);
    expect(incident.description).toBe('');
    expect(incident.provider).toBe('Microsoft Defender XDR');
    expect(incident.links).toEqual({ sentinel: null, defender: `https://security.microsoft.com/incidents/12345?tid=${TENANT}` });
    expect(incident.createdAt).toBe('2026-11-26T08:43:35.5533333Z');
    expect(incident.updatedAt).toBe('2026-11-26T09:02:10.1133333Z');
    expect(incident.alerts).toEqual({ count: 0, titles: [], products: [], tactics: [] });
  });

  it('reads awaitingAction as Active plus the "Awaiting Customer Action" tag, as Sentinel shows it', () => {
    const { incident } = parseGraphIncident(graph('awaiting-action'));
    expect(incident.status).toBe('Active');
    expect(incident.rawStatus).toBe('awaitingAction');
    expect(incident.owner.kind).toBe('customer');
    expect(incident.tags).toEqual(['Demo', 'Defender Experts', AWAITING]);
    expect(incident.classification).toBe('TruePositive');
    expect(incident.determination).toBe('multiStagedAttack');
    expect(incident.description).toMatch(/^Microsoft observed Raspberry Robin/);
  });

  it.each([
    ['resolved-false-positive-old-determination', 'clean'],
    ['resolved-false-positive-new-determination', 'notMalicious'],
  ])('reads a false-positive resolution (%s) with determination %s', (name, determination) => {
    const { incident } = parseGraphIncident(graph(name));
    expect(incident.key).toBe('12377');
    expect(incident.status).toBe('Closed');
    expect(incident.owner.kind).toBe('unassigned');
    expect(incident.classification).toBe('FalsePositive');
    expect(incident.determination).toBe(determination);
    expect(incident.classificationComment).toBe('Software deployment by the IT team, not malicious.');
    expect(incident.tags).toEqual(['Defender Experts']);
  });

  it('reads the list-incidents docs example with its mixed casing and odd comment shape', () => {
    const { incident } = parseGraphIncident(graph('docs-example-mixed-case'));
    expect(incident.status).toBe('New');
    expect(incident.rawStatus).toBe('Active');
    expect(incident.classification).toBe('TruePositive');
    expect(incident.determination).toBe('multiStagedAttack');
    expect(incident.severity).toBe('Medium');
    expect(incident.owner).toEqual({
      assignedTo: 'KaiC@contoso.onmicrosoft.com',
      userPrincipalName: 'KaiC@contoso.onmicrosoft.com',
      objectId: null,
      email: null,
      kind: 'user',
    });
    expect(incident.tags).toEqual(['Demo', 'Defender Experts']);
    expect(incident.number).toBe(2972395);
  });

  it('summarises expanded alerts and their device and user evidence', () => {
    const { incident } = parseGraphIncident(graph('expanded-alerts'));
    expect(incident.alerts).toEqual({
      count: 2,
      titles: ['Suspicious USB activity', 'Raspberry Robin worm detected'],
      products: ['Microsoft Defender for Endpoint', 'microsoftDefenderForEndpoint'],
      tactics: ['InitialAccess', 'LateralMovement'],
    });
    expect(incident.devices).toEqual([
      { name: 'WS-FIN-042', id: 'f3c2a1b0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b4' },
      { name: 'srv-file-01.corp.contoso.com', id: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567' },
    ]);
    expect(incident.users).toEqual([
      { name: 'Alex Wilber', userPrincipalName: 'alexw@contoso.com', objectId: '6b2d7f1e-3c4a-4b5d-8e9f-0a1b2c3d4e5f' },
    ]);
    expect(incident.firstActivityAt).toBe('2026-11-26T08:40:00Z');
    expect(incident.lastActivityAt).toBe('2026-11-26T09:30:00Z');
  });
});

describe('parseGraphIncident: one lifecycle vocabulary', () => {
  it.each([
    ['active', 'New', false],
    ['inProgress', 'Active', false],
    ['INPROGRESS', 'Active', false],
    ['resolved', 'Closed', false],
    ['Redirected', 'Redirected', false],
    ['awaitingAction', 'Active', true],
    ['AwaitingAction', 'Active', true],
    ['unknownFutureValue', 'Unknown', false],
    ['someFutureStatus', 'Unknown', false],
    [null, 'Unknown', false],
  ])('status %s → %s (awaiting tag: %s)', (status, expected, awaiting) => {
    const { incident } = parseGraphIncident(graph('in-progress', { status }));
    expect(incident.status).toBe(expected);
    expect(incident.rawStatus).toBe(status);
    expect(incident.tags.includes(AWAITING)).toBe(awaiting);
  });

  it.each([
    ['informational', 'Informational'],
    ['LOW', 'Low'],
    ['Medium', 'Medium'],
    ['high', 'High'],
    ['unknown', 'Unknown'],
    ['unknownFutureValue', 'Unknown'],
    ['critical', 'Unknown'],
    [null, 'Unknown'],
  ])('severity %s → %s', (severity, expected) => {
    expect(parseGraphIncident(graph('in-progress', { severity })).incident.severity).toBe(expected);
  });

  it.each([
    ['truePositive', 'TruePositive'],
    ['FALSEPOSITIVE', 'FalsePositive'],
    ['informationalExpectedActivity', 'InformationalExpectedActivity'],
    ['unknown', null],
    ['unknownFutureValue', null],
    ['someNewClass', 'someNewClass'],
    [null, null],
  ])('classification %s → %s', (classification, expected) => {
    expect(parseGraphIncident(graph('in-progress', { classification })).incident.classification).toBe(expected);
  });

  it.each([
    // older generation
    ['compromisedUser', 'compromisedUser'],
    ['clean', 'clean'],
    ['insufficientData', 'insufficientData'],
    ['confirmedUserActivity', 'confirmedUserActivity'],
    // newer generation
    ['compromisedAccount', 'compromisedAccount'],
    ['notMalicious', 'notMalicious'],
    ['notEnoughDataToValidate', 'notEnoughDataToValidate'],
    ['confirmedActivity', 'confirmedActivity'],
    // both
    ['MultiStagedAttack', 'multiStagedAttack'],
    ['APT', 'apt'],
    ['lineofbusinessapplication', 'lineOfBusinessApplication'],
    // unknowns
    ['unknown', null],
    ['UnknownFutureValue', null],
    ['aBrandNewVerdict', 'aBrandNewVerdict'],
    [null, null],
  ])('determination %s → %s', (determination, expected) => {
    expect(parseGraphIncident(graph('in-progress', { determination })).incident.determination).toBe(expected);
  });

  it.each([
    ['Defender Experts', 'defender-experts', 'Defender Experts'],
    ['defender experts', 'defender-experts', 'Defender Experts'],
    ['CUSTOMER', 'customer', 'Customer'],
    ['Unassigned', 'unassigned', null],
    ['', 'unassigned', null],
    [null, 'unassigned', null],
    ['secAdmin@contoso.com', 'user', 'secAdmin@contoso.com'],
    ['SOC Team', 'user', 'SOC Team'],
  ])('assignedTo %j → %s', (assignedTo, kind, shown) => {
    const { incident } = parseGraphIncident(graph('in-progress', { assignedTo }));
    expect(incident.owner.kind).toBe(kind);
    expect(incident.owner.assignedTo).toBe(shown);
  });

  it('unions custom and system tags, case-insensitively, without a second awaiting tag', () => {
    const { incident } = parseGraphIncident(
      graph('in-progress', {
        status: 'awaitingAction',
        customTags: [' Demo ', 'awaiting customer action', 'DEMO', 7, null],
        systemTags: ['Defender Experts', 'demo'],
      }),
    );
    expect(incident.tags).toEqual(['Demo', 'awaiting customer action', 'Defender Experts']);
  });

  it('accepts a numeric id and an incident without displayName', () => {
    const { incident } = parseGraphIncident(graph('in-progress', { id: 12345, displayName: undefined }));
    expect(incident.key).toBe('12345');
    expect(incident.title).toBe('Incident 12345');
  });

  it('uses the summary when there is no description', () => {
    expect(parseGraphIncident(graph('in-progress', { description: null, summary: 'An overview.' })).incident.description).toBe('An overview.');
  });
});

describe('parseGraphIncident: bad input names the field', () => {
  it.each<[string, unknown, string]>([
    ['a number', 42, 'body'],
    ['null', null, 'body'],
    ['no id', graph('in-progress', { id: undefined }), 'id'],
    ['an empty id', graph('in-progress', { id: '  ' }), 'id'],
    ['an object id', graph('in-progress', { id: { value: '1' } }), 'id'],
    ['neither displayName nor status', graph('in-progress', { displayName: null, status: undefined }), 'displayName'],
    ['status is a number', graph('in-progress', { status: 3 }), 'status'],
    ['customTags is a string', graph('in-progress', { customTags: 'Demo' }), 'customTags'],
    ['alerts is an object', graph('in-progress', { alerts: { value: [] } }), 'alerts'],
    ['assignedTo is an array', graph('in-progress', { assignedTo: ['Customer'] }), 'assignedTo'],
  ])('%s → %s', (_name, input, field) => {
    const err = validationError(() => parseGraphIncident(input));
    expect(err.where?.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });
});

describe('parseGraphIncident: hostile payloads', () => {
  it('carries attacker text unchanged and skips malformed evidence', () => {
    const { incident } = parseGraphIncident(
      graph('in-progress', {
        displayName: '<script>alert(1)</script> @here <@U123>',
        customTags: ['<img src=x onerror=alert(1)>'],
        alerts: [null, [], 'x', { title: ['x'], evidence: 'device' }, { evidence: [null, { '@odata.type': 7 }, { '@odata.type': '#microsoft.graph.security.userEvidence', userAccount: [] }] }],
      }),
    );
    expect(incident.title).toBe('<script>alert(1)</script> @here <@U123>');
    expect(incident.tags).toEqual(['<img src=x onerror=alert(1)>']);
    expect(incident.alerts.count).toBe(2);
    expect(incident.devices).toEqual([]);
    expect(incident.users).toEqual([]);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('reads the enum value %s as an unknown member, not an Object member', (word) => {
    const { incident } = parseGraphIncident(
      graph('in-progress', { status: word, severity: word, classification: word, determination: word }),
    );
    expect(incident.status).toBe('Unknown');
    expect(incident.severity).toBe('Unknown');
    expect(incident.classification).toBe(word);
    expect(incident.determination).toBe(word);
  });

  it('does not take fields from __proto__', () => {
    const r = JSON.parse('{"__proto__":{"id":"1","displayName":"x","lastUpdateDateTime":"2026-01-01T00:00:00Z"},"status":"active"}') as Json;
    const err = validationError(() => parseGraphIncident(r));
    expect(err.where?.field).toBe('id');
    expect(({} as Json).displayName).toBeUndefined();
  });
});

describe('detectShape and parseEvent', () => {
  it.each<[string, Json, 'sentinel' | 'graph']>([
    ['a Sentinel create body', fixture('sentinel', 'create-defender-incident'), 'sentinel'],
    ['a Sentinel update body', fixture('sentinel', 'update-awaiting-customer-action'), 'sentinel'],
    ['a Graph incident with @odata.type', fixture('graph', 'awaiting-action'), 'graph'],
    ['a Graph incident without @odata.type', fixture('graph', 'docs-example-mixed-case'), 'graph'],
    ['only objectSchemaType', { objectSchemaType: 'incident' }, 'sentinel'],
    ['id and incidentWebUrl', { id: '1', incidentWebUrl: 'https://security.microsoft.com/incidents/1' }, 'graph'],
    ['a numeric id and lastUpdateDateTime', { id: 1, lastUpdateDateTime: '2026-01-01T00:00:00Z' }, 'graph'],
  ])('%s is %s', (_name, raw, shape) => {
    expect(detectShape(raw)).toBe(shape);
  });

  it('parses each shape with its own parser', () => {
    expect(parseEvent(fixture('sentinel', 'update-awaiting-customer-action')).incident.source).toBe('sentinel');
    expect(parseEvent(fixture('graph', 'awaiting-action')).incident.source).toBe('graph');
    expect(parseEvent(fixture('sentinel', 'update-awaiting-customer-action')).incident.key).toBe(
      parseEvent(fixture('graph', 'awaiting-action')).incident.key,
    );
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', []],
    ['an empty object', {}],
    ['an id alone', { id: '12345' }],
    ['a Graph list page', { value: [fixture('graph', 'in-progress')] }],
  ])('refuses %s and says which fields it looked for', (_name, raw) => {
    const err = validationError(() => detectShape(raw));
    expect(err.where?.field).toBe('body');
    expect(err.message).toContain('object.properties');
    expect(err.message).toContain('lastUpdateDateTime');
    expect(err.message).toContain('#microsoft.graph.security.incident');
  });

  it('refuses a bare ARM incident resource and says how to wrap it', () => {
    const arm = fixture('sentinel', 'create-defender-incident').object as Json;
    const err = validationError(() => parseEvent(arm));
    expect(err.message).toContain('without the trigger wrapper');
  });

  it('passes the parser’s field-level error through', () => {
    const body = fixture('sentinel', 'create-defender-incident');
    body.object.properties.title = null;
    const err = validationError(() => parseEvent(body));
    expect(err.where?.field).toBe('object.properties.title');
  });
});
