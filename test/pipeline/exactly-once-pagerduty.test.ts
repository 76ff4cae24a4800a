/**
 * Exactly once in effect for a live PagerDuty receiver, through the real pipeline (playbooks/, templates,
 * ledger, ticket store, queue on Azurite) against the fake PagerDuty. The Events API cannot be read, so
 * the guarantee rests on two things: the kit's ticket store (written the moment PagerDuty accepts the
 * create) and PagerDuty's own deduplication of a trigger into the open alert with the same dedup_key.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKitOrThrow } from '../../functions/config/load.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { pagerdutyDedupKey } from '../../functions/connectors/pagerduty/payload.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { createAzureStores } from '../../functions/state/index.js';
import type { StateStores } from '../../functions/state/ports.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { startFakeServer } from '../helpers/fake-server.js';
import { createFakePagerduty } from '../connectors/fakes/pagerduty.js';
import { REPO, sampleLines } from './harness.js';

const connection = useAzurite();
const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
const LEASE_MS = 1_500;

async function stores(): Promise<StateStores> {
  return createAzureStores({ connectionString: connection(), ...uniqueNames() });
}

/** the shipped kit with soc-pagerduty live on `eventsUrl`; `stores` may be a dying process's view */
async function runtime(eventsUrl: string, s: StateStores) {
  const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
  const receiver: ReceiverOf<'pagerduty'> = { kind: 'pagerduty', routingKey: 'env:PAGERDUTY_ROUTING_KEY', eventsUrl, source: 'microsoft-sentinel', reopen: true };
  const receivers = { ...kit.config.receivers, 'soc-pagerduty': receiver };
  const outboxDir = await mkdtemp(join(tmpdir(), 'spk-outbox-'));
  return createRuntime({ ...kit, config: { ...kit.config, receivers } }, s, { outboxDir, env: { PAGERDUTY_ROUTING_KEY: ROUTING_KEY } });
}

/** a ledger whose first 'done' write never completes: the process died after the target acted */
function dyingLedger(s: StateStores, died: () => void): StateStores['ledger'] {
  let dead = false;
  return {
    get: s.ledger.get.bind(s.ledger),
    list: s.ledger.list.bind(s.ledger),
    record: async (entry) => {
      if (!dead && entry.status === 'done') {
        dead = true;
        died();
        return new Promise<void>(() => {});
      }
      return s.ledger.record(entry);
    },
  };
}

describe('exactly once in effect, PagerDuty (Azurite)', () => {
  it('a deliver retried after PagerDuty accepted the create but before the ledger write: the stored ticket makes it an update, one alert', async () => {
    const s = await stores();
    const pd = createFakePagerduty({ integrations: { [ROUTING_KEY]: 'PSOC001' } });
    const server = await startFakeServer(pd.handler);
    try {
      const [first] = await sampleLines();
      const live = await runtime(server.url, s);
      const result = await ingest(first, live.ingestDeps);
      const step = result.steps.find((x) => x.receiver === 'soc-pagerduty')!;
      const dedup = pagerdutyDedupKey(step.incidentKey);
      let crashed = false;
      const dying = { ...s, ledger: dyingLedger(s, () => (crashed = true)) };
      void processDelivery({ step, attempt: 1 }, { ...live.deliveryDeps, stores: dying, leaseMs: LEASE_MS });
      await expect.poll(() => crashed, { timeout: 10_000 }).toBe(true);
      expect(pd.alertsFor(dedup)).toHaveLength(1);
      // the queue hands the step back once the dead worker's lease lapsed; another worker takes it
      await new Promise((r) => setTimeout(r, LEASE_MS + 200));
      const retry = await processDelivery({ step, attempt: 2 }, { ...(await runtime(server.url, s)).deliveryDeps, leaseMs: LEASE_MS });
      expect(retry.action).toBe('updated');
      expect(retry.ticket?.id).toBe(dedup);
      expect(pd.alertsFor(dedup)).toHaveLength(1);
      expect(pd.incidentsFor(dedup)).toHaveLength(1);
      const again = await processDelivery({ step, attempt: 3 }, live.deliveryDeps);
      expect(again.action).toBe('skipped-duplicate');
    } finally {
      await server.close();
    }
  });

  it('the process dies right after PagerDuty’s 202, before even the ticket store write: the retry triggers again and PagerDuty folds it into the one alert', async () => {
    const s = await stores();
    const pd = createFakePagerduty({ integrations: { [ROUTING_KEY]: 'PSOC001' } });
    const server = await startFakeServer(pd.handler);
    try {
      const [first] = await sampleLines();
      let crashed = false;
      // the dying process: its ticket store write (onTicketCreated) and its ledger never complete
      const dying: StateStores = {
        ...s,
        ledger: dyingLedger(s, () => (crashed = true)),
        tickets: {
          get: s.tickets.get.bind(s.tickets),
          put: () => {
            crashed = true;
            return new Promise<void>(() => {});
          },
        },
      };
      const dead = await runtime(server.url, dying);
      const result = await ingest(first, (await runtime(server.url, s)).ingestDeps);
      const step = result.steps.find((x) => x.receiver === 'soc-pagerduty')!;
      const dedup = pagerdutyDedupKey(step.incidentKey);
      void processDelivery({ step, attempt: 1 }, { ...dead.deliveryDeps, leaseMs: LEASE_MS });
      await expect.poll(() => crashed, { timeout: 10_000 }).toBe(true);
      expect(pd.alertsFor(dedup)).toHaveLength(1);
      expect(await s.tickets.get('soc-pagerduty', step.incidentKey)).toBeNull();
      await new Promise((r) => setTimeout(r, LEASE_MS + 200));
      const retry = await processDelivery({ step, attempt: 2 }, { ...(await runtime(server.url, s)).deliveryDeps, leaseMs: LEASE_MS });
      // nothing could be read back, so the retry creates again: the same dedup_key, the same alert
      expect(retry.action).toBe('created');
      expect(pd.alertsFor(dedup)).toHaveLength(1);
      expect(pd.incidentsFor(dedup)).toHaveLength(1);
      expect(pd.alertsFor(dedup)[0]!.log.map((e) => e.action)).toEqual(['trigger', 'trigger']);
      expect(await s.tickets.get('soc-pagerduty', step.incidentKey)).toMatchObject({ id: dedup, state: 'open' });
    } finally {
      await server.close();
    }
  });
});
