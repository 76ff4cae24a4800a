/**
 * Freshservice through the real pipeline (Azurite stores, shipped playbooks and templates): a worker that dies
 * after Freshservice created the ticket but before the ledger write leaves one ticket and no repeated note.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKitOrThrow } from '../../functions/config/load.js';
import { freshserviceIncidentTag } from '../../functions/connectors/freshservice/payload.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { createAzureStores } from '../../functions/state/index.js';
import type { StateStores } from '../../functions/state/ports.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { startFakeServer } from '../helpers/fake-server.js';
import { createFakeFreshservice } from '../connectors/fakes/freshservice.js';
import { REPO, sampleLines } from './harness.js';

const connection = useAzurite();
const API_KEY = 'freshservice-key-not-a-real-one';

async function liveRuntime(stores: StateStores, baseUrl: string) {
  const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
  const receivers = { ...kit.config.receivers };
  receivers['soc-freshservice'] = { ...receivers['soc-freshservice']!, baseUrl, apiKey: 'env:FRESHSERVICE_API_KEY' } as (typeof receivers)['soc-freshservice'];
  const outboxDir = await mkdtemp(join(tmpdir(), 'spk-outbox-'));
  return createRuntime({ ...kit, config: { ...kit.config, receivers } }, stores, { outboxDir, env: { FRESHSERVICE_API_KEY: API_KEY } });
}

/** the ledger of a worker that dies while writing 'done' */
function dyingLedger(s: StateStores, onCrash: () => void): StateStores['ledger'] {
  const ledger = s.ledger;
  return {
    ...ledger,
    get: ledger.get.bind(ledger),
    list: ledger.list.bind(ledger),
    record: async (entry: Parameters<typeof ledger.record>[0]) => {
      if (entry.status === 'done') {
        onCrash();
        return new Promise<void>(() => {});
      }
      return ledger.record(entry);
    },
  };
}

describe('exactly once in effect: Freshservice (Azurite)', () => {
  it('a deliver retried after Freshservice created the ticket but before the ledger write: one ticket, no note repeating the create', async () => {
    const s = await createAzureStores({ connectionString: connection(), ...uniqueNames() });
    const fs = createFakeFreshservice({ apiKey: API_KEY });
    const server = await startFakeServer(fs.handler);
    try {
      const runtime = await liveRuntime(s, server.url);
      const [first] = await sampleLines();
      const result = await ingest(first, runtime.ingestDeps);
      const step = result.steps.find((x) => x.receiver === 'soc-freshservice')!;
      expect(step).toBeDefined();
      const tag = freshserviceIncidentTag(step.incidentKey);
      let crashed = false;
      const leaseMs = 1_500;
      void processDelivery({ step, attempt: 1 }, { ...runtime.deliveryDeps, stores: { ...s, ledger: dyingLedger(s, () => (crashed = true)) }, leaseMs });
      await expect.poll(() => crashed, { timeout: 10_000 }).toBe(true);
      expect(fs.withTag(tag)).toHaveLength(1);
      // the queue message comes back once the dead worker's lease lapsed; the ticket store knows the ticket
      await new Promise((r) => setTimeout(r, leaseMs + 200));
      const retry = await processDelivery({ step, attempt: 2 }, { ...runtime.deliveryDeps, leaseMs });
      expect(retry.action).toBe('updated');
      expect(fs.withTag(tag)).toHaveLength(1);
      // the create's description carries the step's marker, so the retry adds no note with the same changes
      expect(fs.withTag(tag)[0]!.notes).toHaveLength(0);
      expect((await processDelivery({ step, attempt: 3 }, runtime.deliveryDeps)).action).toBe('skipped-duplicate');
    } finally {
      await server.close();
    }
  });

  it('the ticket store lost too (a crash while writing it): the tag filter finds the ticket once it shows it', async () => {
    const s = await createAzureStores({ connectionString: connection(), ...uniqueNames() });
    const fs = createFakeFreshservice({ apiKey: API_KEY });
    const server = await startFakeServer(fs.handler);
    try {
      const runtime = await liveRuntime(s, server.url);
      const [first] = await sampleLines();
      const result = await ingest(first, runtime.ingestDeps);
      const step = result.steps.find((x) => x.receiver === 'soc-freshservice')!;
      // the process dies while writing the ticket store, right after Freshservice's 201: nothing of it is kept
      const blind: StateStores = { ...s, tickets: { get: async () => null, put: async () => new Promise<void>(() => {}) } };
      const leaseMs = 1_500;
      void processDelivery({ step, attempt: 1 }, { ...runtime.deliveryDeps, stores: { ...blind, ledger: dyingLedger(s, () => undefined) }, leaseMs });
      await expect.poll(() => fs.tickets.length, { timeout: 10_000 }).toBe(1);
      await new Promise((r) => setTimeout(r, leaseMs + 200));
      const retry = await processDelivery({ step, attempt: 2 }, { ...runtime.deliveryDeps, stores: { ...s, tickets: { get: async () => null, put: (t) => s.tickets.put(t) } }, leaseMs });
      expect(retry.action).toBe('updated');
      const tickets = fs.withTag(freshserviceIncidentTag(step.incidentKey));
      expect(tickets).toHaveLength(1);
      expect(tickets[0]!.notes).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});
