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

/**
 * Real trigger bodies nest about 7 levels and Graph incidents about 6. Anything far deeper is a caller's
 * mistake or an attack, and the recursive walks behind the parse (the replay fingerprint's canonical
 * JSON) would overflow the stack on it: a 500 that the Logic App would retry for ever.
 */
export const MAX_EVENT_DEPTH = 64;

/** how deep `raw` nests, walked without recursion; stops counting once past `limit` */
export function nestingDepth(raw: unknown, limit = MAX_EVENT_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[raw, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(value) ? value : Object.values(value)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return deepest;
}

export function parseEvent(raw: unknown): IncidentEvent {
  if (nestingDepth(raw) > MAX_EVENT_DEPTH) {
    throw new KitError(`body: nested deeper than ${MAX_EVENT_DEPTH} levels; no Sentinel trigger or Graph incident is`, { kind: 'validation', statusCode: 400, where: { field: 'body' } });
  }
  return detectShape(raw) === 'sentinel' ? parseSentinelTrigger(raw) : parseGraphIncident(raw);
}
