/**
 * The design's invariants, each proven by injecting the fault, on Azure Tables + Queues (Azurite).
 */
import { describe, expect, it } from 'vitest';
import { createAzureStores } from '../../functions/state/index.js';
import type { StateStores } from '../../functions/state/ports.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { drainQueue } from '../../functions/pipeline/drain.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import type { DeliveryOutcome } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { createFakeJira, createFakeTeams, startFakeServer, serverError, reply, routes } from '../helpers/fake-server.js';
import { harness, sampleLines } from './harness.js';

const connection = useAzurite();

async function stores(): Promise<StateStores> {
  return createAzureStores({ connectionString: connection(), ...uniqueNames() });
}

/**
 * Every idempotency key reached its target at most once, and — what users feel — every change reached each
 * receiver exactly once, whichever step carried it.
 */
function assertExactlyOnce(outcomes: DeliveryOutcome[]) {
  const delivered = new Map<string, number>();
  const perChange = new Map<string, number>();
  for (const o of outcomes) {
    expect(o.action, `${o.receiver}: ${o.error ?? ''}`).not.toBe('failed');
    if (o.action === 'skipped-duplicate' || o.action === 'requeued') continue;
    delivered.set(o.idempotencyKey, (delivered.get(o.idempotencyKey) ?? 0) + 1);
    expect(o.changeIds?.length, `${o.receiver} delivered no change`).toBeGreaterThan(0);
    for (const id of o.changeIds ?? []) {
      const k = `${o.incidentKey} ${o.receiver} ${id}`;
      perChange.set(k, (perChange.get(k) ?? 0) + 1);
    }
  }
  expect([...delivered.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  expect([...perChange.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  return { delivered, perChange };
}

const FAST = { visibilityTimeoutMs: 2_000, pollMs: 200, timeoutMs: 60_000 };

describe('exactly once in effect (Azurite)', () => {
  it('a crash between enqueue and snapshot save re-enqueues the same keys and the ledger drops the duplicates', async () => {
    const s = await stores();
    const h = await harness(s);
    const [first] = await sampleLines();
    await expect(
      ingest(first, {
        ...h.runtime.ingestDeps,
        afterEnqueue: () => {
          throw new Error('process died before the snapshot was saved');
        },
      }),
    ).rejects.toThrow(/process died/);
    expect(await s.snapshots.get('3101')).toBeNull();
    const again = await ingest(first, h.runtime.ingestDeps);
    expect(again.changes.map((c) => c.id)).toEqual(['owner:defender experts#1', 'status:active#1']);
    const outcomes = await drainQueue(h.runtime.deliveryDeps, FAST);
    const { delivered } = assertExactlyOnce(outcomes);
    expect(outcomes.filter((o) => o.action === 'skipped-duplicate')).toHaveLength(again.steps.length);
    expect(delivered.size).toBe(again.steps.length);
    expect(await h.outboxFiles()).toHaveLength(again.steps.length);
    expect((await s.snapshots.get('3101'))?.snapshot.incident.owner.assignedTo).toBe('Defender Experts');
  });

  it('the same trigger body delivered twice, one after the other and concurrently, is delivered once', async () => {
    const s = await stores();
    const h = await harness(s);
    const lines = await sampleLines();
    const body = lines[0];
    const r1 = await ingest(body, h.runtime.ingestDeps);
    const r2 = await ingest(body, h.runtime.ingestDeps);
    expect(r2.replay).toBe(true);
    const concurrent = lines[1]; // another incident, twice at the same moment
    const [c1, c2] = await Promise.all([ingest(concurrent, h.runtime.ingestDeps), ingest(concurrent, h.runtime.ingestDeps)]);
    expect(c1.steps.map((x) => x.idempotencyKey).sort()).toEqual(c2.steps.map((x) => x.idempotencyKey).sort());
    const outcomes = await drainQueue(h.runtime.deliveryDeps, FAST);
    const { delivered } = assertExactlyOnce(outcomes);
    expect(delivered.size).toBe(r1.steps.length + c1.steps.length);
    expect(await h.outboxFiles()).toHaveLength(r1.steps.length + c1.steps.length);
  });

  it('two dispatches racing on one incident: the ETag loser re-reads and re-diffs, nothing is lost or doubled', async () => {
    const s = await stores();
    const h = await harness(s);
    const lines = await sampleLines();
    const pickup = lines[0]!; // 3101: owner → Defender Experts, status → Active
    const handover = lines[4]!; // 3101: owner → Customer, tag "Awaiting Customer Action" added
    let releaseLoser!: () => void;
    const loserMayWrite = new Promise<void>((r) => (releaseLoser = r));
    let loserEnqueued!: () => void;
    const loserReadAndEnqueued = new Promise<void>((r) => (loserEnqueued = r));
    // the loser's own view of the snapshot store, so the test sees every write it tries and how it ends
    const loserWrites: string[] = [];
    const loserStores: StateStores = {
      ...s,
      snapshots: {
        get: (key) => s.snapshots.get(key),
        async put(key, snapshot, etag) {
          try {
            const written = await s.snapshots.put(key, snapshot, etag);
            loserWrites.push('written');
            return written;
          } catch (error) {
            loserWrites.push(error instanceof KitError ? `${error.kind} ${error.statusCode}` : String(error));
            throw error;
          }
        },
      },
    };
    // the first dispatch reads the (empty) snapshot, enqueues, then waits while the second one wins the write
    const loser = ingest(pickup, {
      ...h.runtime.ingestDeps,
      stores: loserStores,
      afterEnqueue: () => {
        loserEnqueued();
        return loserMayWrite;
      },
    });
    await loserReadAndEnqueued;
    const winner = await ingest(handover, h.runtime.ingestDeps);
    releaseLoser();
    const lost = await loser;
    // the race really happened: the loser's first write met the winner's snapshot, then it re-diffed and won
    expect(loserWrites).toEqual(['conflict 409', 'written']);
    const ids = new Set([...winner.changes, ...lost.changes].map((c) => c.id));
    expect(ids).toContain('owner:customer#1');
    expect(ids).toContain('tag-added:awaiting customer action#1');
    expect(ids).toContain('status:active#1');
    const snap = (await s.snapshots.get('3101'))!.snapshot;
    expect(snap.incident.tags).toContain('Awaiting Customer Action');
    const outcomes = await drainQueue(h.runtime.deliveryDeps, FAST);
    assertExactlyOnce(outcomes);
  });

  it('a crash before the snapshot save, then a newer event re-planning the same change with a new one: each change reaches each receiver once', async () => {
    const s = await stores();
    const h = await harness(s);
    const lines = await sampleLines();
    const pickup = lines[2]!; // Graph 3103: owner → Defender Experts, status → Active, tag Defender Experts
    const handover = lines[5]!; // Graph 3103: owner → Customer, awaiting action, classification set
    await expect(ingest(pickup, { ...h.runtime.ingestDeps, afterEnqueue: () => Promise.reject(new Error('crash')) })).rejects.toThrow('crash');
    const second = await ingest(handover, h.runtime.ingestDeps);
    // the second event, diffed from nothing, carries status:active#1 again — under a different step key
    expect(second.changes.map((c) => c.id)).toContain('status:active#1');
    const outcomes = await drainQueue(h.runtime.deliveryDeps, FAST);
    const { perChange } = assertExactlyOnce(outcomes);
    expect(perChange.get('3103 soc-lead-call status:active#1')).toBe(1);
    expect(perChange.get('3103 soc-lead-call owner:customer#1')).toBe(1);
  });

  it('two ticket steps for one incident delivered at the same moment open one ticket', async () => {
    const s = await stores();
    const jira = createFakeJira({ project: 'SOC', email: 'soc-bot@contoso.example', apiToken: 'jira-token-not-a-real-one', searchLagMs: 60_000 });
    const server = await startFakeServer(jira.handler);
    try {
      const h = await harness(s, { jiraUrl: server.url });
      const lines = await sampleLines();
      const first = await ingest(lines[1]!, h.runtime.ingestDeps); // 3102 picked up
      const second = await ingest(lines[8]!, h.runtime.ingestDeps); // 3102 closed
      const a = first.steps.find((x) => x.receiver === 'soc-jira')!;
      const b = second.steps.find((x) => x.receiver === 'soc-jira')!;
      const [ra, rb] = await Promise.all([
        processDelivery({ step: a, attempt: 1 }, h.runtime.deliveryDeps),
        processDelivery({ step: b, attempt: 1 }, h.runtime.deliveryDeps),
      ]);
      expect([ra.action, rb.action].sort()).toEqual(['created', 'requeued']);
      const later = await processDelivery({ step: ra.action === 'requeued' ? a : b, attempt: 1 }, h.runtime.deliveryDeps);
      expect(['updated', 'resolved']).toContain(later.action);
      expect(jira.countIssuesWithLabel('sentinel-3102')).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('a deliver retried after Jira accepted but before the ledger write finds its ticket: no second issue', async () => {
    const s = await stores();
    const jira = createFakeJira({ project: 'SOC', email: 'soc-bot@contoso.example', apiToken: 'jira-token-not-a-real-one' });
    const server = await startFakeServer(jira.handler);
    try {
      const h = await harness(s, { jiraUrl: server.url });
      const [first] = await sampleLines();
      const result = await ingest(first, h.runtime.ingestDeps);
      const jiraStep = result.steps.find((x) => x.receiver === 'soc-jira')!;
      // the worker dies after Jira's 201: its 'done' ledger write never happens
      const ledger = s.ledger;
      let crashed = false;
      const crashingLedger = {
        ...ledger,
        get: ledger.get.bind(ledger),
        list: ledger.list.bind(ledger),
        record: async (entry: Parameters<typeof ledger.record>[0]) => {
          if (!crashed && entry.status === 'done') {
            crashed = true;
            return new Promise<void>(() => {}); // the process is gone: this never completes
          }
          return ledger.record(entry);
        },
      };
      const leaseMs = 1_500;
      void processDelivery({ step: jiraStep, attempt: 1 }, { ...h.runtime.deliveryDeps, stores: { ...s, ledger: crashingLedger }, leaseMs });
      await expect.poll(() => crashed, { timeout: 10_000 }).toBe(true);
      expect(jira.countIssuesWithLabel('sentinel-3101')).toBe(1);
      // the queue message reappears; another worker retries once the dead worker's lease lapsed
      await new Promise((r) => setTimeout(r, leaseMs + 200));
      const retry = await processDelivery({ step: jiraStep, attempt: 2 }, { ...h.runtime.deliveryDeps, leaseMs });
      expect(retry.action).toBe('updated');
      expect(jira.countIssuesWithLabel('sentinel-3101')).toBe(1);
      expect(jira.duplicateLabels('sentinel-')).toEqual({});
      const again = await processDelivery({ step: jiraStep, attempt: 3 }, h.runtime.deliveryDeps);
      expect(again.action).toBe('skipped-duplicate');
    } finally {
      await server.close();
    }
  });

  it('a step that keeps failing goes to the poison queue after N attempts, is marked failed and reported', async () => {
    const s = await stores();
    const teams = createFakeTeams({ sig: 'test-sig' });
    const server = await startFakeServer((req, params) => (req.method === 'POST' ? serverError(503) : teams.handler(req, params)));
    try {
      const h = await harness(s, { teamsWebhookUrl: `${server.url}${teams.path}?sig=test-sig` });
      const [first] = await sampleLines();
      const result = await ingest(first, h.runtime.ingestDeps);
      const outcomes = await drainQueue({ ...h.runtime.deliveryDeps, maxAttempts: 3, backoffMs: () => 1_000 }, FAST);
      const teamsSteps = result.steps.filter((x) => x.receiver === 'soc-teams');
      const teamsOutcomes = outcomes.filter((o) => o.receiver === 'soc-teams');
      expect(teamsOutcomes.filter((o) => o.action === 'failed')).toHaveLength(teamsSteps.length);
      expect(teamsOutcomes.filter((o) => o.action === 'requeued')).toHaveLength(teamsSteps.length * 2);
      for (const step of teamsSteps) {
        const entry = await s.ledger.get(step.idempotencyKey);
        expect(entry).toMatchObject({ status: 'failed', attempts: 3 });
        expect(entry!.error).toMatch(/^retryable 503/);
      }
      const poisoned = await s.queue.peekPoison(10);
      expect(poisoned.map((p) => p.delivery.step.idempotencyKey).sort()).toEqual(teamsSteps.map((x) => x.idempotencyKey).sort());
      expect(poisoned[0]!.reason).toMatch(/503/);
      // the other receivers were not held up
      expect(outcomes.filter((o) => o.receiver !== 'soc-teams').every((o) => o.action !== 'failed')).toBe(true);
      // server received exactly attempts × steps posts
      expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(teamsSteps.length * 3);
    } finally {
      await server.close();
    }
  });

  it('a terminal refusal is poisoned at once, without retries', async () => {
    const s = await stores();
    const server = await startFakeServer(routes({ 'POST /hook': () => reply(400, { error: { code: 'InvalidRequestContent', message: 'bad card' } }) }));
    try {
      const h = await harness(s, { teamsWebhookUrl: `${server.url}/hook` });
      const [first] = await sampleLines();
      await ingest(first, h.runtime.ingestDeps);
      const outcomes = await drainQueue(h.runtime.deliveryDeps, FAST);
      const teams = outcomes.filter((o) => o.receiver === 'soc-teams');
      expect(teams.map((o) => o.action)).toEqual(teams.map(() => 'failed'));
      expect(teams[0]!.error).toMatch(/^terminal 400/);
      expect(server.requests).toHaveLength(teams.length);
    } finally {
      await server.close();
    }
  });
});
