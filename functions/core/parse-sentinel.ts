/**
 * The body a Sentinel playbook's incident trigger ("Microsoft Sentinel incident", Logic Apps) receives:
 * `{ eventUniqueId, objectSchemaType, objectEventType, workspaceInfo, workspaceId,
 *    object: { id, name, etag, type, properties: { ...ARM incident, alerts[], relatedEntities[], comments[] } },
 *    incidentUpdates? }` → one normalised IncidentEvent.
 */
import { invalid } from './errors.js';
import type { AlertSummary, Device, Incident, IncidentEvent, IncidentUpdates, User } from './model.js';
import { classificationOf, looseRecords, looseString, looseStrings, optionalArray, optionalId, optionalInteger, optionalRecord, optionalString, own, ownerOf, requireRecord, sentinelStatus, severityOf, tenantFromDefenderUrl, uniqueCaseInsensitive, describeType, uniqueDevices, uniqueUsers } from './normalise.js';
import { isJsonObject, type JsonObject } from './json-object.js';

const PROPS = 'object.properties';

/**
 * Providers whose providerIncidentId is a Defender XDR incident id. Sentinel-native incidents
 * ("Azure Sentinel", "Microsoft Sentinel") reuse providerIncidentId for their own number, which
 * must not be mistaken for an XDR id.
 */
export function isDefenderProvider(providerName: string | null): boolean {
  if (providerName === null) return false;
  return /defender|microsoft 365|m365|threat protection/i.test(providerName);
}

export function parseSentinelTrigger(body: unknown): IncidentEvent {
  if (!isJsonObject(body)) throw invalid('body', `expected a Sentinel incident trigger object, got ${describeType(body)}`);
  const object = requireRecord(body, 'object', '');
  const props = requireRecord(object, 'properties', 'object');

  const title = own(props, 'title');
  if (typeof title !== 'string') {
    throw invalid(`${PROPS}.title`, `expected a string, got ${title === undefined ? 'nothing' : describeType(title)}`);
  }
  const name = optionalId(object, 'name', 'object');
  const providerIncidentId = optionalId(props, 'providerIncidentId', PROPS);
  if (name === null && providerIncidentId === null) {
    throw invalid(`${PROPS}.providerIncidentId`, 'expected providerIncidentId or object.name to identify the incident');
  }
  const provider = optionalString(props, 'providerName', PROPS);
  const xdrIncidentId = isDefenderProvider(provider) ? providerIncidentId : null;
  // Invariant 6: the XDR id when there is one, so push and poll converge on one snapshot.
  const key = xdrIncidentId ?? name ?? (providerIncidentId as string);

  const additional = optionalRecord(props, 'additionalData', PROPS);
  const defenderUrl =
    (additional ? optionalString(additional, 'providerIncidentUrl', `${PROPS}.additionalData`) : null) ??
    optionalString(props, 'providerIncidentUrl', PROPS);
  const rawStatus = optionalString(props, 'status', PROPS);
  const classificationRaw = optionalString(props, 'classification', PROPS);

  const ownerRec = optionalRecord(props, 'owner', PROPS);
  const ownerPath = `${PROPS}.owner`;
  const owner = ownerOf({
    assignedTo: ownerRec ? optionalString(ownerRec, 'assignedTo', ownerPath) : null,
    userPrincipalName: ownerRec ? optionalString(ownerRec, 'userPrincipalName', ownerPath) : null,
    objectId: ownerRec ? optionalId(ownerRec, 'objectId', ownerPath) : null,
    email: ownerRec ? optionalString(ownerRec, 'email', ownerPath) : null,
  });

  const entities = readEntities(optionalArray(props, 'relatedEntities', PROPS));

  const incident: Incident = {
    key,
    source: 'sentinel',
    ids: {
      xdrIncidentId,
      sentinelName: name,
      sentinelArmId: optionalString(object, 'id', 'object'),
      tenantId: tenantFromDefenderUrl(defenderUrl),
      workspaceId: optionalString(body, 'workspaceId', ''),
    },
    number: optionalInteger(props, 'incidentNumber', PROPS),
    title,
    description: optionalString(props, 'description', PROPS) ?? '',
    severity: severityOf(optionalString(props, 'severity', PROPS)),
    status: sentinelStatus(rawStatus),
    rawStatus,
    owner,
    tags: readLabels(optionalArray(props, 'labels', PROPS)),
    classification: classificationOf(classificationRaw),
    classificationReason: optionalString(props, 'classificationReason', PROPS),
    // Sentinel has no determination; Graph's is the only source of it.
    determination: null,
    classificationComment: optionalString(props, 'classificationComment', PROPS),
    provider,
    links: { sentinel: optionalString(props, 'incidentUrl', PROPS), defender: defenderUrl },
    createdAt: optionalString(props, 'createdTimeUtc', PROPS),
    updatedAt: optionalString(props, 'lastModifiedTimeUtc', PROPS),
    firstActivityAt: optionalString(props, 'firstActivityTimeUtc', PROPS),
    lastActivityAt: optionalString(props, 'lastActivityTimeUtc', PROPS),
    alerts: readAlerts(optionalArray(props, 'alerts', PROPS), additional),
    devices: entities.devices,
    users: entities.users,
    groups: entities.groups,
  };

  return {
    incident,
    updates: readUpdates(body),
    eventId: optionalString(body, 'eventUniqueId', ''),
  };
}

/** Labels are `{ labelName, labelType }`; plain strings are accepted as well. */
function readLabels(labels: unknown[]): string[] {
  const names: string[] = [];
  for (const label of labels) {
    if (typeof label === 'string') names.push(label);
    else if (isJsonObject(label)) {
      const n = looseString(label, 'labelName');
      if (n !== null) names.push(n);
    }
  }
  return uniqueCaseInsensitive(names);
}

/** Entities and alerts come as ARM resources (`{ kind, properties }`); a flat object is read as its own properties. */
function entityProperties(e: JsonObject): JsonObject {
  const p = own(e, 'properties');
  return isJsonObject(p) ? p : e;
}

function readAlerts(alerts: unknown[], additional: JsonObject | null): AlertSummary {
  const titles: string[] = [];
  const products: string[] = [];
  const tactics: string[] = [];
  const records = looseRecords(alerts);
  for (const alert of records) {
    const p = entityProperties(alert);
    const t = looseString(p, 'alertDisplayName') ?? looseString(p, 'friendlyName');
    if (t !== null) titles.push(t);
    const product = looseString(p, 'productName');
    if (product !== null) products.push(product);
    tactics.push(...looseStrings(own(p, 'tactics')));
  }
  let count = records.length;
  if (additional) {
    products.push(...looseStrings(own(additional, 'alertProductNames')));
    tactics.push(...looseStrings(own(additional, 'tactics')));
    const declared = own(additional, 'alertsCount');
    // The trigger caps the alerts it inlines; the declared count is the incident's real size.
    if (typeof declared === 'number' && Number.isSafeInteger(declared) && declared > count) count = declared;
  }
  return {
    count,
    titles: uniqueCaseInsensitive(titles),
    products: uniqueCaseInsensitive(products),
    tactics: uniqueCaseInsensitive(tactics),
  };
}

interface Entities {
  devices: Device[];
  users: User[];
  groups: string[];
}

function readEntities(entities: unknown[]): Entities {
  const devices: Device[] = [];
  const users: User[] = [];
  const groups: string[] = [];
  for (const entity of looseRecords(entities)) {
    const kind = looseString(entity, 'kind')?.toLowerCase();
    const p = entityProperties(entity);
    if (kind === 'host') {
      const name = looseString(p, 'hostName') ?? looseString(p, 'fqdn') ?? looseString(p, 'friendlyName');
      if (name === null) continue;
      const extra = own(p, 'additionalData');
      const mdeId = isJsonObject(extra) ? looseString(extra, 'MdatpDeviceId') : null;
      devices.push({ name, id: mdeId ?? looseString(p, 'azureID') ?? looseString(p, 'omsAgentID') });
    } else if (kind === 'account') {
      const accountName = looseString(p, 'accountName');
      const suffix = looseString(p, 'upnSuffix');
      const upn = accountName !== null && suffix !== null ? `${accountName}@${suffix}` : null;
      const name = looseString(p, 'friendlyName') ?? looseString(p, 'displayName') ?? upn ?? accountName;
      if (name === null) continue;
      users.push({ name, userPrincipalName: upn, objectId: looseString(p, 'aadUserId') });
    } else if (kind === 'securitygroup') {
      const name = looseString(p, 'friendlyName') ?? looseString(p, 'distinguishedName') ?? looseString(p, 'objectGuid');
      if (name !== null) groups.push(name);
    }
  }
  return { devices: uniqueDevices(devices), users: uniqueUsers(users), groups: uniqueCaseInsensitive(groups) };
}

/** `incidentUpdates` is absent (or has null updatedFields) on create runs; the community playbooks test exactly that. */
function readUpdates(body: JsonObject): IncidentUpdates | null {
  const u = optionalRecord(body, 'incidentUpdates', '');
  if (u === null) return null;
  const fieldsRaw = own(u, 'updatedFields');
  if (fieldsRaw === undefined || fieldsRaw === null) return null;
  const updatedFields = uniqueCaseInsensitive(looseStrings(optionalArray(u, 'updatedFields', 'incidentUpdates')));
  const by = own(u, 'updatedBy');
  const updatedBy = isJsonObject(by) ? looseString(by, 'name') : typeof by === 'string' && by.trim() !== '' ? by.trim() : null;
  const labelsAdded = readLabels(optionalArray(u, 'labels', 'incidentUpdates'));
  const alertsAdded = optionalArray(u, 'alerts', 'incidentUpdates').length;
  const commentsAdded = optionalArray(u, 'comments', 'incidentUpdates').length;
  const tacticsAdded = uniqueCaseInsensitive(looseStrings(optionalArray(u, 'tactics', 'incidentUpdates')));
  return { updatedFields, updatedBy, labelsAdded, alertsAdded, commentsAdded, tacticsAdded };
}
