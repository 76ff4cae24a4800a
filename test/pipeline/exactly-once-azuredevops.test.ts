/**
 * Exactly once in effect for a live Azure DevOps receiver, through the real pipeline on Azure Tables +
 * Queues (Azurite): a worker that dies after Azure DevOps accepted a create, before the ledger (or even
 * the ticket store) heard of it, leaves one work item, whoever retries.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKitOrThrow } from '../../functions/config/load.js';
import { adoIncidentTag } from '../../functions/connectors/azuredevops/payload.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { createAzureStores } from '../../functions/state/index.js';
import type { StateStores } from '../../functions/state/ports.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { startFakeServer } from '../helpers/fake-server.js';
import { createFakeAzureDevOps } from '../connectors/fakes/azuredevops.js';
import { REPO, sampleLines } from './harness.js';

const connection = useAzurite();
const PAT = 'ado-pipeline-pat-not-a-real-one-0123456789abcdefghij';
const LEASE_MS = 1_500;

async function stores(): Promise<StateStores> {
  return createAzureStores({ connectionString: connection(), ...uniqueNames() });
}

/** the shipped kit with soc-ado pointed at the fake, as a fresh process would load it */
async function runtimeFor(s: StateStores, organizationUrl: string) {
  const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
  const ado = kit.config.receivers['soc-ado'];
  if (ado?.kind !== 'azuredevops') throw new Error('playbooks/receivers.yaml has no azuredevops receiver soc-ado');
  const receivers = { ...kit.config.receivers, 'soc-ado': { ...ado, organizationUrl, pat: 'env:ADO_PAT' } };
  const outboxDir = await mkdtemp(join(tmpdir(), 'spk-outbox-'));
  return createRuntime({ ...kit, config: { ...kit.config, receivers } }, s, { outboxDir, env: { ADO_PAT: PAT } });
}

/** a store write that never completes: the process died while making it */
const dies = <T>() => new Promise<T>(() => {});

describe('exactly once in effect: Azure DevOps (Azurite)', () => {
  for (const crashAt of ['the ledger write', 'the ticket store write'] as const) {
    it(`a worker that dies after Azure DevOps accepted a create, at ${crashAt}, leaves one work item`, async () => {
      const s = await stores();
      const ado = createFakeAzureDevOps({ project: 'SecOps', pat: PAT });
      const server = await startFakeServer(ado.handler);
      try {
        let crashed = false;
        const crashing: StateStores =
          crashAt === 'the ledger write'
            ? {
                ...s,
                ledger: {
                  get: (k) => s.ledger.get(k),
                  list: () => s.ledger.list(),
                  record: (entry) => (entry.status === 'done' ? ((crashed = true), dies()) : s.ledger.record(entry)),
                },
              }
            : { ...s, tickets: { get: (r, k) => s.tickets.get(r, k), put: () => ((crashed = true), dies()) } };
        const doomed = await runtimeFor(crashing, server.url);
        const [first] = await sampleLines();
        const step = (await ingest(first, doomed.ingestDeps)).steps.find((x) => x.receiver === 'soc-ado')!;
        expect(step).toBeDefined();
        void processDelivery({ step, attempt: 1 }, { ...doomed.deliveryDeps, leaseMs: LEASE_MS });
        await expect.poll(() => crashed, { timeout: 10_000 }).toBe(true);
        const tag = adoIncidentTag(step.incidentKey);
        expect(ado.withTag(tag)).toHaveLength(1);
        if (crashAt === 'the ticket store write') expect(await s.tickets.get('soc-ado', step.incidentKey)).toBeNull();

        // the queue message reappears; a new process (no memory of the create) retries once the lease lapsed
        await new Promise((r) => setTimeout(r, LEASE_MS + 200));
        const fresh = await runtimeFor(s, server.url);
        const retry = await processDelivery({ step, attempt: 2 }, { ...fresh.deliveryDeps, leaseMs: LEASE_MS });
        expect(retry.action).toBe('updated');
        expect(retry.ticket).toMatchObject({ id: String(ado.withTag(tag)[0]!.id) });
        expect(ado.withTag(tag)).toHaveLength(1);
        expect(await s.tickets.get('soc-ado', step.incidentKey)).toMatchObject({ id: String(ado.withTag(tag)[0]!.id) });
        // and the step is done now: a third try is a duplicate, not another comment
        const comments = ado.withTag(tag)[0]!.comments.length;
        const again = await processDelivery({ step, attempt: 3 }, fresh.deliveryDeps);
        expect(again.action).toBe('skipped-duplicate');
        expect(ado.workItems).toHaveLength(1);
        expect(ado.withTag(tag)[0]!.comments).toHaveLength(comments);
      } finally {
        await server.close();
      }
    });
  }
});
