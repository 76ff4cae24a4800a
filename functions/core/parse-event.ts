/**
 * One entry for whatever arrives: a Sentinel incident-trigger body (push) or a Graph
 * `security/incidents` resource (poll). Only these two shapes are accepted; a bare ARM incident
 * resource is refused rather than guessed at, because its key and links would differ from the
 * trigger's and break push/poll convergence.
 */
import { KitError } from './errors.js';
import type { IncidentEvent } from './model.js';
import { describeType, own } from './normalise.js';
import { isJsonObject } from './json-object.js';
import { parseGraphIncident } from './parse-graph.js';
import { parseSentinelTrigger } from './parse-sentinel.js';

export type EventShape = 'sentinel' | 'graph';

const GRAPH_ODATA_TYPE = '#microsoft.graph.security.incident';

const LOOKED_FOR =
  'looked for a Sentinel incident trigger (object.properties, objectSchemaType "Incident") ' +
  `or a Graph security incident (id with lastUpdateDateTime, incidentWebUrl or @odata.type "${GRAPH_ODATA_TYPE}")`;

function notAnIncident(detail: string): KitError {
  return new KitError(`body: not an incident (${detail}); ${LOOKED_FOR}`, {
    kind: 'validation',
    statusCode: 400,
    where: { field: 'body' },
  });
}

export function detectShape(raw: unknown): EventShape {
  if (!isJsonObject(raw)) throw notAnIncident(`got ${describeType(raw)}`);

  const object = own(raw, 'object');
  const schemaType = own(raw, 'objectSchemaType');
  if ((isJsonObject(object) && isJsonObject(own(object, 'properties'))) || (typeof schemaType === 'string' && schemaType.trim().toLowerCase() === 'incident')) {
    return 'sentinel';
  }

  const odataType = own(raw, '@odata.type');
  if (typeof odataType === 'string' && odataType.trim().toLowerCase() === GRAPH_ODATA_TYPE) return 'graph';
  const id = own(raw, 'id');
  const hasId = (typeof id === 'string' && id.trim() !== '') || typeof id === 'number';
  if (hasId && (own(raw, 'lastUpdateDateTime') !== undefined || own(raw, 'incidentWebUrl') !== undefined)) return 'graph';

  if (isJsonObject(own(raw, 'properties'))) {
    throw notAnIncident('this looks like an ARM incident resource without the trigger wrapper; send it as { "object": <resource> }');
  }
  throw notAnIncident('none of those fields is present');
}

export function parseEvent(raw: unknown): IncidentEvent {
  return detectShape(raw) === 'sentinel' ? parseSentinelTrigger(raw) : parseGraphIncident(raw);
}
