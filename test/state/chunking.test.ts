/**
 * Every table write must arrive intact however the network splits it. The stores here talk to a real
 * Azurite through a proxy that forwards one byte per TCP segment (pausing inside every multi-byte
 * UTF-8 character), the worst split a request can meet. Azurite 3.35 decodes each read on its own,
 * so a raw UTF-8 body comes out with U+FFFD where the split characters were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureStores, type AzureStateStores } from '../../functions/state/azure/stores.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../functions/state/azurite.js';
import { uniqueNames, useAzurite } from '../helpers/azurite.js';
import { makeEntry, makeSnapshot } from './contract.js';
import { startRechunkingProxy, type RechunkingProxy } from './rechunking-proxy.js';

const connectionString = useAzurite();

// two-, three- and four-byte UTF-8, a combining mark, an emoji sequence with a variation selector
const TEXT = 'Übergabe an Defender Experts — 🛡️ Tōkyō 東京 事件 • café ✓ 👩‍💻 ';

let proxy: RechunkingProxy;
beforeAll(async () => {
  const port = Number(/TableEndpoint=http:\/\/127\.0\.0\.1:(\d+)\//.exec(connectionString())?.[1]);
  proxy = await startRechunkingProxy({ host: '127.0.0.1', port });
});
afterAll(async () => {
  await proxy?.close();
});

async function storesThroughProxy(): Promise<AzureStateStores> {
  const queueEndpoint = /QueueEndpoint=([^;]+);/.exec(connectionString())?.[1] ?? '';
  return createAzureStores({
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
      `TableEndpoint=${proxy.origin}/${AZURITE_ACCOUNT_NAME};QueueEndpoint=${queueEndpoint};`,
    ...uniqueNames(),
  });
}

describe('table writes split at every byte', () => {
  it('keep non-ASCII text intact in snapshots, on create and on replace', async () => {
    const stores = await storesThroughProxy();
    const before = proxy.forwarded();
    const snapshot = makeSnapshot({ title: TEXT, description: TEXT.repeat(3), tags: ['Défense', 'Übergabe'] });
    const etag = await stores.snapshots.put('Vorfall-東京', snapshot, null);
    expect((await stores.snapshots.get('Vorfall-東京'))?.snapshot).toEqual(snapshot);

    const replaced = makeSnapshot({ title: `${TEXT} (2)`, description: TEXT.repeat(2) });
    await stores.snapshots.put('Vorfall-東京', replaced, etag);
    expect((await stores.snapshots.get('Vorfall-東京'))?.snapshot).toEqual(replaced);
    // both bodies really went through the proxy
    expect(proxy.forwarded() - before).toBeGreaterThan(JSON.stringify(snapshot).length + JSON.stringify(replaced).length);
  });

  it('keep non-ASCII text intact in the ledger, leases, tickets and watermarks', async () => {
    const stores = await storesThroughProxy();
    const entry = makeEntry({ receiver: 'équipe-sécurité', error: `terminal 400: ${TEXT}`, status: 'failed', action: null });
    await stores.ledger.record(entry);
    expect(await stores.ledger.get(entry.idempotencyKey)).toEqual(entry);
    const claimed = await stores.leases.claim('ü'.repeat(40), `worker ${TEXT}`, 60_000);
    expect(claimed).toBe('claimed');
    expect((await stores.leases.get('ü'.repeat(40)))?.holder).toBe(`worker ${TEXT}`);

    const ticket = { receiver: 'équipe-jira', incidentKey: '東京-1', id: '10042', key: 'SÖC-42', url: `https://example.invalid/${TEXT}`, state: 'open' as const };
    await stores.tickets.put(ticket);
    await stores.tickets.put({ ...ticket, state: 'resolved' });
    expect(await stores.tickets.get('équipe-jira', '東京-1')).toEqual({ ...ticket, state: 'resolved' });

    await stores.watermarks.set(`graph-poll ${TEXT}`, TEXT);
    expect(await stores.watermarks.get(`graph-poll ${TEXT}`)).toBe(TEXT);
  });
});
