/** deliver's own bookkeeping failing after a target accepted must never make it send again. */
import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/index.js';
import type { Ledger } from '../../functions/state/ports.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { KitError } from '../../functions/core/errors.js';
import { createFakeJira, createFakeTeams, failTimes, serverError, startFakeServer } from '../helpers/fake-server.js';
import { harness, sampleLines } from './harness.js';

function flakyLedger(ledger: Ledger, failures: number, permanent = false): Ledger {
  let left = failures;
  return {
    get: (k) => ledger.get(k),
    list: () => ledger.list(),
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
      const o = await processDelivery({ step, attempt: 1 }, { ...h.runtime.deliveryDeps, stores: { ...stores, ledger: flakyLedger(stores.ledger, 2) } });
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
        processDelivery({ step, attempt: 1 }, { ...h.runtime.deliveryDeps, stores: { ...stores, ledger: flakyLedger(stores.ledger, 0, true) } }),
      ).rejects.toThrow(/503/);
      expect(teams.messages).toHaveLength(1);
      // the host retries the message at once: the lane is still held, so it waits instead of posting again
      const retry = await processDelivery({ step, attempt: 1 }, h.runtime.deliveryDeps);
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
    const a = await processDelivery({ step, attempt: 1 }, h.runtime.deliveryDeps);
    expect(a.action).toBe('sent');
    // the same changes under another playbook: with the same template it is a duplicate…
    const again = await processDelivery({ step: { ...step, playbook: 'other', idempotencyKey: 'f'.repeat(64) }, attempt: 1 }, h.runtime.deliveryDeps);
    expect(again.action).toBe('skipped-duplicate');
    // …with another template it is a different message the SOC lead asked for
    const other = await processDelivery({ step: { ...step, playbook: 'other', idempotencyKey: 'e'.repeat(64), template: 'ticket-digest' }, attempt: 1 }, {
      ...h.runtime.deliveryDeps,
      render: (s, t) => h.runtime.deliveryDeps.render({ ...s, template: 'incident-change' }, t),
    });
    expect(other.action).toBe('sent');
  });
});

describe('a failed delivery keeps its lane until its retry', () => {
  it('a later step cannot create a second Jira issue while the first create is in doubt', async () => {
    let clock = Date.parse('2026-11-26T10:00:00Z');
    const now = () => clock;
    const stores = createMemoryStores({ now });
    const jira = createFakeJira({ project: 'SOC', email: 'soc-bot@contoso.example', apiToken: 'jira-token-not-a-real-one', searchLagMs: 30_000, now });
    // the first create reaches Jira, then the gateway times out: the kit does not know it worked
    const server = await startFakeServer((req, params) =>
      req.method === 'POST' && req.path === '/rest/api/3/issue' ? lostOnce(req, params) : jira.handler(req, params),
    );
    const lostOnce = failTimes(1, serverError(504), jira.handler, { when: 'after' });
    try {
      const h = await harness(stores, { jiraUrl: server.url }, { now: () => new Date(clock) });
      const lines = await sampleLines();
      const first = (await ingest(lines[0], h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-jira')!;
      const second = (await ingest(lines[4], h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-jira')!;
      expect((await processDelivery({ step: first, attempt: 1 }, h.runtime.deliveryDeps)).action).toBe('requeued');
      clock += 30_000;
      expect((await processDelivery({ step: second, attempt: 1 }, h.runtime.deliveryDeps)).action).toBe('requeued'); // lane busy
      clock += 120_000; // the first step's retry time
      expect((await processDelivery({ step: first, attempt: 2 }, h.runtime.deliveryDeps)).action).toBe('updated'); // found by search
      expect((await processDelivery({ step: second, attempt: 1 }, h.runtime.deliveryDeps)).action).toBe('updated');
      expect(jira.countIssuesWithLabel('sentinel-3101')).toBe(1);
    } finally {
      await server.close();
    }
  });
});
