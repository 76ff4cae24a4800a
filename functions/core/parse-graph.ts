/**
 * A Microsoft Graph v1.0 `security/incidents` resource (microsoft.graph.security.incident), as the poller reads it
 * with `Prefer: include-unknown-enum-members`, optionally with `$expand=alerts` → IncidentEvent.
 */
import { invalid } from './errors.js';
import type { AlertSummary, Device, Incident, IncidentEvent, User } from './model.js';
import { classificationOf, describeType, determinationOf, graphStatus, looseRecords, looseString, numericId, optionalArray, optionalId, optionalString, own, ownerOf, severityOf, uniqueCaseInsensitive, uniqueDevices, uniqueUsers, withAwaitingTag } from './normalise.js';
import { isJsonObject, type JsonObject } from './json-object.js';

/** Graph incidents are Defender XDR incidents; the resource does not name its provider. */
export const GRAPH_PROVIDER = 'Microsoft Defender XDR';

export function parseGraphIncident(resource: unknown): IncidentEvent {
  if (!isJsonObject(resource)) throw invalid('body', `expected a Graph security incident object, got ${describeType(resource)}`);
  const id = optionalId(resource, 'id', '');
  if (id === null) {
    const v = own(resource, 'id');
    throw invalid('id', `expected a non-empty string, got ${v === undefined ? 'nothing' : describeType(v)}`);
  }
  const displayName = optionalString(resource, 'displayName', '');
  const rawStatus = optionalString(resource, 'status', '');
  if (displayName === null && rawStatus === null) {
    throw invalid('displayName', 'expected displayName or status to be present');
  }
  const { status, awaitingAction } = graphStatus(rawStatus);
  const assignedTo = optionalString(resource, 'assignedTo', '');
  // Graph's assignedTo is free text; for a directory user it is their UPN.
  const upn = assignedTo !== null && assignedTo.includes('@') ? assignedTo.trim() : null;

  const tags = withAwaitingTag(
    uniqueCaseInsensitive([
      ...stringsOf(optionalArray(resource, 'customTags', '')),
      ...stringsOf(optionalArray(resource, 'systemTags', '')),
    ]),
    awaitingAction,
  );

  const alerts = looseRecords(optionalArray(resource, 'alerts', ''));
  const evidence = readEvidence(alerts);
  const activity = activityWindow(alerts);

  const incident: Incident = {
    key: id,
    source: 'graph',
    ids: {
      xdrIncidentId: id,
      sentinelName: null,
      sentinelArmId: null,
      tenantId: optionalString(resource, 'tenantId', ''),
      workspaceId: null,
    },
    number: numericId(id),
    title: displayName ?? `Incident ${id}`,
    description: optionalString(resource, 'description', '') ?? optionalString(resource, 'summary', '') ?? '',
    severity: severityOf(optionalString(resource, 'severity', '')),
    status,
    rawStatus,
    owner: ownerOf({ assignedTo, userPrincipalName: upn, objectId: null, email: null }),
    tags,
    classification: classificationOf(optionalString(resource, 'classification', '')),
    classificationReason: null,
    determination: determinationOf(optionalString(resource, 'determination', '')),
    classificationComment: optionalString(resource, 'resolvingComment', ''),
    provider: GRAPH_PROVIDER,
    links: { sentinel: null, defender: optionalString(resource, 'incidentWebUrl', '') },
    createdAt: optionalString(resource, 'createdDateTime', ''),
    updatedAt: optionalString(resource, 'lastUpdateDateTime', ''),
    firstActivityAt: activity.first,
    lastActivityAt: activity.last,
    alerts: summariseAlerts(alerts),
    devices: evidence.devices,
    users: evidence.users,
    groups: [],
  };
  return { incident, updates: null, eventId: null };
}

function stringsOf(values: unknown[]): string[] {
  return values.filter((v): v is string => typeof v === 'string');
}

function summariseAlerts(alerts: JsonObject[]): AlertSummary {
  const titles: string[] = [];
  const products: string[] = [];
  const tactics: string[] = [];
  for (const a of alerts) {
    const t = looseString(a, 'title');
    if (t !== null) titles.push(t);
    const product = looseString(a, 'productName') ?? looseString(a, 'serviceSource');
    if (product !== null) products.push(product);
    // v1.0 alerts carry the MITRE tactic as `category`, e.g. "InitialAccess".
    const category = looseString(a, 'category');
    if (category !== null) tactics.push(category);
  }
  return {
    count: alerts.length,
    titles: uniqueCaseInsensitive(titles),
    products: uniqueCaseInsensitive(products),
    tactics: uniqueCaseInsensitive(tactics),
  };
}

function readEvidence(alerts: JsonObject[]): { devices: Device[]; users: User[] } {
  const devices: Device[] = [];
  const users: User[] = [];
  for (const alert of alerts) {
    for (const ev of looseRecords(own(alert, 'evidence'))) {
      const type = looseString(ev, '@odata.type')?.toLowerCase() ?? '';
      if (type.endsWith('.deviceevidence')) {
        const name = looseString(ev, 'hostName') ?? looseString(ev, 'deviceDnsName');
        if (name !== null) devices.push({ name, id: looseString(ev, 'mdeDeviceId') ?? looseString(ev, 'azureAdDeviceId') });
      } else if (type.endsWith('.userevidence')) {
        const account = own(ev, 'userAccount');
        if (!isJsonObject(account)) continue;
        const upn = looseString(account, 'userPrincipalName');
        const name = looseString(account, 'displayName') ?? upn ?? looseString(account, 'accountName');
        if (name !== null) users.push({ name, userPrincipalName: upn, objectId: looseString(account, 'azureAdUserId') });
      }
    }
  }
  return { devices: uniqueDevices(devices), users: uniqueUsers(users) };
}

/** Graph has no activity times on the incident itself; its alerts' span stands in for them. */
function activityWindow(alerts: JsonObject[]): { first: string | null; last: string | null } {
  let first: string | null = null;
  let last: string | null = null;
  for (const a of alerts) {
    const f = looseString(a, 'firstActivityDateTime');
    const l = looseString(a, 'lastActivityDateTime');
    if (f !== null && !Number.isNaN(Date.parse(f)) && (first === null || Date.parse(f) < Date.parse(first))) first = f;
    if (l !== null && !Number.isNaN(Date.parse(l)) && (last === null || Date.parse(l) > Date.parse(last))) last = l;
  }
  return { first, last };
}
