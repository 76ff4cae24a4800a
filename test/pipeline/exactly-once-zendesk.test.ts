/**
 * Zendesk through the real pipeline (Azurite stores, shipped playbooks and templates): a worker that dies
 * after Zendesk created the ticket but before the ledger write leaves one ticket, however the retry goes.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKitOrThrow } from '../../functions/config/load.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { createAzureStores } from '../../functions/state/index.js';
import type { StateStores } from '../../functions/state/ports.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { startFakeServer } from '../helpers/fake-server.js';
import { createFakeZendesk } from '../connectors/fakes/zendesk.js';
import { REPO, sampleLines } from './harness.js';

const connection = useAzurite();
const EMAIL = 'soc-bot@contoso.example';
const TOKEN = 'zendesk-token-not-a-real-one';

async function liveRuntime(stores: StateStores, baseUrl: string) {
  const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
  const receivers = { ...kit.config.receivers };
  receivers['soc-zendesk'] = { ...receivers['soc-zendesk']!, baseUrl, email: 'env:ZENDESK_EMAIL', apiToken: 'env:ZENDESK_API_TOKEN' } as (typeof receivers)['soc-zendesk'];
  const outboxDir = await mkdtemp(join(tmpdir(), 'spk-outbox-'));
  return createRuntime({ ...kit, config: { ...kit.config, receivers } }, stores, { outboxDir, env: { ZENDESK_EMAIL: EMAIL, ZENDESK_API_TOKEN: TOKEN } });
}

describe('exactly once in effect: Zendesk (Azurite)', () => {
  it('a deliver retried after Zendesk created the ticket but before the ledger write finds it: one ticket', async () => {
    const s = await createAzureStores({ connectionString: connection(), ...uniqueNames() });
    const zendesk = createFakeZendesk({ email: EMAIL, apiToken: TOKEN });
    const server = await startFakeServer(zendesk.handler);
    try {
      const runtime = await liveRuntime(s, server.url);
      const [first] = await sampleLines();
      const result = await ingest(first, runtime.ingestDeps);
      const step = result.steps.find((x) => x.receiver === 'soc-zendesk')!;
      expect(step).toBeDefined();
      // the worker dies after Zendesk's 201 and the ticket-store write: its 'done' ledger write never happens
      const ledger = s.ledger;
      let crashed = false;
      const crashingLedger = {
        ...ledger,
        get: ledger.get.bind(ledger),
        list: ledger.list.bind(ledger),
        record: async (entry: Parameters<typeof ledger.record>[0]) => {
          if (!crashed && entry.status === 'done') {
            crashed = true;
            return new Promise<void>(() => {});
          }
          return ledger.record(entry);
        },
      };
      const leaseMs = 1_500;
      void processDelivery({ step, attempt: 1 }, { ...runtime.deliveryDeps, stores: { ...s, ledger: crashingLedger }, leaseMs });
      await expect.poll(() => crashed, { timeout: 10_000 }).toBe(true);
      expect(zendesk.withExternalId(step.incidentKey)).toHaveLength(1);
      // the queue message comes back once the dead worker's lease lapsed
      await new Promise((r) => setTimeout(r, leaseMs + 200));
      const retry = await processDelivery({ step, attempt: 2 }, { ...runtime.deliveryDeps, leaseMs });
      expect(retry.action).toBe('updated');
      expect(zendesk.withExternalId(step.incidentKey)).toHaveLength(1);
      // the retry's changes are not a second comment either: the first try's comment carries the step's marker
      expect(zendesk.withExternalId(step.incidentKey)[0]!.comments).toHaveLength(1);
      expect((await processDelivery({ step, attempt: 3 }, runtime.deliveryDeps)).action).toBe('skipped-duplicate');
    } finally {
      await server.close();
    }
  });

  it('the ticket store lost too (a crash before it was written): the external_id lookup finds the ticket', async () => {
    const s = await createAzureStores({ connectionString: connection(), ...uniqueNames() });
    const zendesk = createFakeZendesk({ email: EMAIL, apiToken: TOKEN });
    const server = await startFakeServer(zendesk.handler);
    try {
      const runtime = await liveRuntime(s, server.url);
      const [first] = await sampleLines();
      const result = await ingest(first, runtime.ingestDeps);
      const step = result.steps.find((x) => x.receiver === 'soc-zendesk')!;
      // the process dies while writing the ticket store, right after Zendesk's 201: nothing of it is kept
      const blindStores: StateStores = { ...s, tickets: { get: async () => null, put: async () => new Promise<void>(() => {}) } };
      let crashed = false;
      const crashingLedger = {
        ...s.ledger,
        get: s.ledger.get.bind(s.ledger),
        list: s.ledger.list.bind(s.ledger),
        record: async (entry: Parameters<typeof s.ledger.record>[0]) => {
          if (entry.status === 'done') {
            crashed = true;
            return new Promise<void>(() => {});
          }
          return s.ledger.record(entry);
        },
      };
      const leaseMs = 1_500;
      void processDelivery({ step, attempt: 1 }, { ...runtime.deliveryDeps, stores: { ...blindStores, ledger: crashingLedger }, leaseMs });
      await expect.poll(() => crashed || zendesk.tickets.length > 0, { timeout: 10_000 }).toBe(true);
      await new Promise((r) => setTimeout(r, leaseMs + 200));
      const retry = await processDelivery({ step, attempt: 2 }, { ...runtime.deliveryDeps, stores: { ...s, tickets: { get: async () => null, put: (t) => s.tickets.put(t) } }, leaseMs });
      expect(retry.action).toBe('updated');
      expect(zendesk.withExternalId(step.incidentKey)).toHaveLength(1);
      expect(zendesk.withExternalId(step.incidentKey)[0]!.comments).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
