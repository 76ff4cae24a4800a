/**
 * The sample day replayed three times while 30% of the calls to the live targets fail (429 with
 * Retry-After, 503, connection resets, and responses lost after Jira already created the issue).
 * State is the in-memory adapter (same contract as Azure, proven in test/state) with a clock the test
 * moves, so Retry-After and Jira's search lag pass without sleeping.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/index.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import type { DeliveryOutcome } from '../../functions/core/delivery.js';
import { createFakeJira, createFakeTeams, failWithProbability, rateLimited, reset, serverError, seededRandom, startFakeServer, type FakeHandler } from '../helpers/fake-server.js';
import { harness, sampleLines } from './harness.js';

function flaky(seed: number, target: FakeHandler, lostResponses: boolean, now: () => number): FakeHandler {
  const pick = seededRandom(seed * 7 + 1);
  const before: FakeHandler = () => {
    const r = pick();
    // an HTTP-date on the test's clock, the one the kit reads it against (the wall clock is days away)
    return r < 0.5 ? rateLimited(r < 0.25 ? 3 : new Date(now() + 2_000)) : r < 0.75 ? serverError(503) : reset();
  };
  // 20% fail before the target does anything; 12.5% of the rest fail after it did (a lost response)
  const inner = lostResponses ? failWithProbability(0.125, seed + 1, serverError(502), target, { when: 'after' }) : failWithProbability(0.125, seed + 1, serverError(502), target);
  return failWithProbability(0.2, seed, before, inner);
}

describe('the sample day, three times, with 30% of target calls failing', () => {
  it('ends with zero lost deliveries and zero duplicate Jira issues', async () => {
    let clock = Date.parse('2026-11-26T06:00:00Z');
    const now = () => clock;
    const stores = createMemoryStores({ now });
    const jira = createFakeJira({ project: 'SOC', email: 'soc-bot@contoso.example', apiToken: 'jira-token-not-a-real-one', searchLagMs: 30_000, now });
    const teams = createFakeTeams({ sig: 'chaos' });
    const jiraServer = await startFakeServer(flaky(11, jira.handler, true, now));
    const teamsServer = await startFakeServer(flaky(23, teams.handler, false, now));
    try {
      // no fetch timeout of its own: no fault here hangs, and a real-time limit would turn a slow reply on a busy
      // machine into a lost response and a second Teams message (a webhook cannot dedupe), failing for no defect
      const h = await harness(stores, { jiraUrl: jiraServer.url, teamsWebhookUrl: `${teamsServer.url}${teams.path}?sig=chaos` }, { now: () => new Date(clock), maxAttempts: 30 });
      const lines = await sampleLines();
      const planned = new Map<string, string>();
      const byPass: DeliveryOutcome[][] = [[], [], []];

      async function drain(pass: number) {
        for (let spins = 0; spins < 10_000; spins++) {
          const msgs = await stores.queue.receive(16, 60_000);
          if (msgs.length === 0) {
            if ((await stores.queue.approximateCount()) === 0) return;
            clock += 15_000; // nothing visible yet: let Retry-After / backoff time pass
            continue;
          }
          for (const m of msgs) {
            byPass[pass]!.push(await processDelivery(m.delivery, h.runtime.deliveryDeps));
            await stores.queue.delete(m);
          }
        }
        throw new Error('queue never drained');
      }

      for (let pass = 0; pass < 3; pass++) {
        for (const raw of lines) {
          clock += 60_000;
          const r = await ingest(raw, h.runtime.ingestDeps);
          for (const s of r.steps) planned.set(s.idempotencyKey, s.receiver);
          await drain(pass);
        }
      }

      const all = byPass.flat();
      // faults really happened, and were retried
      expect(all.filter((o) => o.action === 'requeued').length).toBeGreaterThan(10);
      // zero lost: every planned delivery is done in the ledger, nothing failed or poisoned
      expect(all.filter((o) => o.action === 'failed')).toEqual([]);
      for (const key of planned.keys()) expect((await stores.ledger.get(key))?.status, planned.get(key)).toBe('done');
      expect(await stores.queue.peekPoison(10)).toEqual([]);
      // zero duplicate Jira issues: one per incident that reached Jira
      expect(jira.duplicateLabels('sentinel-')).toEqual({});
      const jiraIncidents = new Set([...byPass[0]!].filter((o) => o.receiver === 'soc-jira' && o.ticket).map((o) => o.ticket!.incidentKey));
      expect(jira.issues).toHaveLength(jiraIncidents.size);
      expect(jira.issues.length).toBeGreaterThanOrEqual(6);
      // Teams (failures only before it accepted) got each message exactly once
      const teamsSteps = [...planned.values()].filter((r) => r === 'soc-teams').length;
      expect(teams.messages).toHaveLength(teamsSteps);
      // the 2nd and 3rd replays delivered nothing new
      for (const pass of [1, 2]) {
        expect(new Set(byPass[pass]!.map((o) => o.action))).toEqual(new Set(['skipped-duplicate']));
      }
    } finally {
      await jiraServer.close();
      await teamsServer.close();
    }
  }, 180_000);
});
