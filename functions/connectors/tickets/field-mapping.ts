/**
 * A ticket receiver's `fields:` — which of the target's fields get which value, from what the kit knows
 * about the incident: severity → priority/impact/urgency, owner → assignment group or assignee,
 * classification/determination → close code, status, provider, or a constant. Shared by every ticket kind
 * (each kind's schema adds `fields: fieldMappingSchema.optional()` and its builder writes
 * `mappedFields(...)` where the target keeps fields), so a SOC lead maps fields the same way everywhere.
 *
 *   fields:
 *     priority:         { from: severity, map: { High: "1", Medium: "2", Low: "3" }, default: "4" }
 *     assignment_group: { from: owner, map: { Defender Experts: MDE Experts, Customer: SOC Tier 2 } }
 *     close_code:       { from: classification, map: { TruePositive: Solved (Permanently) }, default: Closed/Resolved by Caller }
 *     u_source:         { from: constant, value: Microsoft Sentinel }
 */
import { z } from 'zod';
import { SEVERITIES, STATUSES, type Incident } from '../../core/model.js';

export const FIELD_SOURCES = ['severity', 'status', 'owner', 'classification', 'determination', 'provider', 'constant'] as const;
export type FieldSource = (typeof FIELD_SOURCES)[number];
export type FieldValue = string | number | boolean;

const fieldValue = z.union([z.string(), z.number(), z.boolean()]);
const targetFieldName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/, { message: 'must be a target field name such as priority, u_custom, System.Priority or customfield_10010' });

/** what a source's map may be keyed by; null: any text (owners, classification reasons, providers) */
const KEYS: Partial<Record<FieldSource, readonly string[]>> = {
  severity: SEVERITIES,
  status: STATUSES,
  classification: ['TruePositive', 'FalsePositive', 'BenignPositive', 'InformationalExpectedActivity', 'Undetermined'],
};

export const fieldRuleSchema = z
  .object({
    from: z.enum(FIELD_SOURCES).describe('What the value comes from: the incident\'s severity, status, owner (matched by name, UPN or email), classification, determination, provider, or a constant.'),
    map: z.record(z.string().min(1), fieldValue).optional().describe('Incident value → target value. A value not in the map takes `default`, or leaves the field unset.'),
    default: fieldValue.optional().describe('Target value when the incident value is missing or not in `map`.'),
    value: fieldValue.optional().describe('For from: constant, the value written every time.'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.from === 'constant') {
      if (rule.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: 'from: constant needs a value' });
      if (rule.map !== undefined) ctx.addIssue({ code: 'custom', path: ['map'], message: 'from: constant takes a value, not a map' });
      return;
    }
    if (rule.value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `value is only for from: constant; from: ${rule.from} uses map and default` });
    if (rule.map === undefined && rule.default === undefined) {
      ctx.addIssue({ code: 'custom', path: ['map'], message: `from: ${rule.from} needs a map (or at least a default)` });
    }
    const allowed = KEYS[rule.from];
    for (const key of Object.keys(rule.map ?? {})) {
      if (allowed && !allowed.includes(key)) {
        ctx.addIssue({ code: 'custom', path: ['map', key], message: `"${key}" is not a ${rule.from} (one of ${allowed.join(', ')})` });
      }
    }
  });
export type FieldRule = z.infer<typeof fieldRuleSchema>;

export const fieldMappingSchema = z
  .record(targetFieldName, fieldRuleSchema)
  .describe('Target fields set on create and update, each from an incident value through a map; see docs/RECEIVERS.md, "Field mapping".');
export type FieldMapping = z.infer<typeof fieldMappingSchema>;

function sourceValues(from: Exclude<FieldSource, 'constant'>, incident: Incident): string[] {
  switch (from) {
    case 'severity':
      return [incident.severity];
    case 'status':
      return [incident.status];
    case 'owner': {
      const o = incident.owner;
      return [o.assignedTo, o.userPrincipalName, o.email].filter((v): v is string => typeof v === 'string' && v !== '');
    }
    case 'classification':
      return incident.classification ? [incident.classification] : [];
    case 'determination':
      return incident.determination ? [incident.determination] : [];
    case 'provider':
      return incident.provider ? [incident.provider] : [];
  }
}

/** owners and free-text sources match case-insensitively, as people write them in YAML */
function lookup(map: Record<string, FieldValue>, candidates: string[]): FieldValue | undefined {
  for (const c of candidates) {
    if (Object.hasOwn(map, c)) return map[c];
    const key = Object.keys(map).find((k) => k.toLowerCase() === c.toLowerCase());
    if (key !== undefined) return map[key];
  }
  return undefined;
}

/** The target field values for this incident; a field whose rule yields nothing is left out (never written empty). */
export function mappedFields(mapping: FieldMapping | undefined, incident: Incident): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [field, rule] of Object.entries(mapping ?? {})) {
    const value = rule.from === 'constant' ? rule.value : (lookup(rule.map ?? {}, sourceValues(rule.from, incident)) ?? rule.default);
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/**
 * For an update: only the rules whose source moved in this step's changes (an owner change rewrites what
 * comes from `owner`), so a ticket people edited since is not reset with every note. Constants and the
 * provider never move, so they are written on create only.
 */
export function changedFieldRules(mapping: FieldMapping | undefined, changes: ReadonlyArray<{ kind: string }>): FieldMapping {
  const moved = new Set(changes.map((c) => c.kind));
  return Object.fromEntries(Object.entries(mapping ?? {}).filter(([, rule]) => moved.has(rule.from)));
}

/** every value a rule can write, with its path under the rule, for a target's own value checks */
export function ruleValues(rule: FieldRule): Array<[string[], FieldValue]> {
  return [
    ...Object.entries(rule.map ?? {}).map(([k, v]): [string[], FieldValue] => [['map', k], v]),
    ...(['default', 'value'] as const).flatMap((k): Array<[string[], FieldValue]> => (rule[k] === undefined ? [] : [[[k], rule[k]]])),
  ];
}
