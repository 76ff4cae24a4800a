import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_CHARS,
  MAX_JSON_CHARS,
  MAX_JSON_WIRE_CHARS,
  MAX_VISIBILITY_SECONDS,
  asciiJson,
  checkJsonSize,
  fitsTableEntity,
  wireChars,
  decodeDelivery,
  decodePoison,
  delaySeconds,
  encodeDelivery,
  encodeKey,
  encodePoison,
  fromChunks,
  toChunks,
} from '../../functions/state/azure/encoding.js';
import { KitError } from '../../functions/core/errors.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';

// what Azure Tables refuse in PartitionKey / RowKey
const FORBIDDEN_KEY_CHARS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

describe('table keys', () => {
  it('never contain a forbidden character and stay within 1 KiB', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 1024 }), (id) => {
        const key = encodeKey(id);
        expect(key).not.toMatch(FORBIDDEN_KEY_CHARS);
        expect(key.length).toBeLessThanOrEqual(1024);
      }),
    );
  });

  it('keep distinct ids apart, long or short', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), fc.string({ unit: 'binary', maxLength: 600 }), (a, b) => {
        fc.pre(a !== b);
        expect(encodeKey(a)).not.toBe(encodeKey(b));
      }),
    );
    expect(encodeKey('x'.repeat(1024))).not.toBe(encodeKey('x'.repeat(1023)));
  });
});

describe('JSON chunks', () => {
  it('round-trip any text and never split a surrogate pair across properties', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: CHUNK_CHARS - 20, maxLength: 2 * CHUNK_CHARS + 20 }), (text) => {
        const chunks = toChunks(text);
        expect(fromChunks(chunks, 'test')).toBe(text);
        for (const [name, value] of Object.entries(chunks)) {
          if (typeof value !== 'string') continue;
          expect(value.length, name).toBeLessThanOrEqual(CHUNK_CHARS);
          expect(value, name).not.toMatch(/\p{Cs}/u);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('moves a pair that straddles a boundary into the next chunk', () => {
    const text = `${'a'.repeat(CHUNK_CHARS - 1)}🛡b`;
    const chunks = toChunks(text);
    expect(chunks['json0']).toBe('a'.repeat(CHUNK_CHARS - 1));
    expect(chunks['json1']).toBe('🛡b');
    expect(chunks['jsonChunks']).toBe(2);
  });

  it('refuse an entity with a missing chunk instead of returning half a value', () => {
    const chunks = toChunks('x'.repeat(CHUNK_CHARS + 10));
    delete chunks['json1'];
    expect(() => fromChunks(chunks, 'snapshot 1')).toThrow(/snapshot 1: stored entity is missing chunk json1 of 2/);
  });
});

describe('ASCII-escaped JSON for table request bodies', () => {
  it('is all ASCII and parses to the same value, for any text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary', maxLength: 300 }), (value, text) => {
        for (const json of [JSON.stringify(value), JSON.stringify({ text, [text]: [text] })]) {
          const ascii = asciiJson(json);
          expect(ascii).toMatch(/^[\x00-\x7f]*$/);
          expect(JSON.parse(ascii)).toEqual(JSON.parse(json));
        }
      }),
    );
  });

  it('leaves ASCII JSON as it is', () => {
    const json = JSON.stringify({ a: 'plain <b>&amp;</b> "quoted" \\ \u0001', n: [1, 2.5, null, true] });
    expect(asciiJson(json)).toBe(json);
  });

  it('counts what a string costs in the request body: escapes included', () => {
    expect(wireChars('abc')).toBe(5);
    expect(wireChars('"')).toBe(4);
    expect(wireChars('é')).toBe(8);
    expect(wireChars('🛡')).toBe(14);
  });
});

describe('table entity budget', () => {
  it('takes ASCII JSON up to the stored limit, which is the tighter one for ASCII', () => {
    expect(MAX_JSON_CHARS).toBeLessThan(MAX_JSON_WIRE_CHARS);
    expect(fitsTableEntity('x'.repeat(MAX_JSON_CHARS))).toBe(true);
    expect(fitsTableEntity('x'.repeat(MAX_JSON_CHARS + 1))).toBe(false);
  });

  it('takes non-ASCII JSON only as far as its escaped form fits a request body', () => {
    const fits = Math.floor((MAX_JSON_WIRE_CHARS - 2) / 6);
    expect(fitsTableEntity('東'.repeat(fits))).toBe(true);
    expect(fitsTableEntity('東'.repeat(fits + 1))).toBe(false);
    expect(() => checkJsonSize('snapshot 1', '東'.repeat(fits + 1))).toThrow(
      expect.objectContaining({ kind: 'validation', statusCode: 413, message: expect.stringMatching(/snapshot 1 is \d+ characters of JSON once escaped/) }),
    );
    expect(() => checkJsonSize('snapshot 1', '東'.repeat(fits))).not.toThrow();
  });
});

describe('queue delays', () => {
  it('round up to whole seconds and stop at the 7-day ceiling', () => {
    expect(delaySeconds('d', undefined)).toBe(0);
    expect(delaySeconds('d', 0)).toBe(0);
    expect(delaySeconds('d', 1)).toBe(1);
    expect(delaySeconds('d', 1_000)).toBe(1);
    expect(delaySeconds('d', 1_001)).toBe(2);
    expect(delaySeconds('d', 10 * MAX_VISIBILITY_SECONDS * 1000)).toBe(MAX_VISIBILITY_SECONDS);
    expect(() => delaySeconds('enqueue.delayMs', Number.NaN)).toThrow(/enqueue.delayMs: must be a finite number/);
  });
});

describe('delivery messages', () => {
  it('decode what they encode', () => {
    const queued = { step: makeStep(), attempt: 3 };
    const text = encodeDelivery(queued);
    expect(decodeDelivery(JSON.parse(Buffer.from(text, 'base64').toString('utf8')))).toEqual(queued);
  });

  it('name the first bad field of something that is not a delivery', () => {
    const step = makeStep();
    const cases: Array<[unknown, string]> = [
      [null, 'delivery'],
      [{ step, attempt: 1.5 }, 'delivery.attempt'],
      [{ attempt: 1 }, 'delivery.step'],
      [{ step: { ...step, receiver: '' }, attempt: 1 }, 'delivery.step.receiver'],
      [{ step: { ...step, kind: 'fax' }, attempt: 1 }, 'delivery.step.kind'],
      [{ step: { ...step, stepType: 'page' }, attempt: 1 }, 'delivery.step.stepType'],
      [{ step: { ...step, changes: 'owner' }, attempt: 1 }, 'delivery.step.changes'],
      [{ step: { ...step, incident: { title: 'no key' } }, attempt: 1 }, 'delivery.step.incident'],
    ];
    for (const [value, field] of cases) {
      let caught: unknown;
      try {
        decodeDelivery(value);
      } catch (error) {
        caught = error;
      }
      expect(caught, field).toBeInstanceOf(KitError);
      expect((caught as KitError).where?.field, field).toBe(field);
    }
  });
});

describe('poison messages', () => {
  it('keep a near-limit delivery by shortening its description, never dropping it', () => {
    const description = 'd'.repeat(46_000);
    const queued = { step: makeStep({ incident: makeIncident({ description }) }), attempt: 5 };
    expect(encodeDelivery(queued).length).toBeLessThanOrEqual(65_536);
    const text = encodePoison(queued, 'r'.repeat(5_000), null, new Date('2026-11-26T10:00:00Z'));
    expect(text.length).toBeLessThanOrEqual(65_536);
    const entry = decodePoison(text);
    expect(entry.delivery?.step.idempotencyKey).toBe(queued.step.idempotencyKey);
    expect(entry.delivery?.step.incident.description.length).toBeLessThan(description.length);
    expect(entry.reason).toBe('r'.repeat(2_000));
  });

  it('read what the Functions host moved there, decodable or not', () => {
    const queued = { step: makeStep(), attempt: 5 };
    expect(decodePoison(encodeDelivery(queued))).toEqual({
      delivery: queued,
      reason: 'moved by the Functions host after maxDequeueCount failed attempts',
      raw: null,
    });
    const garbage = decodePoison('%%%');
    expect(garbage.delivery).toBeNull();
    expect(garbage.raw).toBe('%%%');
  });
});
