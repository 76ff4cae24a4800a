/**
 * The one description of the template context: `spk validate` checks every path a template reads
 * against it, and docs/TEMPLATES.md lists the same paths (a test holds the two together). Its type
 * is derived from `TemplateContext`, so a field added to the context and not described here — or
 * described and not in the context — fails to compile.
 */
import { RECEIVER_KINDS } from '../config/schema.js';
import { SEVERITIES, STATUSES } from '../core/model.js';
import type { TemplateContext } from './context.js';

export interface ScalarField {
  kind: 'scalar';
  type: 'text' | 'number' | 'boolean';
  doc: string;
}

export interface ObjectFieldOf<T> {
  kind: 'object';
  doc: string;
  fields: { [K in keyof T]-?: FieldFor<T[K]> };
}

export interface ArrayFieldOf<T> {
  kind: 'array';
  doc: string;
  of: FieldFor<T>;
}

export type FieldFor<T> =
  NonNullable<T> extends ReadonlyArray<infer U> ? ArrayFieldOf<U> : NonNullable<T> extends object ? ObjectFieldOf<NonNullable<T>> : ScalarField;

/** the same tree without the type parameters, for walking */
export type ContextField =
  | ScalarField
  | { kind: 'object'; doc: string; fields: Record<string, ContextField> }
  | { kind: 'array'; doc: string; of: ContextField };

const text = (doc: string): ScalarField => ({ kind: 'scalar', type: 'text', doc });
const num = (doc: string): ScalarField => ({ kind: 'scalar', type: 'number', doc });
const bool = (doc: string): ScalarField => ({ kind: 'scalar', type: 'boolean', doc });

const change = {
  kind: 'object',
  doc: 'One change this step reacts to.',
  fields: {
    kind: text('owner, status, tag-added, tag-removed, severity, classification or determination'),
    from: text('The value before, or null when unknown.'),
    to: text('The value after, or null when cleared.'),
    id: text('The change id, `<kind>:<value>#<n>`.'),
    summary: text('The change in words: "Owner changed to Defender Experts", "Classified as benign positive".'),
    short: text('The change in a few words, for an SMS: "owner now Customer".'),
  },
} as const;

export const CONTEXT_FIELDS: ObjectFieldOf<TemplateContext> = {
  kind: 'object',
  doc: 'The template context.',
  fields: {
    incident: {
      kind: 'object',
      doc: 'The whole normalised incident (docs/LIFECYCLE.md).',
      fields: {
        key: text('Defender XDR incident id where there is one, else the Sentinel incident name.'),
        number: num('Sentinel incident number, or the numeric Graph id.'),
        title: text('The title.'),
        description: text('The description.'),
        severity: text(SEVERITIES.join(', ') + '.'),
        status: text(STATUSES.join(', ') + '.'),
        rawStatus: text('The status as received: "inProgress", "awaitingAction", "Active".'),
        owner: {
          kind: 'object',
          doc: 'Who owns the incident.',
          fields: {
            assignedTo: text('"Defender Experts", "Customer", a user, or null when unassigned.'),
            userPrincipalName: text("The owner's UPN, when known."),
            objectId: text("The owner's object id, when known."),
            email: text("The owner's email, when known."),
            kind: text('defender-experts, customer, user or unassigned.'),
          },
        },
        tags: { kind: 'array', doc: 'Sentinel labels / Graph tags.', of: text('One tag.') },
        classification: text('TruePositive, FalsePositive, BenignPositive, InformationalExpectedActivity, Undetermined, another value as received, or null. Write it with `human`.'),
        classificationReason: text('Sentinel only: SuspiciousActivity, IncorrectAlertLogic, … Write it with `human`.'),
        determination: text('Graph only, camelCase as received (notMalicious, malware, …), or null. Write it with `human`.'),
        classificationComment: text("Sentinel's classification comment or Graph's resolving comment."),
        provider: text('"Microsoft Defender XDR", "Azure Sentinel", …'),
        links: {
          kind: 'object',
          doc: "The incident's own links; a link that is not http(s) is null.",
          fields: {
            sentinel: text('The Sentinel portal link (about 280 characters).'),
            defender: text('The Defender portal link.'),
          },
        },
        createdAt: text('ISO time.'),
        updatedAt: text('ISO time.'),
        firstActivityAt: text('ISO time.'),
        lastActivityAt: text('ISO time.'),
        alerts: {
          kind: 'object',
          doc: 'The alerts of the incident.',
          fields: {
            count: num('How many alerts.'),
            titles: { kind: 'array', doc: 'Alert names, de-duplicated.', of: text('One alert name.') },
            products: { kind: 'array', doc: 'Products that raised them.', of: text('One product.') },
            tactics: { kind: 'array', doc: 'MITRE tactics.', of: text('One tactic.') },
          },
        },
        devices: {
          kind: 'array',
          doc: 'Devices named in the entities.',
          of: { kind: 'object', doc: 'One device.', fields: { name: text('Host name.'), id: text('Device id, when known.') } },
        },
        users: {
          kind: 'array',
          doc: 'Accounts named in the entities.',
          of: {
            kind: 'object',
            doc: 'One account.',
            fields: { name: text('Display name.'), userPrincipalName: text('UPN, when known.'), objectId: text('Object id, when known.') },
          },
        },
        groups: { kind: 'array', doc: 'Security groups named in the entities.', of: text('One group.') },
        ids: {
          kind: 'object',
          doc: 'The ids the incident has.',
          fields: {
            xdrIncidentId: text('Defender XDR incident id, or null for a Sentinel-only incident.'),
            sentinelName: text('Sentinel incident name (a GUID).'),
            sentinelArmId: text('Sentinel ARM resource id.'),
            tenantId: text('Tenant id.'),
            workspaceId: text('Log Analytics workspace id.'),
          },
        },
        source: text('sentinel or graph: which path the last event came by.'),
      },
    },
    incidentUrl: text("Defender's incident page if there is one (that is where Defender Experts work), else Sentinel's. Can be null."),
    shortUrl: text('`https://security.microsoft.com/incidents/<id>` when the incident has a Defender XDR id, else null. For an SMS.'),
    incidentPortal: text('Where `incidentUrl` leads: "Microsoft Defender", "Microsoft Sentinel", or null when there is no link.'),
    changes: { kind: 'array', doc: 'Every change this step reacts to.', of: change },
    change: { ...change, doc: 'The first entry of `changes`, or null.' },
    otherChanges: { kind: 'array', doc: 'The changes the headline does not name (its "(+N more)"), so the body can name them.', of: change },
    allChanges: text('Every change in words, the headline\'s first: `Tag "Awaiting Customer Action" added; owner changed from Defender Experts to Customer`.'),
    headline: text('The change in words, e.g. `Owner changed from Defender Experts to Customer`. With more changes it ends "(+N more)": name the others too (`otherChanges`, `allChanges`).'),
    moment: text('owner-defender-experts, owner-customer, awaiting-customer-action, status-active, status-closed or other. With several changes, the one asking most of the customer wins.'),
    playbook: text("The playbook's name (merged names, `a+b`, when several fired)."),
    receiver: {
      kind: 'object',
      doc: 'The receiver this message is for.',
      fields: { name: text('Its name in receivers.yaml.'), kind: text(RECEIVER_KINDS.join(', ') + '.') },
    },
    guidanceOnly: bool('True when an excluded device, user or group is involved: the kit automates nothing and the message must say MANUAL ACTION REQUIRED.'),
    manualActionRequired: bool('The same as `guidanceOnly`.'),
    exclusionMatches: { kind: 'array', doc: 'Which exclusion entries matched, each asset once.', of: text('e.g. `device:SRV-DC01 (SRV-DC*)`.') },
    exclusionReason: text('The `reason` from the exclusions file, or null.'),
    ticket: {
      kind: 'object',
      doc: 'The ticket this update is about, or null.',
      fields: { id: text('Its id at the target.'), key: text('Its key (SOC-7), when the target has one.'), url: text('Its link, when http(s).') },
    },
    kit: { kind: 'object', doc: 'The kit.', fields: { name: text('Sentinel Playbook Kit.'), version: text('Its version.') } },
    now: text('ISO time of the render: when the step was planned, so a retry renders the same bytes.'),
  },
};

export const CONTEXT_ROOT = CONTEXT_FIELDS as unknown as Extract<ContextField, { kind: 'object' }>;

/** Every documented path, as docs/TEMPLATES.md writes them: `incident.owner.assignedTo`, `changes[].summary`. */
export function contextPaths(field: ContextField = CONTEXT_ROOT, prefix = ''): Array<{ path: string; doc: string }> {
  const out: Array<{ path: string; doc: string }> = [];
  if (field.kind === 'object') {
    for (const [name, child] of Object.entries(field.fields)) {
      const path = prefix ? `${prefix}.${name}` : name;
      out.push({ path, doc: child.doc });
      out.push(...contextPaths(child, path));
    }
  } else if (field.kind === 'array' && field.of.kind === 'object') {
    out.push(...contextPaths(field.of, `${prefix}[]`));
  }
  return out;
}
