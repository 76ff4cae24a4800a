/** A body nested far deeper than any real trigger is the caller's mistake: a validation error, never a stack overflow. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../functions/core/errors.js';
import { MAX_EVENT_DEPTH, nestingDepth, parseEvent } from '../../functions/core/parse-event.js';
import { eventFingerprint } from '../../functions/core/plan-event.js';

const sample = JSON.parse(readFileSync(new URL('../../samples/defender-experts-day.jsonl', import.meta.url), 'utf8').split('\n')[0]!) as { object: { properties: Record<string, unknown> } };
const nested = (levels: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

describe('nesting depth', () => {
  it('measures without recursion, even 100,000 levels down', () => {
    expect(nestingDepth({ a: [1, { b: 2 }] })).toBe(3);
    expect(nestingDepth('x')).toBe(0);
    expect(nestingDepth(nested(100_000), Infinity)).toBe(100_000);
  });

  it('a real trigger parses; one with a field nested past the limit is refused as validation on body', () => {
    expect(() => parseEvent(sample)).not.toThrow();
    const deep = structuredClone(sample);
    deep.object.properties.extra = nested(10_000);
    // the fingerprint's canonical JSON is what would overflow without the check
    expect(() => eventFingerprint(deep)).toThrow(RangeError);
    const err = (() => {
      try {
        parseEvent(deep);
      } catch (e) {
        return e;
      }
    })() as KitError;
    expect(err).toBeInstanceOf(KitError);
    expect(err).toMatchObject({ kind: 'validation', statusCode: 400, where: { field: 'body' } });
    expect(err.message).toContain(`deeper than ${MAX_EVENT_DEPTH}`);
    const edge = structuredClone(sample);
    edge.object.properties.extra = nested(MAX_EVENT_DEPTH - 3);
    expect(() => parseEvent(edge)).not.toThrow();
  });
});
