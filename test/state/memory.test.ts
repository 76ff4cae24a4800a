import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/memory.js';
import { makeStep } from '../fixtures/incident.js';
import { makeEntry, stateContract, type StateHarness } from './contract.js';

function memoryHarness(): StateHarness {
  let now = Date.parse('2026-11-26T09:36:00.000Z');
  const stores = createMemoryStores({ now: () => now });
  return {
    stores,
    async passQueueTime(ms) {
      now += ms;
    },
    passLeaseTime(ms) {
      now += ms;
    },
    leaseNow: () => now,
    queueNow: () => now,
    sendRaw: (text) => stores.queue.sendRaw(text),
  };
}

stateContract('memory', async () => memoryHarness());

describe('memory state stores: the injected clock', () => {
  it('shows a delayed message exactly when its delay, rounded up to whole seconds, has passed', async () => {
    let now = 1_000_000;
    const { queue } = createMemoryStores({ now: () => now });
    await queue.enqueue({ step: makeStep(), attempt: 1 }, { delayMs: 1_500 });
    now += 1_999;
    expect(await queue.receive(1, 30_000)).toEqual([]);
    now += 1;
    expect(await queue.receive(1, 30_000)).toHaveLength(1);
  });

  it('caps a delay at the 7 days Azure allows instead of refusing it', async () => {
    let now = 0;
    const { queue } = createMemoryStores({ now: () => now });
    await queue.enqueue({ step: makeStep(), attempt: 1 }, { delayMs: 30 * 24 * 3600 * 1000 });
    now += 7 * 24 * 3600 * 1000 - 1;
    expect(await queue.receive(1, 30_000)).toEqual([]);
    now += 1;
    expect(await queue.receive(1, 30_000)).toHaveLength(1);
  });

  it('judges leases by the injected clock', async () => {
    let now = 5_000;
    const { leases } = createMemoryStores({ now: () => now });
    expect(await leases.claim('lane', 'worker-a', 5_000)).toBe('claimed');
    now = 9_999;
    expect(await leases.claim('lane', 'worker-b', 10_000)).toBe('busy');
    now = 10_000;
    expect(await leases.claim('lane', 'worker-b', 10_000)).toBe('claimed');
    expect(await leases.get('lane')).toEqual({ key: 'lane', holder: 'worker-b', until: 20_000 });
  });

  it('never shares objects with its callers', async () => {
    const stores = createMemoryStores();
    const entry = makeEntry();
    await stores.ledger.record(entry);
    entry.attempts = 99;
    const read = await stores.ledger.get(entry.idempotencyKey);
    expect(read?.attempts).toBe(1);
    (read as { attempts: number }).attempts = 42;
    expect((await stores.ledger.get(entry.idempotencyKey))?.attempts).toBe(1);
  });
});
