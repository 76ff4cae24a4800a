import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  evaluateRule,
  evaluateRules,
  ruleFromYaml,
  ruleInputFromTriggerBody,
  type AutomationRuleCondition,
  type ConditionOperator,
  type AutomationRuleDefinition,
  type RuleEvaluationInput,
} from '../../functions/core/automation-rules.js';
import { KitError } from '../../functions/core/errors.js';
import { AWAITING_CUSTOMER_ACTION } from '../../functions/core/model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(root, 'test', 'fixtures', 'rules', name), 'utf8'));

function rule(conditions: AutomationRuleCondition[], overrides: Partial<AutomationRuleDefinition> = {}): AutomationRuleDefinition {
  return {
    name: 'r',
    displayName: 'R',
    order: 1,
    playbook: 'p',
    triggeringLogic: { isEnabled: true, triggersOn: 'Incidents', triggersWhen: 'Updated', conditions },
    file: 'rules/r.yaml',
    ...overrides,
  };
}

function input(overrides: Partial<RuleEvaluationInput> = {}, incident: Partial<RuleEvaluationInput['incident']> = {}): RuleEvaluationInput {
  return {
    trigger: 'Updated',
    incident: {
      title: 'Suspicious USB activity on WS-FIN-042',
      description: '',
      severity: 'High',
      status: 'Active',
      owner: { assignedTo: 'Defender Experts', email: null, userPrincipalName: null, objectId: null },
      labels: [],
      providerName: 'Microsoft Defender XDR',
      tactics: ['InitialAccess'],
      relatedAnalyticRuleIds: [],
      alertProductNames: ['Microsoft Defender for Endpoint'],
      ...incident,
    },
    previous: null,
    updatedFields: [],
    labelsAdded: [],
    alertsAdded: 0,
    commentsAdded: 0,
    tacticsAdded: [],
    updatedBySource: null,
    at: '2026-11-26T09:35:45.113Z',
    ...overrides,
  };
}

const statusChangedTo = (value: string): AutomationRuleCondition => ({
  conditionType: 'PropertyChanged',
  conditionProperties: { propertyName: 'IncidentStatus', changeType: 'ChangedTo', operator: 'Equals', propertyValues: [value] },
});
const labelsAdded: AutomationRuleCondition = { conditionType: 'PropertyArrayChanged', conditionProperties: { arrayType: 'Labels', changeType: 'Added' } };
const labelIs = (value: string): AutomationRuleCondition => ({
  conditionType: 'Property',
  conditionProperties: { propertyName: 'IncidentLabel', operator: 'Equals', propertyValues: [value] },
});

describe('evaluateRule', () => {
  it('fires PropertyChanged ChangedTo only when the field changed and now has the value', () => {
    const r = rule([statusChangedTo('Closed')]);
    expect(evaluateRule(r, input({ updatedFields: ['Status'] }, { status: 'Closed' })).fires).toBe(true);
    expect(evaluateRule(r, input({ updatedFields: ['Status'] }, { status: 'Active' })).fires).toBe(false);
    // already Closed, but this update changed something else
    expect(evaluateRule(r, input({ updatedFields: ['Severity'] }, { status: 'Closed' })).fires).toBe(false);
  });

  it('compares case-insensitively, as Sentinel does', () => {
    const r = rule([statusChangedTo('closed'), labelIs('awaiting customer action')]);
    const i = input({ updatedFields: ['status'], labelsAdded: [] }, { status: 'CLOSED', labels: [AWAITING_CUSTOMER_ACTION] });
    expect(evaluateRule(r, i).fires).toBe(true);
  });

  it('treats a PropertyChanged with no changeType as "changed", which is all the portal offers for Owner', () => {
    const r = rule([{ conditionType: 'PropertyChanged', conditionProperties: { propertyName: 'IncidentOwner' } }]);
    expect(evaluateRule(r, input({ updatedFields: ['Owner'] })).fires).toBe(true);
    expect(evaluateRule(r, input({ updatedFields: ['Status'] })).fires).toBe(false);
  });

  it('matches an owner ChangedTo against any of the owner fields', () => {
    const r = rule([
      {
        conditionType: 'PropertyChanged',
        conditionProperties: { propertyName: 'IncidentOwner', changeType: 'ChangedTo', operator: 'Equals', propertyValues: ['alex@contoso.com'] },
      },
    ]);
    const owner = { assignedTo: 'Alex Wilber', email: null, userPrincipalName: 'Alex@Contoso.com', objectId: '4c3f2d1e-0000-4000-8000-000000000001' };
    expect(evaluateRule(r, input({ updatedFields: ['Owner'] }, { owner })).fires).toBe(true);
    expect(evaluateRule(r, input({ updatedFields: ['Owner'] }, { owner: { ...owner, userPrincipalName: 'sam@contoso.com' } })).fires).toBe(false);
  });

  it('needs the previous value for ChangedFrom and says so when the event lacks it', () => {
    const r = rule([
      {
        conditionType: 'PropertyChanged',
        conditionProperties: { propertyName: 'IncidentStatus', changeType: 'ChangedFrom', operator: 'Equals', propertyValues: ['Closed'] },
      },
    ]);
    const reopened = input({ updatedFields: ['Status'] }, { status: 'Active' });
    const unknown = evaluateRule(r, reopened);
    expect(unknown.fires).toBe(false);
    expect(unknown.trace.join('\n')).toContain('previous value unknown');
    expect(evaluateRule(r, { ...reopened, previous: { status: 'Closed', severity: null, owner: null } }).fires).toBe(true);
    expect(evaluateRule(r, { ...reopened, previous: { status: 'New', severity: null, owner: null } }).fires).toBe(false);
  });

  it('negated operators hold when no value matches, including when the value is unknown', () => {
    const notByAutomation = rule([
      {
        conditionType: 'Property',
        conditionProperties: { propertyName: 'IncidentUpdatedBySource', operator: 'NotEquals', propertyValues: ['Playbook', 'AutomationRule'] },
      },
    ]);
    expect(evaluateRule(notByAutomation, input({ updatedBySource: 'automationrule' })).fires).toBe(false);
    expect(evaluateRule(notByAutomation, input({ updatedBySource: 'Playbook' })).fires).toBe(false);
    expect(evaluateRule(notByAutomation, input({ updatedBySource: 'User' })).fires).toBe(true);
    expect(evaluateRule(notByAutomation, input({ updatedBySource: null })).fires).toBe(true);
  });

  it('applies Contains, StartsWith, EndsWith and their negations to strings and to arrays', () => {
    const cases: [ConditionOperator, string, boolean][] = [
      ['Contains', 'usb', true],
      ['NotContains', 'usb', false],
      ['StartsWith', 'suspicious', true],
      ['NotStartsWith', 'benign', true],
      ['EndsWith', 'fin-042', true],
      ['NotEndsWith', 'fin-042', false],
    ];
    for (const [operator, value, expected] of cases) {
      const r = rule([{ conditionType: 'Property', conditionProperties: { propertyName: 'IncidentTitle', operator, propertyValues: [value] } }]);
      expect(evaluateRule(r, input()).fires, `${operator} ${value}`).toBe(expected);
    }
    const tactic = rule([{ conditionType: 'Property', conditionProperties: { propertyName: 'IncidentTactics', operator: 'Contains', propertyValues: ['lateral'] } }]);
    expect(evaluateRule(tactic, input({}, { tactics: ['InitialAccess', 'LateralMovement'] })).fires).toBe(true);
    expect(evaluateRule(tactic, input({}, { tactics: ['InitialAccess'] })).fires).toBe(false);
  });

  it('combines Boolean And / Or and traces the inner conditions', () => {
    const anyChange = rule([
      {
        conditionType: 'Boolean',
        conditionProperties: {
          operator: 'Or',
          innerConditions: [
            { conditionType: 'PropertyArrayChanged', conditionProperties: { arrayType: 'Comments', changeType: 'Added' } },
            { conditionType: 'PropertyChanged', conditionProperties: { propertyName: 'IncidentSeverity' } },
          ],
        },
      },
    ]);
    expect(evaluateRule(anyChange, input({ commentsAdded: 1 })).fires).toBe(true);
    expect(evaluateRule(anyChange, input({ updatedFields: ['Severity'] })).fires).toBe(true);
    const none = evaluateRule(anyChange, input({ updatedFields: ['Status'] }));
    expect(none.fires).toBe(false);
    expect(none.trace[0]).toMatch(/^✗ Or of 2 conditions/);
    expect(none.trace.slice(1).every((t) => t.startsWith('  ✗'))).toBe(true);

    const both = rule([
      { conditionType: 'Boolean', conditionProperties: { operator: 'And', innerConditions: [labelsAdded, labelIs('Escalated')] } },
    ]);
    expect(evaluateRule(both, input({ labelsAdded: ['Escalated'] }, { labels: ['Escalated'] })).fires).toBe(true);
    expect(evaluateRule(both, input({ labelsAdded: [] }, { labels: ['Escalated'] })).fires).toBe(false);
  });

  it('fires only for the trigger it is for, when enabled and not expired', () => {
    const c = [statusChangedTo('Active')];
    const i = input({ updatedFields: ['Status'] });
    expect(evaluateRule(rule(c), i).fires).toBe(true);
    expect(evaluateRule(rule(c, { triggeringLogic: { isEnabled: false, triggersOn: 'Incidents', triggersWhen: 'Updated', conditions: c } }), i).fires).toBe(false);
    expect(evaluateRule(rule(c, { triggeringLogic: { isEnabled: true, triggersOn: 'Alerts', triggersWhen: 'Updated', conditions: c } }), i).fires).toBe(false);
    expect(evaluateRule(rule(c), { ...i, trigger: 'Created' }).fires).toBe(false);
    const expiring = (at: string) =>
      rule(c, { triggeringLogic: { isEnabled: true, triggersOn: 'Incidents', triggersWhen: 'Updated', expirationTimeUtc: at, conditions: c } });
    expect(evaluateRule(expiring('2026-11-26T00:00:00Z'), i).fires).toBe(false);
    expect(evaluateRule(expiring('2027-01-01T00:00:00Z'), i).fires).toBe(true);
  });

  it('does not claim a match for properties it cannot see offline', () => {
    const r = rule([{ conditionType: 'Property', conditionProperties: { propertyName: 'HostName', operator: 'NotEquals', propertyValues: ['WS-FIN-042'] } }]);
    const result = evaluateRule(r, input());
    expect(result.fires).toBe(false);
    expect(result.trace[0]).toContain('not evaluated offline');
  });
});

describe('evaluateRules', () => {
  const tagRule = rule([labelsAdded, labelIs(AWAITING_CUSTOMER_ACTION)], { name: 'tag', order: 40 });

  it('returns every rule in Sentinel order (order, then name)', () => {
    const rules = [rule([], { name: 'c', order: 30 }), rule([], { name: 'b', order: 10 }), rule([], { name: 'a', order: 10 })];
    expect(evaluateRules(rules, input()).map((r) => r.rule.name)).toEqual(['a', 'b', 'c']);
  });

  it('the tag rule re-fires when another tag is added while "Awaiting Customer Action" is present (the kit then plans nothing: test/bicep/rules.test.ts)', () => {
    const refire = input({ updatedFields: ['Labels'], labelsAdded: ['Jira: SOC-42'] }, { labels: [AWAITING_CUSTOMER_ACTION, 'Jira: SOC-42'] });
    const [report] = evaluateRules([tagRule], refire);
    expect(report?.fires).toBe(true);
  });

  it('does not fire the tag rule on an update that added no tag', () => {
    const [report] = evaluateRules([tagRule], input({ updatedFields: ['Status'] }));
    expect(report?.fires).toBe(false);
  });
});

describe('ruleInputFromTriggerBody', () => {
  it('reads the incident, what changed, and the what-if extensions from a trigger body', () => {
    const i = ruleInputFromTriggerBody(fixture('refire-other-tag-added.json'));
    expect(i.trigger).toBe('Updated');
    expect(i.incident.labels).toEqual(['Defender Experts', AWAITING_CUSTOMER_ACTION, 'Jira: SOC-42']);
    expect(i.labelsAdded).toEqual(['Jira: SOC-42']);
    expect(i.updatedFields).toEqual(['Labels']);
    expect(i.incident.owner.assignedTo).toBe('Customer');
    expect(i.incident.tactics).toEqual(['InitialAccess', 'LateralMovement']);

    const closed = ruleInputFromTriggerBody(fixture('closed-by-automation-rule.json'));
    expect(closed.updatedBySource).toBe('AutomationRule');
    expect(closed.previous).toEqual({ status: 'Active', severity: null, owner: null });
  });

  it('treats a body without incidentUpdates as a creation', () => {
    expect(ruleInputFromTriggerBody(fixture('created.json')).trigger).toBe('Created');
  });

  it('rejects what is not a trigger body with a validation error naming the field', () => {
    expect(() => ruleInputFromTriggerBody([])).toThrow(KitError);
    const noObject = (() => {
      try {
        ruleInputFromTriggerBody({ eventUniqueId: 'x' });
      } catch (e) {
        return e as KitError;
      }
      return null;
    })();
    expect(noObject?.kind).toBe('validation');
    expect(noObject?.where?.field).toBe('object.properties');
    expect(() => ruleInputFromTriggerBody({ object: { properties: { labels: 'tag' } } })).toThrow(/object\.properties\.labels: must be an array/);
    expect(() => ruleInputFromTriggerBody({ object: { properties: {} }, _previous: 'Closed' })).toThrow(/_previous/);
  });
});

describe('ruleFromYaml', () => {
  const ownerRule = readFileSync(path.join(root, 'rules', 'owner-changed.yaml'), 'utf8');

  it('accepts the shipped rule files', () => {
    const r = ruleFromYaml(parse(ownerRule), 'rules/owner-changed.yaml');
    expect(r.name).toBe('owner-changed');
    expect(r.file).toBe('rules/owner-changed.yaml');
    expect(r.triggeringLogic.conditions[0]).toEqual({ conditionType: 'PropertyChanged', conditionProperties: { propertyName: 'IncidentOwner' } });
  });

  function configError(doc: unknown): KitError {
    try {
      ruleFromYaml(doc, 'rules/bad.yaml');
    } catch (e) {
      if (e instanceof KitError) return e;
      throw e;
    }
    throw new Error('expected a KitError');
  }

  it('names the file and the field of a bad rule', () => {
    const doc = parse(ownerRule) as { triggeringLogic: { conditions: { conditionProperties: Record<string, unknown> }[] } };
    doc.triggeringLogic.conditions[1]!.conditionProperties.operator = 'IsNot';
    const e = configError(doc);
    expect(e.kind).toBe('config');
    expect(e.where).toEqual({ file: 'rules/bad.yaml', field: 'triggeringLogic.conditions.1.conditionProperties.operator' });
  });

  it('rejects half a PropertyChanged value filter, unknown properties and out-of-range orders', () => {
    const base = parse(ownerRule) as Record<string, unknown>;
    const withConditions = (conditions: unknown[]) => ({ ...base, triggeringLogic: { ...(base.triggeringLogic as object), conditions } });
    expect(
      configError(withConditions([{ conditionType: 'PropertyChanged', conditionProperties: { propertyName: 'IncidentStatus', changeType: 'ChangedTo' } }])).message,
    ).toMatch(/changeType, operator and propertyValues together/);
    expect(
      configError(withConditions([{ conditionType: 'Property', conditionProperties: { propertyName: 'IncidentOwner', operator: 'Equals', propertyValues: ['x'] } }])).where
        ?.field,
    ).toBe('triggeringLogic.conditions.0.conditionProperties.propertyName');
    expect(configError({ ...base, order: 1001 }).where?.field).toBe('order');
    expect(configError({ ...base, playbook: 'Owner Changed' }).where?.field).toBe('playbook');
    expect(configError({ ...base, extra: true }).kind).toBe('config');
  });
});
