/**
 * `fields:` on the ticket kinds other than Jira (Jira's is in field-mapping.test.ts): for ServiceNow, Azure
 * DevOps, Zendesk, Freshservice and PagerDuty, the builder writes the mapped values in the target's shapes on
 * create (and on the updates that can carry them: only the fields whose source changed), the kit's own
 * fields win, a receiver without `fields:` builds exactly what it built before, and a value the target would
 * refuse is refused by `spk validate` at its line. The live connectors send the builders' bodies; each is
 * checked once against its fake.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseReceiversFile } from '../../../functions/config/parse.js';
import { receiverSchema, type ReceiverConfig, type ReceiverKind } from '../../../functions/config/schema.js';
import { kindOf } from '../../../functions/connectors/kinds.js';
import { outboxBody } from '../../../functions/connectors/request.js';
import type { Operation, OutboundRequest } from '../../../functions/connectors/types.js';
import { adoGuardedPatch } from '../../../functions/connectors/azuredevops/payload.js';
import { createAzuredevopsConnector } from '../../../functions/connectors/azuredevops/azuredevops.js';
import { createFreshserviceConnector } from '../../../functions/connectors/freshservice/freshservice.js';
import { createPagerdutyConnector } from '../../../functions/connectors/pagerduty/pagerduty.js';
import { createServicenowConnector } from '../../../functions/connectors/servicenow/servicenow.js';
import { createZendeskConnector } from '../../../functions/connectors/zendesk/zendesk.js';
import type { DeliveryStep, TicketRef } from '../../../functions/core/delivery.js';
import type { KitError } from '../../../functions/core/errors.js';
import type { Change, Incident } from '../../../functions/core/model.js';
import type { RenderedMessage } from '../../../functions/render/types.js';
import { makeIncident, makeStep } from '../../fixtures/incident.js';
import { startFakeServer, type FakeServer } from '../../helpers/fake-server.js';
import { createFakeAzureDevOps, renderedAdo } from '../fakes/azuredevops.js';
import { createFakeFreshservice, renderedFreshservice } from '../fakes/freshservice.js';
import { createFakePagerduty, renderedPagerduty } from '../fakes/pagerduty.js';
import { createFakeServicenow, renderedServicenow } from '../fakes/servicenow.js';
import { createFakeZendesk, renderedZendesk } from '../fakes/zendesk.js';

type Json = Record<string, unknown>;
const owner = (assignedTo: string) => ({ assignedTo, userPrincipalName: null, objectId: null, email: null, kind: 'user' as const });
const ownerChange: Change = { kind: 'owner', from: 'Defender Experts', to: 'Customer', id: 'owner:customer#1' };
const severityChange: Change = { kind: 'severity', from: 'Medium', to: 'High', id: 'severity:high#1' };
const closed: Change = { kind: 'status', from: 'Active', to: 'Closed', id: 'status:closed#1' };
const classified: Change = { kind: 'classification', from: null, to: 'TruePositive', id: 'classification:truepositive#1' };

const rendered: Record<string, (i: Incident) => RenderedMessage> = {
  servicenow: renderedServicenow,
  azuredevops: () => renderedAdo(),
  zendesk: (i) => renderedZendesk(i),
  freshservice: (i) => renderedFreshservice(i),
  pagerduty: (i) => renderedPagerduty(i),
};

function stepFor(kind: ReceiverKind, overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  return makeStep({ receiver: `soc-${kind}`, kind, stepType: 'ticket', ticketAction: 'upsert', template: 'ticket', ...overrides });
}

function build(receiver: ReceiverConfig, operation: Operation, step: DeliveryStep = stepFor(receiver.kind), ticket: TicketRef | null = null): OutboundRequest {
  return kindOf(receiver.kind).build({ step, receiverName: `soc-${receiver.kind}`, receiver, rendered: rendered[receiver.kind]!(step.incident), operation, ticket } as never);
}
const json = (r: OutboundRequest) => JSON.parse(outboxBody(r)) as Json;
const parse = (raw: Json) => receiverSchema.parse(raw);
const existing = (kind: string, id = '1'): TicketRef => ({ receiver: `soc-${kind}`, incidentKey: '12345', id, key: null, url: null, state: 'open' });

/** what the builder made without `fields:`, and with a mapping whose rules all yield nothing: the same bytes */
function expectUnchanged(base: Json, nothing: Json, steps: Array<[Operation, DeliveryStep, TicketRef | null]>) {
  for (const [operation, step, ticket] of steps) {
    const without = build(parse(base), operation, step, ticket);
    const empty = build(parse({ ...base, fields: nothing }), operation, step, ticket);
    expect(outboxBody(empty), operation).toBe(outboxBody(without));
    expect(empty.path).toBe(without.path);
  }
}

/** the receivers.yaml problems for one receiver, as `spk validate` prints them */
function problemsOf(receiverYaml: string[]): string[] {
  const problems: KitError[] = [];
  parseReceiversFile({ path: 'playbooks/receivers.yaml', source: ['receivers:', '  soc-x:', ...receiverYaml.map((l) => `    ${l}`), ''].join('\n') }, problems);
  return problems.map((p) => p.format());
}

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('ServiceNow fields:', () => {
  const base = { kind: 'servicenow', assignmentGroup: 'a'.repeat(32) };
  const fields = {
    urgency: { from: 'severity', map: { High: '2' }, default: '3' },
    assignment_group: { from: 'owner', map: { Customer: 'SOC Tier 2', 'Defender Experts': 'MDE Experts' } },
    close_code: { from: 'classification', map: { TruePositive: 'Solved (Permanently)' }, default: 'Closed/Resolved by Caller' },
    u_source: { from: 'constant', value: 'Microsoft Sentinel' },
    correlation_id: { from: 'constant', value: 'stolen' },
    short_description: { from: 'constant', value: 'overridden?' },
    state: { from: 'status', map: { Closed: '7', Active: '1' } },
    work_notes: { from: 'constant', value: 'x' },
  };
  const receiver = parse({ ...base, fields });

  it('create: a mapped default takes its place, others follow, the kit\'s own fields win, close_code waits for the resolve', () => {
    const body = json(build(receiver, 'create'));
    expect(Object.keys(body)).toEqual(['short_description', 'description', 'urgency', 'impact', 'correlation_id', 'correlation_display', 'assignment_group', 'work_notes', 'u_source']);
    expect(body).toMatchObject({ urgency: '2', impact: '1', assignment_group: 'MDE Experts', u_source: 'Microsoft Sentinel', correlation_display: 'Microsoft Sentinel' });
    expect(body.correlation_id).toBe('ws:8d300aff-d535-4430-9eef-3046965c48cf:12345');
    expect(body.short_description).toBe('Sentinel incident 3177: Multi-stage incident involving Initial access & Lateral movement');
  });

  it('note: only the fields whose source changed with the step; resolve: close_code from the classification, the kit\'s state', () => {
    const handBack = stepFor('servicenow', { changes: [ownerChange], incident: makeIncident({ owner: owner('Customer') }) });
    expect(json(build(receiver, 'update', handBack, existing('servicenow')))).toEqual({ work_notes: expect.stringMatching(/\[spk:[0-9a-f]{16}\]$/), assignment_group: 'SOC Tier 2' });
    const tagOnly = stepFor('servicenow', { changes: [{ kind: 'tag-added', from: null, to: 'x', id: 'tag-added:x#1' }] });
    expect(Object.keys(json(build(receiver, 'update', tagOnly, existing('servicenow'))))).toEqual(['work_notes']);

    const close = stepFor('servicenow', { ticketAction: 'resolve', changes: [closed, classified], incident: makeIncident({ status: 'Closed', classification: 'TruePositive' }) });
    const resolved = json(build(receiver, 'resolve', close, existing('servicenow')));
    expect(resolved).toMatchObject({ state: '6', close_code: 'Solved (Permanently)' });
    expect(Object.keys(resolved)).toEqual(['state', 'close_code', 'close_notes', 'work_notes']);
    // a close without a classification change still gets the mapped close_code (its default), never the kit's
    const plain = stepFor('servicenow', { ticketAction: 'resolve', changes: [closed], incident: makeIncident({ status: 'Closed' }) });
    expect(json(build(receiver, 'resolve', plain, existing('servicenow'))).close_code).toBe('Closed/Resolved by Caller');
  });

  it('without fields: (or with rules that yield nothing) every body is what it was', () => {
    const nothing = { u_x: { from: 'owner', map: { nobody: 'x' } } };
    const close = stepFor('servicenow', { ticketAction: 'resolve', changes: [closed, ownerChange] });
    expectUnchanged(base, nothing, [['create', stepFor('servicenow'), null], ['update', stepFor('servicenow', { changes: [ownerChange] }), existing('servicenow')], ['resolve', close, existing('servicenow')]]);
    expect(Object.keys(json(build(parse(base), 'create')))).toEqual(['short_description', 'description', 'urgency', 'impact', 'correlation_id', 'correlation_display', 'assignment_group', 'work_notes']);
  });

  it('refuses a name that is no ServiceNow column, at its line', () => {
    expect(problemsOf(['kind: servicenow', 'fields:', '  Assignment.Group: { from: constant, value: x }'])).toEqual([
      expect.stringMatching(/^playbooks\/receivers\.yaml:5:\d+ receivers\.soc-x\.fields\.Assignment\.Group: "Assignment\.Group" is not a ServiceNow column name/),
    ]);
  });

  it('live: the create and the note on the wire carry the mapped fields', async () => {
    const sn = createFakeServicenow({ username: 'u', password: 'p' });
    const server = await startFakeServer(sn.handler);
    servers.push(server);
    const live = parse({ kind: 'servicenow', instanceUrl: server.url, username: 'env:SN_USER', password: 'env:SN_PASSWORD', fields });
    const connector = createServicenowConnector({ receiverName: 'soc-servicenow', receiver: live as never, env: { SN_USER: 'u', SN_PASSWORD: 'p' }, fetchTimeoutMs: 5000 });
    const step = stepFor('servicenow');
    const created = await connector.execute({ step, receiverName: 'soc-servicenow', receiver: live, rendered: renderedServicenow(step.incident), existingTicket: null });
    const create = server.requests.find((r) => r.method === 'POST')!;
    expect(JSON.parse(create.body)).toMatchObject({ urgency: '2', assignment_group: 'MDE Experts', u_source: 'Microsoft Sentinel' });
    expect(sn.records()[0]).toMatchObject({ urgency: '2', assignment_group: 'MDE Experts' });
    const handBack = stepFor('servicenow', { idempotencyKey: 'b'.repeat(64), changes: [ownerChange], incident: makeIncident({ owner: owner('Customer') }) });
    await connector.execute({ step: handBack, receiverName: 'soc-servicenow', receiver: live, rendered: renderedServicenow(handBack.incident), existingTicket: created.ticket });
    const patch = server.requests.filter((r) => r.method === 'PATCH').pop()!;
    expect(JSON.parse(patch.body)).toMatchObject({ assignment_group: 'SOC Tier 2' });
    expect(sn.records()[0]!.assignment_group).toBe('SOC Tier 2');
  });
});

describe('Azure DevOps fields:', () => {
  const base = { kind: 'azuredevops', project: 'SecOps', areaPath: 'SecOps\\SOC' };
  const fields = {
    'Custom.Team': { from: 'owner', map: { 'Defender Experts': 'MDE', Customer: 'Tier 2' } },
    'Microsoft.VSTS.Common.Priority': { from: 'severity', map: { High: 2 }, default: 3 },
    'System.AssignedTo': { from: 'owner', map: { Customer: 'soc-lead@contoso.com' } },
    'System.AreaPath': { from: 'provider', map: { 'Microsoft Defender XDR': 'SecOps\\XDR' } },
    'System.Title': { from: 'constant', value: 'overridden?' },
    'system.tags': { from: 'constant', value: 'lost-tag' },
    'System.State': { from: 'status', map: { Closed: 'Closed' } },
  };
  const receiver = parse({ ...base, fields });
  const ops = (r: OutboundRequest) => JSON.parse(outboxBody(r)) as Array<{ op: string; path: string; value: unknown }>;

  it('create: the kit\'s ops keep their order (a mapped Priority or AreaPath in its place), the rest follow; Title, Tags, State are the kit\'s', () => {
    const create = ops(build(receiver, 'create'));
    expect(create.map((o) => o.path)).toEqual([
      '/fields/System.Title',
      '/fields/System.Description',
      '/fields/System.Tags',
      '/fields/Microsoft.VSTS.Common.Priority',
      '/fields/System.AreaPath',
      '/fields/Custom.Team',
    ]);
    expect(create.every((o) => o.op === 'add')).toBe(true);
    expect(create[0]!.value).toBe('Sentinel incident 3177: Multi-stage incident');
    expect(create[2]!.value).toBe('sentinel; sentinel-12345');
    expect(create[3]!.value).toBe(2);
    expect(create[4]!.value).toBe('SecOps\\XDR');
    expect(create[5]!.value).toBe('MDE');
  });

  it('update and resolve: the fields whose source changed, before the comment; the live guarded patch too', () => {
    const handBack = stepFor('azuredevops', { changes: [ownerChange], incident: makeIncident({ owner: owner('Customer') }) });
    const update = ops(build(receiver, 'update', handBack, existing('azuredevops', '7')));
    expect(update).toEqual([
      { op: 'add', path: '/fields/Custom.Team', value: 'Tier 2' },
      { op: 'add', path: '/fields/System.AssignedTo', value: 'soc-lead@contoso.com' },
      { op: 'add', path: '/fields/System.History', value: '<p>Owner changed to Defender Experts; status Active.</p>' },
    ]);
    const raised = stepFor('azuredevops', { ticketAction: 'resolve', changes: [closed, severityChange], incident: makeIncident({ severity: 'High', status: 'Closed' }) });
    expect(ops(build(receiver, 'resolve', raised, existing('azuredevops', '7'))).map((o) => `${o.path}=${JSON.stringify(o.value)}`)).toEqual([
      '/fields/System.State="Done"',
      '/fields/Microsoft.VSTS.Common.Priority=2',
      '/fields/System.History="<p>Owner changed to Defender Experts; status Active.</p>"',
    ]);
    const input = { step: handBack, receiverName: 'soc-ado', receiver: receiver as never, rendered: renderedAdo(), operation: 'update' as const, ticket: existing('azuredevops', '7') };
    expect(ops(adoGuardedPatch(input, { rev: 3, marker: '[spk:0123456789abcdef]', state: 'Active' })).map((o) => o.path)).toEqual([
      '/rev',
      '/fields/System.State',
      '/fields/Custom.Team',
      '/fields/System.AssignedTo',
      '/fields/System.History',
    ]);
  });

  it('without fields: (or with rules that yield nothing) every body is what it was', () => {
    const nothing = { 'Custom.X': { from: 'owner', map: { nobody: 'x' } } };
    expectUnchanged(base, nothing, [['create', stepFor('azuredevops'), null], ['update', stepFor('azuredevops', { changes: [ownerChange] }), existing('azuredevops')], ['resolve', stepFor('azuredevops', { changes: [ownerChange, closed] }), existing('azuredevops')]]);
    const input = { step: stepFor('azuredevops', { changes: [ownerChange] }), receiverName: 'soc-ado', rendered: renderedAdo(), operation: 'update' as const, ticket: existing('azuredevops') };
    const guarded = (raw: Json) => outboxBody(adoGuardedPatch({ ...input, receiver: parse(raw) as never }, { rev: 1, marker: '[spk:0123456789abcdef]' }));
    expect(guarded({ ...base, fields: nothing })).toBe(guarded(base));
  });

  it('refuses a Priority that is not a number and a name that is not a reference name, at their lines', () => {
    const problems = problemsOf(['kind: azuredevops', 'project: SecOps', 'fields:', '  Microsoft.VSTS.Common.Priority:', '    from: severity', '    map: { High: "1" }', '    default: 4', '  Custom/Team: { from: constant, value: x }']);
    expect(problems).toEqual([
      expect.stringMatching(/^playbooks\/receivers\.yaml:8:\d+ receivers\.soc-x\.fields\.Microsoft\.VSTS\.Common\.Priority\.map\.High: Microsoft\.VSTS\.Common\.Priority is a number in Azure DevOps .*not "1"/),
      expect.stringMatching(/^playbooks\/receivers\.yaml:10:\d+ receivers\.soc-x\.fields\.Custom\/Team: "Custom\/Team" is not an Azure DevOps field reference name/),
    ]);
  });

  it('live: the create and the guarded comment on the wire carry the mapped fields', async () => {
    const PAT = 'ado-test-pat-52charsxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
    const ado = createFakeAzureDevOps({ project: 'SecOps', pat: PAT });
    const server = await startFakeServer(ado.handler);
    servers.push(server);
    const live = parse({ ...base, organizationUrl: server.url, pat: 'env:ADO_PAT', fields });
    const connector = createAzuredevopsConnector({ receiverName: 'soc-ado', receiver: live as never, env: { ADO_PAT: PAT }, fetchTimeoutMs: 5000 });
    const created = await connector.execute({ step: stepFor('azuredevops'), receiverName: 'soc-ado', receiver: live, rendered: renderedAdo(), existingTicket: null });
    expect(ado.workItem(1)!.fields).toMatchObject({ 'Microsoft.VSTS.Common.Priority': 2, 'Custom.Team': 'MDE', 'System.AreaPath': 'SecOps\\XDR', 'System.Title': 'Sentinel incident 3177: Multi-stage incident' });
    const handBack = stepFor('azuredevops', { idempotencyKey: 'b'.repeat(64), changes: [ownerChange], incident: makeIncident({ owner: owner('Customer') }) });
    await connector.execute({ step: handBack, receiverName: 'soc-ado', receiver: live, rendered: renderedAdo(), existingTicket: created.ticket });
    expect(ado.workItem(1)!.fields).toMatchObject({ 'Custom.Team': 'Tier 2', 'System.AssignedTo': 'soc-lead@contoso.com', 'Microsoft.VSTS.Common.Priority': 2 });
  });
});

describe('Zendesk fields:', () => {
  const base = { kind: 'zendesk', groupId: 360001 };
  const fields = {
    priority: { from: 'severity', map: { High: 'urgent' }, default: 'normal' },
    type: { from: 'constant', value: 'problem' },
    group_id: { from: 'owner', map: { Customer: 360002 } },
    assignee_email: { from: 'owner', map: { 'Defender Experts': 'mde@contoso.com', Customer: 'tier2@contoso.com' } },
    '360012345678': { from: 'provider', map: { 'Microsoft Defender XDR': 'defender_xdr' } },
    '360087654321': { from: 'owner', map: { Customer: 'customer' } },
    external_id: { from: 'constant', value: 'stolen' },
    tags: { from: 'constant', value: 'lost' },
    status: { from: 'status', map: { Active: 'pending' } },
    subject: { from: 'constant', value: 'overridden?' },
  };
  const receiver = parse({ ...base, fields });
  const ticket = (r: OutboundRequest) => (json(r) as { ticket: Json }).ticket;

  it('create: properties at the top level (a mapped default in its place), custom field ids in custom_fields; the kit\'s own win', () => {
    const t = ticket(build(receiver, 'create'));
    expect(Object.keys(t)).toEqual(['subject', 'comment', 'external_id', 'tags', 'priority', 'type', 'group_id', 'assignee_email', 'custom_fields']);
    expect(t).toMatchObject({ priority: 'urgent', type: 'problem', group_id: 360001, assignee_email: 'mde@contoso.com', external_id: '12345', tags: ['sentinel', 'sentinel-12345'] });
    expect(t.custom_fields).toEqual([{ id: 360012345678, value: 'defender_xdr' }]);
    expect(t.subject).toBe('Sentinel incident 3177: Multi-stage incident involving Initial access & Lateral movement');
  });

  it('update and solve: the fields whose source changed; status stays the kit\'s', () => {
    const handBack = stepFor('zendesk', { changes: [ownerChange], incident: makeIncident({ owner: owner('Customer') }) });
    expect(ticket(build(receiver, 'update', handBack, existing('zendesk', '101')))).toEqual({
      comment: expect.objectContaining({ public: false }),
      group_id: 360002,
      assignee_email: 'tier2@contoso.com',
      custom_fields: [{ id: 360087654321, value: 'customer' }],
    });
    const close = stepFor('zendesk', { ticketAction: 'resolve', changes: [closed, severityChange], incident: makeIncident({ status: 'Closed' }) });
    expect(ticket(build(receiver, 'resolve', close, existing('zendesk', '101')))).toEqual({ status: 'solved', comment: expect.any(Object), priority: 'urgent' });
  });

  it('without fields: (or with rules that yield nothing) every body is what it was', () => {
    const nothing = { priority: { from: 'owner', map: { nobody: 'low' } }, '360012345678': { from: 'determination', map: { malware: 'x' } } };
    expectUnchanged(base, nothing, [['create', stepFor('zendesk'), null], ['update', stepFor('zendesk', { changes: [ownerChange] }), existing('zendesk')], ['resolve', stepFor('zendesk', { changes: [closed] }), existing('zendesk')]]);
  });

  it('refuses a priority, type or id Zendesk does not take, and a name that is neither a property nor a field id, at their lines', () => {
    const problems = problemsOf([
      'kind: zendesk',
      'fields:',
      '  priority: { from: severity, map: { High: P1 }, default: normal }',
      '  type: { from: constant, value: ticket }',
      '  group_id: { from: constant, value: "360002" }',
      '  Custom Field: { from: constant, value: x }',
    ]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^playbooks\/receivers\.yaml:8:\d+ receivers\.soc-x\.fields\.Custom Field: the name "Custom Field" must be a Zendesk ticket property/),
      ]),
    );
    const values = problemsOf(['kind: zendesk', 'fields:', '  priority: { from: severity, map: { High: P1 }, default: normal }', '  type: { from: constant, value: ticket }', '  group_id: { from: constant, value: "360002" }']);
    expect(values).toEqual([
      expect.stringMatching(/^playbooks\/receivers\.yaml:5:\d+ receivers\.soc-x\.fields\.priority\.map\.High: priority is one of low, normal, high, urgent in Zendesk, not "P1"/),
      expect.stringMatching(/^playbooks\/receivers\.yaml:6:\d+ receivers\.soc-x\.fields\.type\.value: type is one of problem, incident, question, task in Zendesk, not "ticket"/),
      expect.stringMatching(/^playbooks\/receivers\.yaml:7:\d+ receivers\.soc-x\.fields\.group_id\.value: group_id is a Zendesk id \(a number\), not "360002"/),
    ]);
  });

  it('live: the create on the wire carries the mapped fields (marker and Idempotency-Key as always)', async () => {
    const zd = createFakeZendesk({ email: 'bot@contoso.com', apiToken: 'zd-token-0123456789' });
    const server = await startFakeServer(zd.handler);
    servers.push(server);
    const live = parse({ ...base, baseUrl: server.url, email: 'env:ZD_EMAIL', apiToken: 'env:ZD_TOKEN', fields });
    const connector = createZendeskConnector({ receiverName: 'soc-zendesk', receiver: live as never, env: { ZD_EMAIL: 'bot@contoso.com', ZD_TOKEN: 'zd-token-0123456789' }, fetchTimeoutMs: 5000 });
    const step = stepFor('zendesk');
    await connector.execute({ step, receiverName: 'soc-zendesk', receiver: live, rendered: renderedZendesk(step.incident), existingTicket: null });
    const create = server.requests.find((r) => r.method === 'POST')!;
    expect((JSON.parse(create.body) as { ticket: Json }).ticket).toMatchObject({ priority: 'urgent', type: 'problem', custom_fields: [{ id: 360012345678, value: 'defender_xdr' }], external_id: '12345' });
    expect(zd.tickets[0]).toMatchObject({ priority: 'urgent', type: 'problem', group_id: 360001 });
  });
});

describe('Freshservice fields:', () => {
  const base = { kind: 'freshservice', requesterEmail: 'soc@contoso.example', groupId: 7 };
  const fields = {
    priority: { from: 'severity', map: { High: 4 }, default: 2 },
    urgency: { from: 'severity', map: { High: 3 }, default: 1 },
    impact: { from: 'constant', value: 2 },
    category: { from: 'provider', map: { 'Microsoft Defender XDR': 'Security' } },
    responder_id: { from: 'owner', map: { Customer: 42 } },
    cf_sentinel_owner: { from: 'owner', map: { 'Defender Experts': 'MDE', Customer: 'Customer' } },
    cf_classification: { from: 'classification', map: { TruePositive: 'True positive' } },
    tags: { from: 'constant', value: 'lost' },
    status: { from: 'status', map: { Active: 3 } },
    email: { from: 'constant', value: 'someone@else.example' },
  };
  const receiver = parse({ ...base, fields });

  it('create: attributes at the top level (a mapped priority in its place), cf_ fields in custom_fields; the kit\'s own win', () => {
    const body = json(build(receiver, 'create'));
    expect(Object.keys(body)).toEqual(['email', 'subject', 'description', 'status', 'priority', 'source', 'tags', 'group_id', 'urgency', 'impact', 'category', 'custom_fields']);
    expect(body).toMatchObject({ email: 'soc@contoso.example', status: 2, priority: 4, urgency: 3, impact: 2, category: 'Security', group_id: 7, tags: ['sentinel', 'sentinel-12345'] });
    expect(body.custom_fields).toEqual({ cf_sentinel_owner: 'MDE' });
  });

  it('a note carries no fields; the resolve PUT carries those whose source changed, never tags', () => {
    const handBack = stepFor('freshservice', { changes: [ownerChange], incident: makeIncident({ owner: owner('Customer') }) });
    expect(Object.keys(json(build(receiver, 'update', handBack, existing('freshservice'))))).toEqual(['body', 'private']);
    const close = stepFor('freshservice', { ticketAction: 'resolve', changes: [closed, classified], incident: makeIncident({ status: 'Closed', classification: 'TruePositive' }) });
    expect(json(build(receiver, 'resolve', close, existing('freshservice')))).toEqual({ status: 4, custom_fields: { cf_classification: 'True positive' } });
  });

  it('without fields: (or with rules that yield nothing) every body is what it was', () => {
    const nothing = { cf_x: { from: 'owner', map: { nobody: 'x' } }, priority: { from: 'determination', map: { malware: 4 } } };
    expectUnchanged(base, nothing, [['create', stepFor('freshservice'), null], ['update', stepFor('freshservice', { changes: [ownerChange] }), existing('freshservice')], ['resolve', stepFor('freshservice', { changes: [closed, ownerChange] }), existing('freshservice')]]);
  });

  it('refuses a priority outside 1–4, an urgency outside 1–3, a text id and an upper-case name, at their lines', () => {
    const problems = problemsOf([
      'kind: freshservice',
      'requesterEmail: soc@contoso.example',
      'fields:',
      '  priority: { from: severity, map: { High: 5 }, default: 2 }',
      '  urgency: { from: constant, value: High }',
      '  group_id: { from: constant, value: "7" }',
      '  CF_Team: { from: constant, value: x }',
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^playbooks\/receivers\.yaml:6:\d+ receivers\.soc-x\.fields\.priority\.map\.High: priority is a number from 1 to 4 in Freshservice, not 5/),
      expect.stringMatching(/^playbooks\/receivers\.yaml:7:\d+ receivers\.soc-x\.fields\.urgency\.value: urgency is a number from 1 to 3 in Freshservice, not "High"/),
      expect.stringMatching(/^playbooks\/receivers\.yaml:8:\d+ receivers\.soc-x\.fields\.group_id\.value: group_id is a Freshservice id \(a number\), not "7"/),
      expect.stringMatching(/^playbooks\/receivers\.yaml:9:\d+ receivers\.soc-x\.fields\.CF_Team: "CF_Team" is not a Freshservice ticket attribute/),
    ]);
  });

  it('live: the create and the status PUT on the wire carry the mapped fields, the PUT no tags', async () => {
    const fs = createFakeFreshservice({ apiKey: 'fs-key-0123456789' });
    const server = await startFakeServer(fs.handler);
    servers.push(server);
    // the fields the fake knows (it refuses others as Freshservice refuses a field it does not have)
    const liveFields = { priority: fields.priority, cf_sentinel_owner: fields.cf_sentinel_owner, cf_classification: fields.cf_classification, tags: fields.tags };
    const live = parse({ ...base, baseUrl: server.url, apiKey: 'env:FS_KEY', fields: liveFields });
    const connector = createFreshserviceConnector({ receiverName: 'soc-freshservice', receiver: live as never, env: { FS_KEY: 'fs-key-0123456789' }, fetchTimeoutMs: 5000 });
    const step = stepFor('freshservice');
    const created = await connector.execute({ step, receiverName: 'soc-freshservice', receiver: live, rendered: renderedFreshservice(step.incident), existingTicket: null });
    const create = server.requests.find((r) => r.method === 'POST' && r.path === '/api/v2/tickets')!;
    expect(JSON.parse(create.body)).toMatchObject({ priority: 4, custom_fields: { cf_sentinel_owner: 'MDE' }, tags: ['sentinel', 'sentinel-12345'] });
    expect(fs.tickets[0]).toMatchObject({ priority: 4 });
    const close = stepFor('freshservice', { idempotencyKey: 'c'.repeat(64), ticketAction: 'resolve', changes: [closed, classified], incident: makeIncident({ status: 'Closed', classification: 'TruePositive' }) });
    await connector.execute({ step: close, receiverName: 'soc-freshservice', receiver: live, rendered: renderedFreshservice(close.incident), existingTicket: created.ticket });
    const put = server.requests.find((r) => r.method === 'PUT')!;
    expect(JSON.parse(put.body)).toEqual({ status: 4, custom_fields: { cf_classification: 'True positive' } });
    expect(fs.tickets[0]!.tags).toEqual(['sentinel', 'sentinel-12345']);
  });
});

describe('PagerDuty fields:', () => {
  const base = { kind: 'pagerduty' };
  const fields = {
    severity: { from: 'severity', map: { High: 'warning' }, default: 'info' },
    component: { from: 'constant', value: 'endpoint' },
    group: { from: 'owner', map: { 'Defender Experts': 'mde' } },
    class: { from: 'constant', value: 'security' },
    team: { from: 'owner', map: { 'Defender Experts': 'Tier 3' } },
    owner: { from: 'constant', value: 'not the owner' },
    summary: { from: 'constant', value: 'overridden?' },
    source: { from: 'constant', value: 'elsewhere' },
  };
  const receiver = parse({ ...base, fields });
  const payloadOf = (r: OutboundRequest) => (json(r) as { payload: Json }).payload;

  it('every trigger: severity, component, group, class replaced; other names into custom_details, where the kit\'s win', () => {
    for (const [operation, step] of [['create', stepFor('pagerduty')], ['update', stepFor('pagerduty', { changes: [ownerChange] })]] as const) {
      const p = payloadOf(build(receiver, operation, step));
      expect(p).toMatchObject({ severity: 'warning', component: 'endpoint', group: 'mde', class: 'security', source: 'microsoft-sentinel' });
      expect(p.summary).toBe('Sentinel incident 3177 (High): Multi-stage incident involving Initial access & Lateral movement');
      const details = p.custom_details as Json;
      expect(details.team).toBe('Tier 3');
      expect(details.owner).toBe('Defender Experts');
      expect(Object.keys(details).slice(-1)).toEqual(['team']);
    }
    // resolve and acknowledge carry no payload
    expect(json(build(receiver, 'resolve', stepFor('pagerduty', { changes: [closed] })))).toEqual({ event_action: 'resolve', dedup_key: 'sentinel-12345', routing_key: '<routing-key>' });
  });

  it('without fields: (or with rules that yield nothing) every event is what it was', () => {
    const nothing = { severity: { from: 'owner', map: { nobody: 'critical' } }, team: { from: 'determination', map: { malware: 'x' } } };
    expectUnchanged(base, nothing, [['create', stepFor('pagerduty'), null], ['update', stepFor('pagerduty', { changes: [ownerChange] }), existing('pagerduty')], ['resolve', stepFor('pagerduty', { changes: [closed] }), existing('pagerduty')]]);
  });

  it('refuses a severity PagerDuty does not have, at its line', () => {
    expect(problemsOf(['kind: pagerduty', 'fields:', '  severity:', '    from: severity', '    map: { High: High, Medium: error }'])).toEqual([
      expect.stringMatching(/^playbooks\/receivers\.yaml:7:\d+ receivers\.soc-x\.fields\.severity\.map\.High: severity is one of critical, error, warning, info in PagerDuty, not "High"/),
    ]);
  });

  it('live: the trigger on the wire carries the mapped fields', async () => {
    const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
    const pd = createFakePagerduty({ integrations: { [ROUTING_KEY]: 'PSOC001' }, apiTokens: [], users: [] });
    const server = await startFakeServer(pd.handler);
    servers.push(server);
    const live = parse({ ...base, routingKey: 'env:PD_KEY', eventsUrl: server.url, fields });
    const connector = createPagerdutyConnector({ receiverName: 'soc-pagerduty', receiver: live as never, env: { PD_KEY: ROUTING_KEY }, fetchTimeoutMs: 5000 });
    const step = stepFor('pagerduty');
    await connector.execute({ step, receiverName: 'soc-pagerduty', receiver: live, rendered: renderedPagerduty(step.incident), existingTicket: null });
    const event = JSON.parse(server.requests.find((r) => r.path.endsWith('/v2/enqueue'))!.body) as { payload: Json; routing_key: string };
    expect(event.routing_key).toBe(ROUTING_KEY);
    expect(event.payload).toMatchObject({ severity: 'warning', component: 'endpoint', group: 'mde', class: 'security', custom_details: expect.objectContaining({ team: 'Tier 3' }) });
  });
});
