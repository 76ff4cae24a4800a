/**
 * Offline what-if for Sentinel automation rules: which of the rules in rules/*.yaml (the same data
 * bicep/main.bicep deploys) would fire for one incident update, and whether the kit would act on it.
 *
 * Semantics follow the automationRules API (2025-09-01) and the Sentinel docs:
 *  - top-level conditions are ANDed; Boolean conditions combine inner ones with And / Or;
 *  - every comparison is case-insensitive ("All conditions are case insensitive");
 *  - Property conditions look at the incident as it is NOW; PropertyChanged / PropertyArrayChanged look
 *    at what this update changed (incidentUpdates), which is why "tag added AND tag equals X" also fires
 *    when some other tag is added while X is present — the known re-fire the kit drops.
 * Assumptions where the API is silent are marked "assumed" in the traces and in docs/DEPLOY.md.
 */
import { z } from 'zod';
import { KitError } from './errors.js';
import { AWAITING_CUSTOMER_ACTION } from './model.js';
import { isJsonObject } from './json-object.js';

export const CONDITION_OPERATORS = [
  'Equals',
  'NotEquals',
  'Contains',
  'NotContains',
  'StartsWith',
  'NotStartsWith',
  'EndsWith',
  'NotEndsWith',
] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/** AutomationRulePropertyConditionSupportedProperty, as published for the automationRules API. */
export const RULE_PROPERTIES = [
  'IncidentTitle', 'IncidentDescription', 'IncidentSeverity', 'IncidentStatus', 'IncidentRelatedAnalyticRuleIds',
  'IncidentTactics', 'IncidentLabel', 'IncidentProviderName', 'IncidentUpdatedBySource', 'IncidentCustomDetailsKey',
  'IncidentCustomDetailsValue', 'AccountAadTenantId', 'AccountAadUserId', 'AccountName', 'AccountNTDomain',
  'AccountPUID', 'AccountSid', 'AccountObjectGuid', 'AccountUPNSuffix', 'AlertProductNames', 'AlertAnalyticRuleIds',
  'AzureResourceResourceId', 'AzureResourceSubscriptionId', 'CloudApplicationAppId', 'CloudApplicationAppName',
  'DNSDomainName', 'FileDirectory', 'FileName', 'FileHashValue', 'HostAzureID', 'HostName', 'HostNetBiosName',
  'HostNTDomain', 'HostOSVersion', 'IoTDeviceId', 'IoTDeviceName', 'IoTDeviceType', 'IoTDeviceVendor',
  'IoTDeviceModel', 'IoTDeviceOperatingSystem', 'IPAddress', 'MailboxDisplayName', 'MailboxPrimaryAddress',
  'MailboxUPN', 'MailMessageDeliveryAction', 'MailMessageDeliveryLocation', 'MailMessageRecipient',
  'MailMessageSenderIP', 'MailMessageSubject', 'MailMessageP1Sender', 'MailMessageP2Sender', 'MalwareCategory',
  'MalwareName', 'ProcessCommandLine', 'ProcessId', 'RegistryKey', 'RegistryValueData', 'Url',
] as const;
export type RuleProperty = (typeof RULE_PROPERTIES)[number];

export type ChangeableProperty = 'IncidentSeverity' | 'IncidentStatus' | 'IncidentOwner';
export type ChangedArray = 'Alerts' | 'Labels' | 'Tactics' | 'Comments';

export interface PropertyCondition {
  conditionType: 'Property';
  conditionProperties: { propertyName: RuleProperty; operator: ConditionOperator; propertyValues: string[] };
}
export interface PropertyChangedCondition {
  conditionType: 'PropertyChanged';
  /** no changeType/operator: "changed" (the only form the portal offers for Owner) */
  conditionProperties: {
    propertyName: ChangeableProperty;
    changeType?: 'ChangedFrom' | 'ChangedTo';
    operator?: ConditionOperator;
    propertyValues?: string[];
  };
}
export interface PropertyArrayChangedCondition {
  conditionType: 'PropertyArrayChanged';
  conditionProperties: { arrayType: ChangedArray; changeType: 'Added' };
}
export interface PropertyArrayCondition {
  conditionType: 'PropertyArray';
  conditionProperties: {
    arrayType: 'CustomDetails' | 'CustomDetailValues';
    arrayConditionType: 'AnyItem' | 'AllItems';
    itemConditions: AutomationRuleCondition[];
  };
}
export interface BooleanCondition {
  conditionType: 'Boolean';
  conditionProperties: { operator: 'And' | 'Or'; innerConditions: AutomationRuleCondition[] };
}
export type AutomationRuleCondition =
  | PropertyCondition
  | PropertyChangedCondition
  | PropertyArrayChangedCondition
  | PropertyArrayCondition
  | BooleanCondition;

export interface AutomationRuleDefinition {
  /** stable key; the deployed resource name is guid(workspace, 'sentinel-playbook-kit', name) */
  name: string;
  displayName: string;
  order: number;
  /** key of the playbook (Logic App `<namePrefix>-<playbook>`) its RunPlaybook action runs */
  playbook: string;
  triggeringLogic: {
    isEnabled: boolean;
    triggersOn: 'Incidents' | 'Alerts';
    triggersWhen: 'Created' | 'Updated';
    expirationTimeUtc?: string;
    conditions: AutomationRuleCondition[];
  };
  /** where the rule came from, for messages */
  file: string;
}

/** What a rule can see of one incident event. */
export interface RuleEvaluationInput {
  trigger: 'Created' | 'Updated';
  incident: {
    title: string;
    description: string;
    severity: string | null;
    status: string | null;
    owner: { assignedTo: string | null; email: string | null; userPrincipalName: string | null; objectId: string | null };
    labels: string[];
    providerName: string | null;
    tactics: string[];
    relatedAnalyticRuleIds: string[];
    alertProductNames: string[];
  };
  /** previous values, from the what-if extension `_previous` (Sentinel sends only new values) */
  previous: { status: string | null; severity: string | null; owner: string | null } | null;
  /** incidentUpdates.updatedFields, e.g. Owner, Status, Labels */
  updatedFields: string[];
  labelsAdded: string[];
  alertsAdded: number;
  commentsAdded: number;
  tacticsAdded: string[];
  /** who made the update (Sentinel's "Updated by"), from the what-if extension `_updatedBySource` */
  updatedBySource: string | null;
  /** when the update happened (lastModifiedTimeUtc), for rules with an expiration */
  at: string | null;
}

export interface RuleEvaluation {
  fires: boolean;
  trace: string[];
}

export interface RuleReport extends RuleEvaluation {
  rule: AutomationRuleDefinition;
}

// ---------------------------------------------------------------------------------------------
// Rule files

const nonEmpty = z.string().min(1);
const operator = z.enum(CONDITION_OPERATORS);

const conditionSchema: z.ZodType<AutomationRuleCondition> = z.lazy(() =>
  z.discriminatedUnion('conditionType', [
    z
      .object({
        conditionType: z.literal('Property'),
        conditionProperties: z
          .object({
            propertyName: z.enum(RULE_PROPERTIES),
            operator,
            propertyValues: z.array(nonEmpty).min(1),
          })
          .strict(),
      })
      .strict(),
    z
      .object({
        conditionType: z.literal('PropertyChanged'),
        conditionProperties: z
          .object({
            propertyName: z.enum(['IncidentSeverity', 'IncidentStatus', 'IncidentOwner']),
            changeType: z.enum(['ChangedFrom', 'ChangedTo']).optional(),
            operator: operator.optional(),
            propertyValues: z.array(nonEmpty).min(1).optional(),
          })
          .strict()
          .refine(
            (p) =>
              (p.changeType === undefined && p.operator === undefined && p.propertyValues === undefined) ||
              (p.changeType !== undefined && p.operator !== undefined && p.propertyValues !== undefined),
            { message: 'give changeType, operator and propertyValues together, or none of them for "changed"' },
          ),
      })
      .strict(),
    z
      .object({
        conditionType: z.literal('PropertyArrayChanged'),
        conditionProperties: z
          .object({ arrayType: z.enum(['Alerts', 'Labels', 'Tactics', 'Comments']), changeType: z.literal('Added') })
          .strict(),
      })
      .strict(),
    z
      .object({
        conditionType: z.literal('PropertyArray'),
        conditionProperties: z
          .object({
            arrayType: z.enum(['CustomDetails', 'CustomDetailValues']),
            arrayConditionType: z.enum(['AnyItem', 'AllItems']),
            itemConditions: z.array(conditionSchema).min(1).max(10),
          })
          .strict(),
      })
      .strict(),
    z
      .object({
        conditionType: z.literal('Boolean'),
        conditionProperties: z
          .object({ operator: z.enum(['And', 'Or']), innerConditions: z.array(conditionSchema).min(2).max(10) })
          .strict(),
      })
      .strict(),
  ]),
);

const keyName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'use lower-case letters, digits and dashes (it becomes part of resource names)' });

const ruleSchema = z
  .object({
    name: keyName,
    displayName: z.string().min(1).max(500),
    order: z.number().int().min(1).max(1000),
    playbook: keyName,
    triggeringLogic: z
      .object({
        isEnabled: z.boolean(),
        triggersOn: z.enum(['Incidents', 'Alerts']),
        triggersWhen: z.enum(['Created', 'Updated']),
        expirationTimeUtc: z.string().datetime({ offset: true }).optional(),
        conditions: z.array(conditionSchema).max(50).default([]),
      })
      .strict(),
  })
  .strict();

/** Validates one parsed rules/*.yaml document; a bad one is a `config` KitError naming the file and field. */
export function ruleFromYaml(doc: unknown, file: string): AutomationRuleDefinition {
  const parsed = ruleSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? issue.path.map(String).join('.') : '';
    const message = issue?.message ?? 'invalid automation rule';
    throw new KitError(`${field ? `${field}: ` : ''}${message}`, { kind: 'config', where: { file, field } });
  }
  const r = parsed.data;
  return {
    name: r.name,
    displayName: r.displayName,
    order: r.order,
    playbook: r.playbook,
    triggeringLogic: {
      isEnabled: r.triggeringLogic.isEnabled,
      triggersOn: r.triggeringLogic.triggersOn,
      triggersWhen: r.triggeringLogic.triggersWhen,
      ...(r.triggeringLogic.expirationTimeUtc !== undefined ? { expirationTimeUtc: r.triggeringLogic.expirationTimeUtc } : {}),
      conditions: r.triggeringLogic.conditions,
    },
    file,
  };
}

// ---------------------------------------------------------------------------------------------
// Events

type Json = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function strings(v: unknown, field: string, item?: (x: unknown) => unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new KitError(`${field}: must be an array`, { kind: 'validation', statusCode: 400, where: { field } });
  const out: string[] = [];
  for (const x of v) {
    const s = str(item ? item(x) : x);
    if (s !== null) out.push(s);
  }
  return out;
}

function count(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (!Array.isArray(v)) throw new KitError(`${field}: must be an array`, { kind: 'validation', statusCode: 400, where: { field } });
  return v.length;
}

/**
 * Reads a raw Microsoft Sentinel incident trigger body (what the playbooks post to dispatch). Two what-if
 * extensions, ignored by the kit's dispatch: `_previous: { status, severity, owner }` (Sentinel sends only
 * new values, and ChangedFrom needs the old ones) and `_updatedBySource` (Sentinel's "Updated by").
 */
export function ruleInputFromTriggerBody(body: unknown): RuleEvaluationInput {
  if (!isJsonObject(body)) throw new KitError('event: must be a JSON object (a Sentinel incident trigger body)', { kind: 'validation', statusCode: 400 });
  const object = body.object;
  if (!isJsonObject(object) || !isJsonObject(object.properties)) {
    throw new KitError('object.properties: missing; the event must be a Sentinel incident trigger body', {
      kind: 'validation',
      statusCode: 400,
      where: { field: 'object.properties' },
    });
  }
  const p = object.properties;
  const owner = isJsonObject(p.owner) ? p.owner : {};
  const additional = isJsonObject(p.additionalData) ? p.additionalData : {};
  const updates = body.incidentUpdates;
  if (updates !== undefined && updates !== null && !isJsonObject(updates)) {
    throw new KitError('incidentUpdates: must be an object', { kind: 'validation', statusCode: 400, where: { field: 'incidentUpdates' } });
  }
  const u: Json = isJsonObject(updates) ? updates : {};
  const prev = body._previous;
  if (prev !== undefined && !isJsonObject(prev)) {
    throw new KitError('_previous: must be an object like {"status":"New","owner":"Customer","severity":"Low"}', {
      kind: 'validation',
      statusCode: 400,
      where: { field: '_previous' },
    });
  }
  const labelName = (x: unknown) => (isJsonObject(x) ? x.labelName : x);
  return {
    trigger: isJsonObject(updates) ? 'Updated' : 'Created',
    incident: {
      title: str(p.title) ?? '',
      description: str(p.description) ?? '',
      severity: str(p.severity),
      status: str(p.status),
      owner: {
        assignedTo: str(owner.assignedTo),
        email: str(owner.email),
        userPrincipalName: str(owner.userPrincipalName),
        objectId: str(owner.objectId),
      },
      labels: strings(p.labels, 'object.properties.labels', labelName),
      providerName: str(p.providerName),
      tactics: strings(additional.tactics, 'object.properties.additionalData.tactics'),
      relatedAnalyticRuleIds: strings(p.relatedAnalyticRuleIds, 'object.properties.relatedAnalyticRuleIds'),
      alertProductNames: strings(additional.alertProductNames, 'object.properties.additionalData.alertProductNames'),
    },
    previous: isJsonObject(prev) ? { status: str(prev.status), severity: str(prev.severity), owner: str(prev.owner) } : null,
    updatedFields: strings(u.updatedFields, 'incidentUpdates.updatedFields'),
    labelsAdded: strings(u.labels, 'incidentUpdates.labels', labelName),
    alertsAdded: count(u.alerts, 'incidentUpdates.alerts'),
    commentsAdded: count(u.comments, 'incidentUpdates.comments'),
    tacticsAdded: strings(u.tactics, 'incidentUpdates.tactics'),
    updatedBySource: str(body._updatedBySource),
    at: str(p.lastModifiedTimeUtc),
  };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

const lower = (s: string) => s.toLowerCase();
const NEGATED: Partial<Record<ConditionOperator, ConditionOperator>> = {
  NotEquals: 'Equals',
  NotContains: 'Contains',
  NotStartsWith: 'StartsWith',
  NotEndsWith: 'EndsWith',
};

function matchesOne(op: ConditionOperator, actual: string, expected: string): boolean {
  const a = lower(actual);
  const e = lower(expected);
  switch (op) {
    case 'Equals':
      return a === e;
    case 'Contains':
      return a.includes(e);
    case 'StartsWith':
      return a.startsWith(e);
    case 'EndsWith':
      return a.endsWith(e);
    default:
      return false;
  }
}

/**
 * Positive operators hold when any actual value matches any expected value; negated ones when none does
 * (assumed for several propertyValues and for array properties such as tags: the API does not say).
 */
function compare(op: ConditionOperator, actual: readonly string[], expected: readonly string[]): boolean {
  const positive = NEGATED[op] ?? op;
  const any = actual.some((a) => expected.some((e) => matchesOne(positive, a, e)));
  return NEGATED[op] ? !any : any;
}

const quoted = (xs: readonly string[]) => (xs.length ? xs.map((x) => JSON.stringify(x)).join(', ') : '(none)');

function propertyValues(name: RuleProperty, input: RuleEvaluationInput): string[] | null {
  const i = input.incident;
  const one = (v: string | null) => (v === null ? [] : [v]);
  switch (name) {
    case 'IncidentTitle':
      return [i.title];
    case 'IncidentDescription':
      return [i.description];
    case 'IncidentSeverity':
      return one(i.severity);
    case 'IncidentStatus':
      return one(i.status);
    case 'IncidentLabel':
      return i.labels;
    case 'IncidentTactics':
      return i.tactics;
    case 'IncidentProviderName':
      return one(i.providerName);
    case 'IncidentRelatedAnalyticRuleIds':
      return i.relatedAnalyticRuleIds;
    case 'AlertProductNames':
      return i.alertProductNames;
    case 'IncidentUpdatedBySource':
      return one(input.updatedBySource);
    default:
      return null;
  }
}

const CHANGED_FIELD: Record<ChangeableProperty, string> = {
  IncidentOwner: 'Owner',
  IncidentStatus: 'Status',
  IncidentSeverity: 'Severity',
};

function currentOf(name: ChangeableProperty, input: RuleEvaluationInput): string[] {
  const i = input.incident;
  if (name === 'IncidentStatus') return i.status === null ? [] : [i.status];
  if (name === 'IncidentSeverity') return i.severity === null ? [] : [i.severity];
  // which owner field the API compares is undocumented: any of them may match (assumed)
  const o = i.owner;
  return [o.assignedTo, o.userPrincipalName, o.email, o.objectId].filter((x): x is string => x !== null && x !== '');
}

function previousOf(name: ChangeableProperty, input: RuleEvaluationInput): string | null {
  const p = input.previous;
  if (!p) return null;
  if (name === 'IncidentStatus') return p.status;
  if (name === 'IncidentSeverity') return p.severity;
  return p.owner;
}

function evalCondition(c: AutomationRuleCondition, input: RuleEvaluationInput, depth: number, trace: string[]): boolean {
  const pad = '  '.repeat(depth);
  const note = (ok: boolean, text: string) => {
    trace.push(`${pad}${ok ? '✓' : '✗'} ${text}`);
    return ok;
  };
  switch (c.conditionType) {
    case 'Property': {
      const { propertyName, operator: op, propertyValues: expected } = c.conditionProperties;
      const actual = propertyValues(propertyName, input);
      if (actual === null) return note(false, `${propertyName}: not evaluated offline (entity and custom-detail properties); treated as not matching`);
      const ok = compare(op, actual, expected);
            const is =
        actual.length === 0 && propertyName === 'IncidentUpdatedBySource' ? 'unknown (the event has no _updatedBySource)' : `is ${quoted(actual)}`;
      return note(ok, `${propertyName} ${op} ${quoted(expected)}: ${is}`);
    }
    case 'PropertyChanged': {
      const { propertyName, changeType, operator: op, propertyValues: expected } = c.conditionProperties;
      const field = CHANGED_FIELD[propertyName];
      const changed = input.updatedFields.some((f) => lower(f) === lower(field));
      if (!changed) return note(false, `${propertyName} changed: ${field} is not in incidentUpdates.updatedFields ${quoted(input.updatedFields)}`);
      if (!changeType || !op || !expected) return note(true, `${propertyName} changed (updatedFields has ${field})`);
      if (changeType === 'ChangedTo') {
        const now = currentOf(propertyName, input);
        return note(compare(op, now, expected), `${propertyName} changed to ${op} ${quoted(expected)}: now ${quoted(now)}`);
      }
      const before = previousOf(propertyName, input);
      if (before === null) return note(false, `${propertyName} changed from ${op} ${quoted(expected)}: previous value unknown (add _previous to the event)`);
      return note(compare(op, [before], expected), `${propertyName} changed from ${op} ${quoted(expected)}: was ${JSON.stringify(before)}`);
    }
    case 'PropertyArrayChanged': {
      const { arrayType } = c.conditionProperties;
      const added =
        arrayType === 'Labels'
          ? input.labelsAdded
          : arrayType === 'Tactics'
            ? input.tacticsAdded
            : Array.from({ length: arrayType === 'Alerts' ? input.alertsAdded : input.commentsAdded }, (_, n) => `#${n + 1}`);
      return note(added.length > 0, `${arrayType} added: ${arrayType === 'Labels' || arrayType === 'Tactics' ? quoted(added) : `${added.length}`}`);
    }
    case 'PropertyArray':
      return note(false, `PropertyArray ${c.conditionProperties.arrayType}: not evaluated offline (custom details); treated as not matching`);
    case 'Boolean': {
      const { operator: op, innerConditions } = c.conditionProperties;
      const header = trace.length;
      trace.push('');
      const results = innerConditions.map((inner) => evalCondition(inner, input, depth + 1, trace));
      const ok = op === 'And' ? results.every(Boolean) : results.some(Boolean);
      trace[header] = `${pad}${ok ? '✓' : '✗'} ${op} of ${innerConditions.length} conditions`;
      return ok;
    }
  }
}

function evaluate(rule: AutomationRuleDefinition, input: RuleEvaluationInput): RuleEvaluation {
  const trace: string[] = [];
  const t = rule.triggeringLogic;
  if (!t.isEnabled) return { fires: false, trace: ['✗ rule is disabled (isEnabled: false)'] };
  if (t.triggersOn !== 'Incidents') return { fires: false, trace: [`✗ rule triggers on ${t.triggersOn}, the event is an incident`] };
  if (t.triggersWhen !== input.trigger) {
    return { fires: false, trace: [`✗ rule triggers when an incident is ${t.triggersWhen.toLowerCase()}; the event is ${input.trigger === 'Updated' ? 'an update' : 'a creation'}`] };
  }
  if (t.expirationTimeUtc && input.at && Date.parse(input.at) > Date.parse(t.expirationTimeUtc)) {
    return { fires: false, trace: [`✗ rule expired at ${t.expirationTimeUtc}`] };
  }
  let fires = true;
  for (const c of t.conditions) {
    // every condition is evaluated, not short-circuited, so the trace explains all of them
    if (!evalCondition(c, input, 0, trace)) fires = false;
  }
  if (t.conditions.length === 0) trace.push('✓ no conditions');
  return { fires, trace };
}

/** Would Sentinel run this rule for this event? The trace says why, condition by condition. */
export function evaluateRule(rule: AutomationRuleDefinition, update: RuleEvaluationInput): RuleEvaluation {
  return evaluate(rule, update);
}

/** Every rule, in Sentinel's run order (order, then name), with whether it fires (what the kit then does is planEvent's to say). */
export function evaluateRules(rules: readonly AutomationRuleDefinition[], update: RuleEvaluationInput): RuleReport[] {
  return [...rules]
    .sort((a, b) => a.order - b.order || a.name.localeCompare(b.name))
    .map((rule) => {
      const r = evaluateRule(rule, update);
      return { rule, fires: r.fires, trace: r.trace };
    });
}
