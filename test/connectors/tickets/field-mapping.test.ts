import { describe, expect, it } from 'vitest';
import { fieldMappingSchema, mappedFields } from '../../../functions/connectors/tickets/field-mapping.js';
import { parseReceiversFile } from '../../../functions/config/parse.js';
import type { KitError } from '../../../functions/core/errors.js';
import { makeIncident } from '../../fixtures/incident.js';

const owner = (assignedTo: string | null, userPrincipalName: string | null = null) => ({ assignedTo, userPrincipalName, objectId: null, email: null, kind: 'user' as const });

describe('mappedFields', () => {
  const mapping = fieldMappingSchema.parse({
    priority: { from: 'severity', map: { High: '1', Medium: '2', Low: '3' }, default: '4' },
    assignment_group: { from: 'owner', map: { 'defender experts': 'MDE Experts', 'alex@contoso.com': 'SOC Tier 2' } },
    close_code: { from: 'classification', map: { TruePositive: 'Solved (Permanently)' }, default: 'Closed/Resolved by Caller' },
    u_source: { from: 'constant', value: 'Microsoft Sentinel' },
    u_determination: { from: 'determination', map: { malware: 'Malware' } },
  });

  it('maps each source through its map, with the default for a value the map lacks', () => {
    const high = mappedFields(mapping, makeIncident({ severity: 'High', classification: 'TruePositive', owner: owner('Defender Experts') }));
    expect(high).toEqual({ priority: '1', assignment_group: 'MDE Experts', close_code: 'Solved (Permanently)', u_source: 'Microsoft Sentinel' });
    const info = mappedFields(mapping, makeIncident({ severity: 'Informational', classification: null, owner: owner(null) }));
    expect(info).toEqual({ priority: '4', close_code: 'Closed/Resolved by Caller', u_source: 'Microsoft Sentinel' });
  });

  it('matches an owner by name or UPN, case-insensitively, and leaves a field unset rather than empty', () => {
    expect(mappedFields(mapping, makeIncident({ owner: owner('Alex Wilber', 'ALEX@contoso.com') })).assignment_group).toBe('SOC Tier 2');
    expect('assignment_group' in mappedFields(mapping, makeIncident({ owner: owner('Someone Else') }))).toBe(false);
    expect(mappedFields(mapping, makeIncident({ determination: 'malware' })).u_determination).toBe('Malware');
    expect(mappedFields(undefined, makeIncident())).toEqual({});
  });
});

describe('fields: in receivers.yaml', () => {
  it('rejects values that cannot be the source, with file:line:col and the field path', () => {
    const problems: KitError[] = [];
    const schemaOnly = fieldMappingSchema.safeParse({
      priority: { from: 'severity', map: { Critical: '1' } },
      u_x: { from: 'constant' },
      u_y: { from: 'owner' },
      u_z: { from: 'status', value: 'x', map: { Closed: 'done' } },
      'bad field': { from: 'constant', value: 1 },
    });
    expect(schemaOnly.success).toBe(false);
    const messages = schemaOnly.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'priority.map.Critical: "Critical" is not a severity (one of Unknown, Informational, Low, Medium, High)',
        'u_x.value: from: constant needs a value',
        'u_y.map: from: owner needs a map (or at least a default)',
        'u_z.value: value is only for from: constant; from: status uses map and default',
      ]),
    );
    expect(messages.some((m) => m.startsWith('bad field') && m.includes('Invalid key'))).toBe(true);
    expect(problems).toEqual([]);
  });

  it('is part of a ticket receiver: parseReceiversFile points at the line of the bad value', () => {
    const problems: KitError[] = [];
    const source = ['receivers:', '  soc-jira:', '    kind: jira', '    project: SOC', '    fields:', '      priority:', '        from: severity', '        map:', '          Critical: Highest', ''].join('\n');
    parseReceiversFile({ path: 'playbooks/receivers.yaml', source }, problems);
    expect(problems.map((p) => p.format())).toEqual([
      expect.stringMatching(/^playbooks\/receivers\.yaml:9:\d+ .*receivers\.soc-jira\.fields\.priority\.map\.Critical: "Critical" is not a severity/),
    ]);

    const badName: KitError[] = [];
    parseReceiversFile({ path: 'r.yaml', source: source.replace('      priority:', '      "my field":').replace('Critical: Highest', 'High: Highest') }, badName);
    expect(badName.map((p) => p.format())).toEqual([expect.stringMatching(/^r\.yaml:6:\d+ .*fields\.my field: the name "my field" must be a target field name/)]);
  });

  it('Jira writes the mapped fields into the create, in its shapes, and its own fields win', async () => {
    const { buildJiraPayload } = await import('../../../functions/connectors/jira/payload.js');
    const { outboxBody } = await import('../../../functions/connectors/request.js');
    const { receiverSchema } = await import('../../../functions/config/schema.js');
    const { makeStep } = await import('../../fixtures/incident.js');
    const { renderedJira } = await import('../../fixtures/rendered.js');
    const receiver = receiverSchema.parse({
      kind: 'jira',
      project: 'SOC',
      fields: {
        priority: { from: 'severity', map: { High: 'Highest' } },
        assignee: { from: 'owner', map: { 'Defender Experts': '5b10ac8d82e05b22cc7d4ef5' } },
        customfield_10010: { from: 'constant', value: 'sentinel' },
        summary: { from: 'constant', value: 'overridden?' },
      },
    });
    const incident = makeIncident({ severity: 'High', owner: owner('Defender Experts') });
    const step = makeStep({ kind: 'jira', stepType: 'ticket', ticketAction: 'upsert', incident });
    const rendered = renderedJira(incident, { summary: 'Incident 1' });
    const request = buildJiraPayload({ step, receiverName: 'soc-jira', receiver: receiver as never, rendered, operation: 'create', ticket: null });
    const fields = (JSON.parse(outboxBody(request)) as { fields: Record<string, unknown> }).fields;
    expect(fields['priority']).toEqual({ name: 'Highest' });
    expect(fields['assignee']).toEqual({ accountId: '5b10ac8d82e05b22cc7d4ef5' });
    expect(fields['customfield_10010']).toBe('sentinel');
    expect(fields['summary']).toBe('Incident 1');
    expect(fields['project']).toEqual({ key: 'SOC' });
  });
});
