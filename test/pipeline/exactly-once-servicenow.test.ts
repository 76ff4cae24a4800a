/**
 * ServiceNow through the whole pipeline (shipped playbooks and templates, Azure Tables + Queues on
 * Azurite): a worker that dies after ServiceNow accepted a create leaves one record, whichever of the
 * kit's own writes it did not get to.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKitOrThrow } from '../../functions/config/load.js';
import { servicenowCorrelationId } from '../../functions/connectors/servicenow/payload.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { createAzureStores } from '../../functions/state/index.js';
import type { StateStores } from '../../functions/state/ports.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { startFakeServer } from '../helpers/fake-server.js';
import { createFakeServicenow } from '../connectors/fakes/servicenow.js';
import { REPO, sampleLines } from './harness.js';

const connection = useAzurite();
const env = { SN_USER: 'svc-sentinel-kit', SN_PASSWORD: 'sn-password-not-a-real-one' };
const never = () => new Promise<never>(() => {});

/** the shipped kit with soc-servicenow live on `url`: one runtime is one process (its own connectors and memory) */
async function runtimeOn(url: string, stores: StateStores) {
  const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
  const receivers = { ...kit.config.receivers };
  receivers['soc-servicenow'] = { ...receivers['soc-servicenow']!, instanceUrl: url, username: 'env:SN_USER', password: 'env:SN_PASSWORD' } as (typeof receivers)['soc-servicenow'];
  const outboxDir = await mkdtemp(join(tmpdir(), 'spk-outbox-'));
  return createRuntime({ ...kit, config: { ...kit.config, receivers } }, stores, { outboxDir, env });
}

describe('exactly once in effect: ServiceNow (Azurite)', () => {
  for (const lost of ['the ledger write', 'the ticket-store and ledger writes'] as const) {
    it(`a worker dies after ServiceNow's 201, before ${lost}: the retry in another process finds the record`, async () => {
      const s = await createAzureStores({ connectionString: connection(), ...uniqueNames() });
      const sn = createFakeServicenow({ username: env.SN_USER, password: env.SN_PASSWORD });
      const server = await startFakeServer(sn.handler);
      try {
        const [first] = await sampleLines();
        const healthy = await runtimeOn(server.url, s);
        const planned = await ingest(first, healthy.ingestDeps);
        const step = planned.steps.find((x) => x.receiver === 'soc-servicenow')!;
        expect(step).toBeDefined();

        // the dying process: its writes after the 201 never complete
        let created = false;
        const dying: StateStores = {
          ...s,
          tickets: { get: (r, k) => s.tickets.get(r, k), put: (t) => (lost === 'the ledger write' ? s.tickets.put(t) : ((created = true), never())) },
          ledger: {
            ...s.ledger,
            get: s.ledger.get.bind(s.ledger),
            list: s.ledger.list.bind(s.ledger),
            record: (entry) => (entry.status === 'done' ? ((created = true), never()) : s.ledger.record(entry)),
          },
        };
        const leaseMs = 1_500;
        const doomed = await runtimeOn(server.url, dying);
        void processDelivery({ step, attempt: 1 }, { ...doomed.deliveryDeps, leaseMs });
        await expect.poll(() => created, { timeout: 10_000 }).toBe(true);
        expect(sn.records()).toHaveLength(1);
        expect(await s.tickets.get('soc-servicenow', step.incidentKey)).toEqual(lost === 'the ledger write' ? expect.objectContaining({ id: sn.records()[0]!.sys_id }) : null);

        // the queue hands the message to another worker once the dead one's lease lapsed
        await new Promise((r) => setTimeout(r, leaseMs + 200));
        const before = server.requests.length;
        const retry = await processDelivery({ step, attempt: 2 }, { ...(await runtimeOn(server.url, s)).deliveryDeps, leaseMs });
        expect(retry.action).toBe('updated');
        expect(retry.ticket?.id).toBe(sn.records()[0]!.sys_id);
        expect(sn.records()).toHaveLength(1);
        expect(sn.withCorrelation(servicenowCorrelationId(step))).toHaveLength(1);
        const retried = server.requests.slice(before).map((r) => `${r.method} ${r.path}`);
        // only the lost ticket store makes ServiceNow's query the thing that prevents the duplicate
        expect(retried.includes('GET /api/now/table/incident')).toBe(lost !== 'the ledger write');
        expect(retried).not.toContain('POST /api/now/table/incident');
        expect((await processDelivery({ step, attempt: 3 }, healthy.deliveryDeps)).action).toBe('skipped-duplicate');
        expect(sn.records()).toHaveLength(1);
      } finally {
        await server.close();
      }
    });
  }
});
