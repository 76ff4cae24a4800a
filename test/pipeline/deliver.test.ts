/** deliver's own bookkeeping failing after a target accepted must never make it send again. */
import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/index.js';
import type { Ledger } from '../../functions/state/ports.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { deliver } from '../../functions/pipeline/deliver.js';
import { KitError } from '../../functions/core/errors.js';
import { createFakeTeams, startFakeServer } from '../helpers/fake-server.js';
import { harness, sampleLines } from './harness.js';

function flakyLedger(ledger: Ledger, failures: number, permanent = false): Ledger {
  let left = failures;
  return {
    get: (k) => ledger.get(k),
    list: () => ledger.list(),
    claim: (e, l) => ledger.claim(e, l),
    release: (k, h) => ledger.release(k, h),
    record: async (entry) => {
      if (entry.status === 'done' && (permanent || left-- > 0)) throw new KitError('table service 503', { kind: 'retryable', statusCode: 503 });
      return ledger.record(entry);
    },
  };
}

describe('deliver after the target accepted', () => {
  it('retries a transient ledger failure in place instead of sending again', async () => {
    const stores = createMemoryStores();
    const teams = createFakeTeams();
    const server = await startFakeServer(teams.handler);
    try {
      const h = await harness(stores, { teamsWebhookUrl: `${server.url}${teams.path}` });
      const [first] = await sampleLines();
      const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-teams')!;
      const o = await deliver({ step, attempt: 1 }, { ...h.runtime.deliverDeps, stores: { ...stores, ledger: flakyLedger(stores.ledger, 2) } });
      expect(o.action).toBe('sent');
      expect(teams.messages).toHaveLength(1);
      expect((await stores.ledger.get(step.idempotencyKey))?.status).toBe('done');
    } finally {
      await server.close();
    }
  });

  it('when the ledger stays down, keeps the lane so no other worker re-sends before the lease lapses', async () => {
    let clock = Date.parse('2026-11-26T10:00:00Z');
    const stores = createMemoryStores({ now: () => clock });
    const teams = createFakeTeams();
    const server = await startFakeServer(teams.handler);
    try {
      const h = await harness(stores, { teamsWebhookUrl: `${server.url}${teams.path}` }, { now: () => new Date(clock) });
      const [first] = await sampleLines();
      const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-teams')!;
      await expect(
        deliver({ step, attempt: 1 }, { ...h.runtime.deliverDeps, stores: { ...stores, ledger: flakyLedger(stores.ledger, 0, true) } }),
      ).rejects.toThrow(/503/);
      expect(teams.messages).toHaveLength(1);
      // the host retries the message at once: the lane is still held, so it waits instead of posting again
      const retry = await deliver({ step, attempt: 1 }, h.runtime.deliverDeps);
      expect(retry.action).toBe('requeued');
      expect(teams.messages).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('per-change dedup', () => {
  it('still sends a second template about the same change when two playbooks ask for it', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const [first] = await sampleLines();
    const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-email')!;
    const a = await deliver({ step, attempt: 1 }, h.runtime.deliverDeps);
    expect(a.action).toBe('sent');
    // the same changes under another playbook: with the same template it is a duplicate…
    const again = await deliver({ step: { ...step, playbook: 'other', idempotencyKey: 'f'.repeat(64) }, attempt: 1 }, h.runtime.deliverDeps);
    expect(again.action).toBe('skipped-duplicate');
    // …with another template it is a different message the SOC lead asked for
    const other = await deliver({ step: { ...step, playbook: 'other', idempotencyKey: 'e'.repeat(64), template: 'ticket-digest' }, attempt: 1 }, {
      ...h.runtime.deliverDeps,
      render: (s, t) => h.runtime.deliverDeps.render({ ...s, template: 'incident-change' }, t),
    });
    expect(other.action).toBe('sent');
  });
});
