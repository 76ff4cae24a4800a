/**
 * The incident-change document a webhook receiver gets, version 1, as a zod schema. It is the one
 * definition: schema/incident-change.v1.schema.json is generated from it (`z.toJSONSchema`, see
 * `incidentChangeJsonSchema`), and a test checks the committed file against it and every document the
 * builder makes against the schema. Version 1 is frozen: the kit never adds, removes or retypes a field
 * under schemaVersion "1" (every object is closed), so a receiver may validate strictly; a change
 * ships as version 2 with its own schema file.
 */
import { z } from 'zod';
import type { ChangeKind, OwnerKind, Severity, Status } from '../../core/model.js';
import type { Moment } from '../../render/context.js';

export const INCIDENT_CHANGE_SCHEMA_VERSION = '1';
export const INCIDENT_CHANGE_TYPE = 'sentinel.incident.change';
/** a name, not a location: the file ships in the kit's schema/ folder */
export const INCIDENT_CHANGE_SCHEMA_ID = 'urn:sentinel-playbook-kit:schema:incident-change:v1';

/**
 * The longest each string or list may be (UTF-16 code units, as JSON Schema's maxLength counts), the
 * same numbers the builder cuts to. They follow what the kit keeps of an incident (core/plan.ts
 * SNAPSHOT_LIMITS), so a cut here is rare; the receiver's body limit may cut further.
 */
export const DOCUMENT_LIMITS = {
  title: 2_000,
  description: 12_000,
  note: 4_000,
  /** ids, names, classification texts, URLs, change values */
  text: 2_000,
  /** one tag, alert title, product, tactic, entity name */
  item: 512,
  tags: 100,
  alertTitles: 50,
  products: 20,
  tactics: 30,
  entities: 100,
  exclusionMatches: 50,
} as const;

const text = (max: number = DOCUMENT_LIMITS.text) => z.string().max(max);
const nullableText = (max: number = DOCUMENT_LIMITS.text) => text(max).nullable();
const items = (max: number) => z.array(text(DOCUMENT_LIMITS.item)).max(max);
const timestamp = z.iso.datetime().describe('UTC, ISO 8601 with milliseconds, e.g. 2026-11-26T09:36:00.000Z');
const link = z.url({ protocol: /^https?$/ }).regex(/^https?:\/\//).max(DOCUMENT_LIMITS.text).nullable();

// the kit's own vocabularies, spelled out so the schema file lists them; `satisfies` keeps them in step with the model
const SEVERITY_VALUES = ['Informational', 'Low', 'Medium', 'High', 'Unknown'] as const satisfies readonly Severity[];
const STATUS_VALUES = ['New', 'Active', 'Closed', 'Redirected', 'Unknown'] as const satisfies readonly Status[];
const CHANGE_KINDS = ['owner', 'status', 'tag-added', 'tag-removed', 'severity', 'classification', 'determination'] as const satisfies readonly ChangeKind[];
const MOMENTS = ['owner-defender-experts', 'owner-customer', 'awaiting-customer-action', 'status-active', 'status-closed', 'other'] as const satisfies readonly Moment[];
const OWNER_KINDS = ['defender-experts', 'customer', 'user', 'unassigned'] as const satisfies readonly OwnerKind[];
// and the other way round: a value the model gains that the schema lacks fails to typecheck here
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : never;
const _complete: [Missing<Severity, (typeof SEVERITY_VALUES)[number]>, Missing<Status, (typeof STATUS_VALUES)[number]>, Missing<ChangeKind, (typeof CHANGE_KINDS)[number]>, Missing<Moment, (typeof MOMENTS)[number]>, Missing<OwnerKind, (typeof OWNER_KINDS)[number]>] = [true, true, true, true, true];
void _complete;

const change = z
  .strictObject({
    id: z.string().min(1).max(DOCUMENT_LIMITS.text).describe('This occurrence of the change, e.g. "owner:customer#1": stable across retries, new for a genuine repeat. Dedupe per change on it.'),
    kind: z.enum(CHANGE_KINDS),
    from: nullableText().describe('Previous value; null when unknown.'),
    to: nullableText(),
    summary: text().describe('The change in words, e.g. "Owner changed from Defender Experts to Customer".'),
  })
  .describe('One change the kit detected on the incident.');

const incident = z.strictObject({
  key: z.string().min(1).max(DOCUMENT_LIMITS.text).describe('The kit\'s incident key: the Defender XDR incident id where there is one, else the Sentinel incident name.'),
  number: z.number().int().nonnegative().nullable().describe('Sentinel incident number (or the numeric Defender id).'),
  title: text(DOCUMENT_LIMITS.title),
  description: text(DOCUMENT_LIMITS.description),
  severity: z.enum(SEVERITY_VALUES),
  status: z.enum(STATUS_VALUES),
  owner: z.strictObject({
    assignedTo: nullableText().describe('"Defender Experts", "Customer", a user\'s name, or null when unassigned.'),
    userPrincipalName: nullableText(),
    email: nullableText(),
    kind: z.enum(OWNER_KINDS),
  }),
  classification: nullableText().describe('TruePositive, FalsePositive, BenignPositive, InformationalExpectedActivity, Undetermined, or the raw value.'),
  classificationReason: nullableText(),
  determination: nullableText().describe('Defender determination as received (camelCase), e.g. "malware".'),
  classificationComment: nullableText(),
  provider: nullableText(),
  tags: items(DOCUMENT_LIMITS.tags),
  links: z.strictObject({ defender: link, sentinel: link }).describe('http(s) links only; anything else is null.'),
  ids: z.strictObject({
    xdrIncidentId: nullableText(),
    sentinelName: nullableText(),
    sentinelArmId: nullableText(),
    tenantId: nullableText(),
    workspaceId: nullableText(),
  }),
  createdAt: timestamp.nullable(),
  updatedAt: timestamp.nullable(),
  alerts: z.strictObject({
    count: z.number().int().nonnegative(),
    titles: items(DOCUMENT_LIMITS.alertTitles),
    products: items(DOCUMENT_LIMITS.products),
    tactics: items(DOCUMENT_LIMITS.tactics),
  }),
  devices: z.array(z.strictObject({ name: text(DOCUMENT_LIMITS.item), id: nullableText(DOCUMENT_LIMITS.item) })).max(DOCUMENT_LIMITS.entities),
  users: z
    .array(z.strictObject({ name: text(DOCUMENT_LIMITS.item), userPrincipalName: nullableText(DOCUMENT_LIMITS.item) }))
    .max(DOCUMENT_LIMITS.entities),
  groups: items(DOCUMENT_LIMITS.entities),
});

export const incidentChangeDocument = z
  .strictObject({
    schemaVersion: z.literal(INCIDENT_CHANGE_SCHEMA_VERSION),
    type: z.literal(INCIDENT_CHANGE_TYPE),
    idempotencyKey: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .describe('The delivery step\'s key (also in the Idempotency-Key header): the same on every retry and redelivery of this step. Process a key once.'),
    time: timestamp.describe('When the kit planned this delivery: the same on every retry (the X-SPK-Timestamp header is the time of the attempt).'),
    source: z.strictObject({
      name: z.literal('Sentinel Playbook Kit'),
      version: z.string().max(64),
      receiver: z.string().max(64).describe('The receiver\'s name in playbooks/receivers.yaml.'),
    }),
    playbooks: z.array(z.string().min(1).max(DOCUMENT_LIMITS.text)).min(1).describe('The playbooks that fired this delivery.'),
    moment: z.enum(MOMENTS).describe('What the changes mean, the most demanding first: a stable value to route on.'),
    manualActionRequired: z
      .boolean()
      .describe('true: an excluded device, user or group is involved. Automate nothing on this incident; a person acts on the Defender Experts guidance.'),
    exclusionMatches: items(DOCUMENT_LIMITS.exclusionMatches).describe('Which exclusions matched, e.g. "device:SRV-DC01".'),
    changes: z.array(change).min(1).describe('The changes this delivery carries (a change another delivery of this receiver already carried is left out).'),
    incident: incident.describe('The incident as it is after the changes.'),
    note: text(DOCUMENT_LIMITS.note).nullable().describe('The template\'s free text (playbooks/templates/webhook/<name>.hbs, part "note"); null when it is empty.'),
    truncated: z.array(z.string().max(128)).describe('Fields cut to fit, e.g. "incident.description"; empty when nothing was cut.'),
  })
  .describe('A change to a Microsoft Sentinel / Defender XDR incident, as the Sentinel Playbook Kit sends it to a webhook.');

export type IncidentChangeDocument = z.infer<typeof incidentChangeDocument>;

/** The JSON Schema committed as schema/incident-change.v1.schema.json. */
export function incidentChangeJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(incidentChangeDocument, { target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: INCIDENT_CHANGE_SCHEMA_ID, title: 'Sentinel Playbook Kit incident change, version 1', ...rest };
}
