/** ingest on hostile sizes and on the merged view (in-memory state: the contract suite proves it behaves like Azure). */
import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/index.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { drainQueue } from '../../functions/pipeline/drain.js';
import { harness, sampleLines } from './harness.js';

type Json = Record<string, any>;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('ingest', () => {
  it('plans every step of an incident with huge multi-byte labels, and every queue message fits', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const [first] = (await sampleLines()) as Json[];
    const body = clone(first!);
    const cjk = '漢字テキスト'.repeat(50); // 300 characters, 900 bytes
    body.object.properties.labels = Array.from({ length: 50 }, (_, i) => ({ labelName: `${i}${cjk}`, labelType: 'User' }));
    body.object.properties.title = '標題'.repeat(50_000);
    body.incidentUpdates = { updatedFields: ['Owner', 'Labels'], labels: body.object.properties.labels, updatedBy: { name: 'x' } };
    const result = await ingest(body, h.runtime.ingestDeps);
    expect(result.steps).toHaveLength(12);
    const outcomes = await drainQueue(h.runtime.deliveryDeps);
    expect(outcomes.filter((o) => o.action === 'failed')).toEqual([]);
    expect(outcomes).toHaveLength(12);
  });

  it('keeps the snapshot storable when every field is non-ASCII at its limit (six times longer escaped on the wire)', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const lines = (await sampleLines()) as Json[];
    const body = clone(lines[0]!);
    const cjk = (i: number, n: number) => `${i}${'漢字テキスト監視'.repeat(n)}`;
    const p = body.object.properties;
    p.title = cjk(0, 1_000);
    p.description = cjk(0, 5_000);
    p.labels = Array.from({ length: 150 }, (_, i) => ({ labelName: cjk(i, 40), labelType: 'User' }));
    p.relatedEntities = [
      ...Array.from({ length: 400 }, (_, i) => ({ kind: 'Host', properties: { hostName: cjk(i, 40) } })),
      ...Array.from({ length: 400 }, (_, i) => ({ kind: 'Account', properties: { friendlyName: cjk(i, 40), accountName: `u${i}` } })),
      ...Array.from({ length: 400 }, (_, i) => ({ kind: 'SecurityGroup', properties: { friendlyName: cjk(i, 40) } })),
    ];
    const r = await ingest(body, h.runtime.ingestDeps);
    expect(r.steps.length).toBeGreaterThan(0);
    // the memory store refuses what Azure or Azurite would (stored length and escaped body): it was stored
    const stored = await stores.snapshots.get('3101');
    expect(stored).not.toBeNull();
    expect(stored!.snapshot.involved!.devices.length).toBeGreaterThan(0);
    const next = await ingest(lines[4], h.runtime.ingestDeps);
    expect(next.changes.map((c) => c.kind)).toContain('owner');
  });

  it('keeps the snapshot storable after an event with thousands of labels, and later events still work', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const lines = (await sampleLines()) as Json[];
    const flood = clone(lines[0]!);
    flood.object.properties.labels = Array.from({ length: 3000 }, (_, i) => ({ labelName: `label-${i}-${'x'.repeat(150)}`, labelType: 'User' }));
    await ingest(flood, h.runtime.ingestDeps);
    const stored = await stores.snapshots.get('3101');
    expect(stored!.snapshot.incident.tags.length).toBeLessThanOrEqual(100);
    const next = await ingest(lines[4], h.runtime.ingestDeps);
    expect(next.changes.map((c) => c.kind)).toContain('owner');
  });

  it('applies exclusions to every device named so far, even when this event names none', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const lines = (await sampleLines()) as Json[];
    await ingest(lines[2], h.runtime.ingestDeps); // Graph 3103 with SRV-DC01 in its alert evidence
    await drainQueue(h.runtime.deliveryDeps);
    const resolved = clone(lines[15]!); // Graph 3103 resolved
    delete resolved.alerts; // the poller does not expand alerts
    const r = await ingest(resolved, h.runtime.ingestDeps);
    expect(r.changes.map((c) => c.kind)).toContain('status');
    expect(r.steps.length).toBeGreaterThan(0);
    expect(r.steps.every((s) => s.guidanceOnly)).toBe(true);
    expect(r.steps[0]!.exclusionMatches).toEqual(['device:SRV-DC01.contoso.com (SRV-DC01)']);
    // and the ticket receivers are not told to resolve on their own
    const outcomes = await drainQueue(h.runtime.deliveryDeps);
    expect(outcomes.every((o) => o.action === 'guidance-only')).toBe(true);
  });
});

describe('ingest keeps its promises on awkward input', () => {
  it('an excluded device named once keeps the incident guidance-only after events that do not name it', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const lines = (await sampleLines()) as Json[];
    await ingest(lines[2], h.runtime.ingestDeps); // Graph 3103, evidence names SRV-DC01
    const other = (body: Json, at: string, extra: Json) => {
      const b = clone(body);
      b.alerts = [{ '@odata.type': '#microsoft.graph.security.alert', id: `a-${at}`, title: 't', evidence: [{ '@odata.type': '#microsoft.graph.security.deviceEvidence', deviceDnsName: 'ws-other.contoso.com' }] }];
      b.lastUpdateDateTime = at;
      return Object.assign(b, extra);
    };
    await ingest(other(lines[2]!, '2026-11-26T09:20:00Z', { severity: 'low' }), h.runtime.ingestDeps);
    await ingest(other(lines[2]!, '2026-11-26T09:25:00Z', { severity: 'medium' }), h.runtime.ingestDeps);
    const closed = await ingest(other(lines[15]!, '2026-11-26T17:00:00Z', {}), h.runtime.ingestDeps);
    expect(closed.steps.length).toBeGreaterThan(0);
    expect(closed.steps.every((s) => s.guidanceOnly)).toBe(true);
  });

  it('entity names full of characters JSON escapes still leave a storable snapshot', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const [first] = (await sampleLines()) as Json[];
    const body = clone(first!);
    const nasty = '\u0001\u0002"\\'.repeat(64);
    body.object.properties.relatedEntities = Array.from({ length: 120 }, (_, i) => ({ kind: i % 2 ? 'Host' : 'Account', properties: { hostName: `${i}${nasty}`, accountName: `${i}${nasty}`, friendlyName: `${i}${nasty}` } }));
    await ingest(body, h.runtime.ingestDeps);
    expect(await stores.snapshots.get('3101')).not.toBeNull();
  });

  it('a 60 kB closing comment is carried cut, not lost', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const lines = (await sampleLines()) as Json[];
    const close = clone(lines[10]!); // 3104 closed in Sentinel
    close.object.properties.classificationComment = 'Details: '.repeat(7_000);
    const r = await ingest(close, h.runtime.ingestDeps);
    expect(r.steps).toHaveLength(12);
    expect(r.steps.every((s) => (s.incident.classificationComment ?? '').length <= 1_000)).toBe(true);
  });
});
