import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectChanges } from '../../functions/core/detect-changes.js';
import { KitError } from '../../functions/core/errors.js';
import { SEVERITIES, STATUSES, type IncidentEvent, type Snapshot } from '../../functions/core/model.js';
import { parseEvent } from '../../functions/core/parse-event.js';
import { parseGraphIncident } from '../../functions/core/parse-graph.js';
import { parseSentinelTrigger } from '../../functions/core/parse-sentinel.js';

type Json = Record<string, any>;

function load(dir: 'graph' | 'sentinel', name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/${dir}/${name}.json`, import.meta.url), 'utf8')) as Json;
}

const SENTINEL_FIXTURES = [
  'create-defender-incident',
  'update-owner-defender-experts',
  'update-awaiting-customer-action',
  'update-labels-refire',
  'update-closed-true-positive',
  'update-closed-false-positive',
  'sentinel-native-incident',
].map((n) => load('sentinel', n));

const GRAPH_FIXTURES = [
  'in-progress',
  'awaiting-action',
  'resolved-false-positive-old-determination',
  'resolved-false-positive-new-determination',
  'docs-example-mixed-case',
  'expanded-alerts',
].map((n) => load('graph', n));

const PARSERS = { parseEvent, parseSentinelTrigger, parseGraphIncident } as const;

/** Anything at all, including boxed values, null prototypes, sparse arrays and `__proto__` keys. */
const anything = fc.anything({
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withDate: true,
  withBigInt: true,
  key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'title', 'id', 'object', 'properties')),
});

/** A value of the kinds a JSON body can hold in a field, biased to the awkward ones. */
const fieldValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(null, '', ' ', 'unknownFutureValue', 'Unassigned', 'awaitingAction', '__proto__', '<script>alert(1)</script>', [], {}),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  anything,
);

/** The thrown value, or undefined when the parser returned normally. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e ?? new Error('threw a nullish value');
  }
}

function assertOnlyValidationErrors(fn: () => unknown): void {
  const e = thrownBy(fn);
  if (e === undefined) return;
  if (!(e instanceof KitError)) throw e;
  expect(e.kind).toBe('validation');
  expect(typeof e.where?.field).toBe('string');
  expect(e.message.startsWith(`${e.where?.field}: `)).toBe(true);
}

function assertWellFormed(ev: IncidentEvent): void {
  const i = ev.incident;
  expect(typeof i.key).toBe('string');
  expect(i.key.length).toBeGreaterThan(0);
  expect(STATUSES).toContain(i.status);
  expect(SEVERITIES).toContain(i.severity);
  expect(['defender-experts', 'customer', 'user', 'unassigned']).toContain(i.owner.kind);
  expect(typeof i.title).toBe('string');
  const lowered = i.tags.map((t) => t.toLowerCase());
  expect(new Set(lowered).size).toBe(lowered.length);
  for (const t of i.tags) expect(t).toBe(t.trim());
  expect(i.tags).not.toContain('');
  // the incident travels on a queue: it must survive JSON as it is
  expect(JSON.parse(JSON.stringify(ev))).toEqual(ev);
}

/** A realistic Sentinel body with some properties, owner fields or top-level fields replaced. */
const mutatedSentinel = fc
  .record({
    base: fc.constantFrom(...SENTINEL_FIXTURES),
    props: fc.dictionary(
      fc.constantFrom('title', 'description', 'severity', 'status', 'owner', 'labels', 'classification', 'providerName', 'providerIncidentId', 'incidentNumber', 'alerts', 'relatedEntities', 'additionalData', 'lastModifiedTimeUtc', 'comments', '__proto__'),
      fieldValue,
      { maxKeys: 4 },
    ),
    owner: fc.dictionary(fc.constantFrom('assignedTo', 'userPrincipalName', 'objectId', 'email'), fieldValue, { maxKeys: 2 }),
    top: fc.dictionary(fc.constantFrom('object', 'incidentUpdates', 'workspaceId', 'eventUniqueId', 'objectSchemaType'), fieldValue, { maxKeys: 1 }),
  })
  .map(({ base, props, owner, top }) => {
    const body = structuredClone(base);
    const p = body.object.properties as Json;
    if (p.owner !== null && typeof p.owner === 'object') Object.assign(p.owner, owner);
    for (const [k, v] of Object.entries(props)) Object.defineProperty(p, k, { value: v, enumerable: true, writable: true, configurable: true });
    for (const [k, v] of Object.entries(top)) body[k] = v;
    return body;
  });

const mutatedGraph = fc
  .record({
    base: fc.constantFrom(...GRAPH_FIXTURES),
    fields: fc.dictionary(
      fc.constantFrom('id', 'displayName', 'status', 'severity', 'assignedTo', 'classification', 'determination', 'customTags', 'systemTags', 'lastUpdateDateTime', 'alerts', 'comments', 'description', '@odata.type', '__proto__'),
      fieldValue,
      { maxKeys: 4 },
    ),
  })
  .map(({ base, fields }) => {
    const r = structuredClone(base);
    for (const [k, v] of Object.entries(fields)) Object.defineProperty(r, k, { value: v, enumerable: true, writable: true, configurable: true });
    return r;
  });

describe('parsers never throw anything but a validation KitError', () => {
  for (const [name, parse] of Object.entries(PARSERS)) {
    it(`${name}: fc.anything()`, () => {
      fc.assert(fc.property(anything, (raw) => assertOnlyValidationErrors(() => parse(raw))), { numRuns: 400 });
    });

    it(`${name}: fc.jsonValue()`, () => {
      fc.assert(fc.property(fc.jsonValue(), (raw) => assertOnlyValidationErrors(() => parse(raw))), { numRuns: 400 });
    });

    it(`${name}: mutated realistic bodies`, () => {
      fc.assert(
        fc.property(fc.oneof(mutatedSentinel, mutatedGraph), (raw) => assertOnlyValidationErrors(() => parse(raw))),
        { numRuns: 400 },
      );
    });
  }

  it('what parses from a mutated body is a well-formed incident', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedSentinel, mutatedGraph), (raw) => {
        let ev: IncidentEvent;
        try {
          ev = parseEvent(raw);
        } catch (e) {
          if (e instanceof KitError && e.kind === 'validation') return;
          throw e;
        }
        assertWellFormed(ev);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves Object.prototype alone', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedSentinel, mutatedGraph, anything), (raw) => {
        try {
          parseEvent(raw);
        } catch {
          // only pollution matters here
        }
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS);
      }),
      { numRuns: 300 },
    );
  });
});

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

/** Events that parse, from mutated realistic bodies (a body that does not parse is dropped). */
const parsedEvent = fc.oneof(mutatedSentinel, mutatedGraph, fc.constantFrom(...SENTINEL_FIXTURES, ...GRAPH_FIXTURES)).chain((raw) => {
  try {
    return fc.constant(parseEvent(raw));
  } catch {
    return fc.constant(parseEvent(SENTINEL_FIXTURES[0]));
  }
});

function fold(events: IncidentEvent[]): { ids: string[][]; snapshot: Snapshot | null } {
  let snapshot: Snapshot | null = null;
  const ids: string[][] = [];
  for (const e of events) {
    const r = detectChanges(snapshot, e);
    ids.push(r.changes.map((c) => c.id));
    snapshot = r.next;
  }
  return { ids, snapshot };
}

describe('detectChanges over parsed incidents', () => {
  it('never throws and is deterministic', () => {
    fc.assert(
      fc.property(fc.array(parsedEvent, { minLength: 1, maxLength: 6 }), (events) => {
        const a = fold(events);
        const b = fold(structuredClone(events));
        expect(a).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('gives every change an id of the form <kind>:<value>#<n>, each id once per incident history', () => {
    fc.assert(
      fc.property(fc.array(parsedEvent, { minLength: 1, maxLength: 6 }), (events) => {
        const all = fold(events).ids.flat();
        for (const id of all) expect(id).toMatch(/^(owner|status|tag-added|tag-removed|severity|classification|determination):.*#[1-9]\d*$/s);
        // events of one incident key only: ids of different incidents may legitimately coincide
        const sameKey = events.filter((e) => e.incident.key === events[0]!.incident.key);
        const ids = fold(sameKey).ids.flat();
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: 300 },
    );
  });

  it('finds nothing new when the same observation arrives twice', () => {
    fc.assert(
      fc.property(fc.array(parsedEvent, { minLength: 0, maxLength: 4 }), parsedEvent, (history, e) => {
        const { snapshot } = fold(history);
        const once = detectChanges(snapshot, e);
        const twice = detectChanges(once.next, e);
        expect(twice.changes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
