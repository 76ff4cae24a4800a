/** The delivery stages on their own, where a stage holds a rule the end-to-end tests only see indirectly. */
import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/index.js';
import { KitError } from '../../functions/core/errors.js';
import { changeKey, changesNotYetDelivered, changeMarker, settled } from '../../functions/pipeline/stages/dedup.js';
import { holdLaneFor, laneKey, takeLane } from '../../functions/pipeline/stages/lane.js';
import { recordDelivered } from '../../functions/pipeline/stages/record.js';
import { retryOrPoison } from '../../functions/pipeline/stages/retry-or-poison.js';
import { tryOf } from '../../functions/pipeline/stages/types.js';
import { makeStep } from '../fixtures/incident.js';

const twoChanges = makeStep({
  changes: [
    { kind: 'owner', from: null, to: 'Defender Experts', id: 'owner:defender experts#1' },
    { kind: 'status', from: null, to: 'Active', id: 'status:active#1' },
  ] as ReturnType<typeof makeStep>['changes'],
});

describe('dedup', () => {
  it('keeps a change apart per receiver, incident and (for notifiers) template, and marks it as a plain ledger entry', async () => {
    const change = twoChanges.changes[0]!;
    const keys = new Set([
      changeKey(twoChanges, change),
      changeKey({ ...twoChanges, receiver: 'other' }, change),
      changeKey({ ...twoChanges, incidentKey: 'other' }, change),
      changeKey({ ...twoChanges, template: 'ticket-digest' }, change),
    ]);
    expect(keys.size).toBe(4);
    // a ticket hears about a change once, whatever template the step names
    expect(changeKey({ ...twoChanges, stepType: 'ticket', template: 'a' }, change)).toBe(changeKey({ ...twoChanges, stepType: 'ticket', template: 'b' }, change));

    const stores = createMemoryStores();
    const t = tryOf({ step: twoChanges, attempt: 2 }, 2, {});
    await stores.ledger.record(changeMarker(t, change, 'sent'));
    expect(await stores.ledger.get(changeKey(twoChanges, change))).toMatchObject({ status: 'done', action: 'sent', attempts: 2, receiver: twoChanges.receiver });
    expect((await changesNotYetDelivered(stores.ledger, twoChanges)).map((c) => c.id)).toEqual(['status:active#1']);
    expect(await settled(stores.ledger, t)).toBeNull();
  });
});

describe('record', () => {
  it('writes the change markers before the step: a try that dies in between leaves nothing to send again', async () => {
    const stores = createMemoryStores();
    const t = tryOf({ step: twoChanges, attempt: 1 }, 1, {});
    const ledger = {
      ...stores.ledger,
      get: stores.ledger.get.bind(stores.ledger),
      record: async (entry: Parameters<typeof stores.ledger.record>[0]) => {
        if (entry.idempotencyKey === twoChanges.idempotencyKey) throw new KitError('table service 403', { kind: 'auth', statusCode: 403 });
        return stores.ledger.record(entry);
      },
    };
    await expect(recordDelivered({ ledger, tickets: stores.tickets }, t, { action: 'sent', ticket: null, outbox: null }, 'sent', twoChanges.changes)).rejects.toThrow(/403/);
    expect(await stores.ledger.get(twoChanges.idempotencyKey)).toBeNull();
    expect(await changesNotYetDelivered(stores.ledger, twoChanges)).toEqual([]);
  });
});

describe('lease and retry-or-poison', () => {
  it('keeps the lane until the retry is due, then lets the next worker in', async () => {
    let clock = 1_000_000;
    const stores = createMemoryStores({ now: () => clock });
    const t = tryOf({ step: twoChanges, attempt: 1 }, 1, { now: () => clock });
    const lane = (await takeLane(stores.leases, twoChanges, 300_000))!;
    expect(lane.key).toBe(laneKey(twoChanges));
    const failed = await retryOrPoison(new KitError('429', { kind: 'rate-limited', statusCode: 429, retryAfterMs: 20_000 }), t, lane, { stores });
    expect(failed).toMatchObject({ laneHeld: true, outcome: { action: 'requeued' } });
    expect(await stores.leases.get(lane.key)).toEqual({ key: lane.key, holder: lane.holder, until: clock + 20_000 });
    expect(await stores.ledger.get(twoChanges.idempotencyKey)).toMatchObject({ status: 'pending', error: 'rate-limited 429: 429' });
    clock += 19_999;
    expect(await takeLane(stores.leases, twoChanges, 300_000)).toBeNull();
    clock += 1;
    expect(await takeLane(stores.leases, twoChanges, 300_000)).not.toBeNull();
  });

  it('never takes back a lane another worker took over after this try\'s lease lapsed', async () => {
    let clock = 1_000_000;
    const stores = createMemoryStores({ now: () => clock });
    const slow = (await takeLane(stores.leases, twoChanges, 1_000))!;
    clock += 1_000;
    const next = (await takeLane(stores.leases, twoChanges, 300_000))!;
    expect(await holdLaneFor(stores.leases, slow, 600_000)).toBe(false);
    const t = tryOf({ step: twoChanges, attempt: 1 }, 1, { now: () => clock });
    const failed = await retryOrPoison(new KitError('503', { kind: 'retryable', statusCode: 503 }), t, slow, { stores, backoffMs: () => 600_000 });
    expect(failed.laneHeld).toBe(false);
    expect(await stores.leases.get(next.key)).toMatchObject({ holder: next.holder, until: clock + 300_000 });
  });

  it('gives up at maxAttempts or on a terminal error: poison record with the reason, ledger failed', async () => {
    const stores = createMemoryStores();
    const lane = (await takeLane(stores.leases, twoChanges, 300_000))!;
    const t = tryOf({ step: twoChanges, attempt: 3 }, 3, {});
    const last = await retryOrPoison(new KitError('503', { kind: 'retryable', statusCode: 503 }), t, lane, { stores, maxAttempts: 3 });
    expect(last).toMatchObject({ laneHeld: false, outcome: { action: 'failed', attempt: 3, error: 'retryable 503: 503' } });
    expect(await stores.queue.peekPoison(10)).toEqual([{ delivery: { step: twoChanges, attempt: 3 }, reason: 'retryable 503: 503' }]);
    expect(await stores.ledger.get(twoChanges.idempotencyKey)).toMatchObject({ status: 'failed', attempts: 3 });
    expect(await stores.queue.approximateCount()).toBe(0);
  });
});
