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
    expect(result.steps).toHaveLength(11);
    const outcomes = await drainQueue(h.runtime.deliverDeps);
    expect(outcomes.filter((o) => o.action === 'failed')).toEqual([]);
    expect(outcomes).toHaveLength(11);
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
    await drainQueue(h.runtime.deliverDeps);
    const resolved = clone(lines[15]!); // Graph 3103 resolved
    delete resolved.alerts; // the poller does not expand alerts
    const r = await ingest(resolved, h.runtime.ingestDeps);
    expect(r.changes.map((c) => c.kind)).toContain('status');
    expect(r.steps.length).toBeGreaterThan(0);
    expect(r.steps.every((s) => s.guidanceOnly)).toBe(true);
    expect(r.steps[0]!.exclusionMatches).toEqual(['device:SRV-DC01.contoso.com (SRV-DC01)']);
    // and the ticket receivers are not told to resolve on their own
    const outcomes = await drainQueue(h.runtime.deliverDeps);
    expect(outcomes.every((o) => o.action === 'guidance-only')).toBe(true);
  });
});
