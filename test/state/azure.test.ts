import { QueueClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../functions/core/errors.js';
import { createAzureStores, stateFromEnvironment, TABLE_NAMES, type AzureStateStores } from '../../functions/state/azure/stores.js';
import { encodeKey } from '../../functions/state/azure/encoding.js';
import { makeStep } from '../fixtures/incident.js';
import { uniqueNames, useAzurite } from '../helpers/azurite.js';
import { makeSnapshot, stateContract, type StateHarness } from './contract.js';

const connectionString = useAzurite();

async function azureHarness(): Promise<StateHarness> {
  let leaseNow = Date.parse('2026-11-26T09:36:00.000Z');
  const names = uniqueNames();
  const stores = await createAzureStores({ connectionString: connectionString(), ...names, now: () => leaseNow });
  const raw = new QueueClient(connectionString(), names.queueName);
  return {
    stores,
    passQueueTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    passLeaseTime(ms) {
      leaseNow += ms;
    },
    leaseNow: () => leaseNow,
    queueNow: () => Date.now(),
    async sendRaw(text) {
      await raw.sendMessage(text);
    },
  };
}

stateContract('azure (Azurite)', azureHarness);

async function freshStores(): Promise<AzureStateStores> {
  return createAzureStores({ connectionString: connectionString(), ...uniqueNames() });
}

describe('azure state stores: what lands in storage', () => {
  it('puts base64 JSON on the queue, the encoding the Functions queue trigger decodes by default', async () => {
    const stores = await freshStores();
    const queued = { step: makeStep(), attempt: 1 };
    await stores.queue.enqueue(queued);
    const peeked = await new QueueClient(connectionString(), stores.names.queue).peekMessages();
    const text = peeked.peekedMessageItems[0]?.messageText ?? '';
    expect(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))).toEqual(queued);
  });

  it('reads a delivery the Functions host moved to the poison queue as-is', async () => {
    const stores = await freshStores();
    const queued = { step: makeStep(), attempt: 5 };
    const poison = new QueueClient(connectionString(), stores.names.poisonQueue);
    await poison.sendMessage(Buffer.from(JSON.stringify(queued)).toString('base64'));
    const [entry] = await stores.queue.peekPoison(10);
    expect(entry?.delivery).toEqual(queued);
    expect(entry?.reason).toMatch(/Functions host/);
  });

  it('stores encoded keys with the original id beside them', async () => {
    const stores = await freshStores();
    await stores.snapshots.put('a/b#c?d', makeSnapshot(), null);
    const table = TableClient.fromConnectionString(connectionString(), stores.names.tables.snapshots, {
      allowInsecureConnection: true,
    });
    const entities = [];
    for await (const entity of table.listEntities()) entities.push(entity);
    expect(entities).toHaveLength(1);
    expect(entities[0]?.partitionKey).toBe(encodeKey('a/b#c?d'));
    expect(entities[0]?.partitionKey).not.toMatch(/[/\\#?\u0000-\u001f\u007f-\u009f]/);
    expect(entities[0]?.['id']).toBe('a/b#c?d');
  });

  it('creates its tables and queues idempotently, also when two instances start at once', async () => {
    const names = uniqueNames();
    const options = { connectionString: connectionString(), ...names };
    const [a, b] = await Promise.all([createAzureStores(options), createAzureStores(options)]);
    await a.watermarks.set('graph-poll', '2026-11-26T09:00:00.000Z');
    const c = await createAzureStores(options);
    expect(await b.watermarks.get('graph-poll')).toBe('2026-11-26T09:00:00.000Z');
    expect(await c.watermarks.get('graph-poll')).toBe('2026-11-26T09:00:00.000Z');
  });

  it('says what is missing when the tables were not created and creation is off', async () => {
    const stores = await createAzureStores({ connectionString: connectionString(), ...uniqueNames(), createIfMissing: false });
    const error = await stores.watermarks.set('graph-poll', 'x').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KitError);
    expect((error as KitError).kind).toBe('terminal');
    expect((error as KitError).statusCode).toBe(404);
    expect((error as KitError).message).toMatch(/write watermark graph-poll to table t\w+watermarks failed: 404/);
  });
});

describe('azure state stores: options and environment', () => {
  it('refuses bad resource names with a config error naming the option', async () => {
    const prefix = await createAzureStores({ connectionString: connectionString(), tablePrefix: '1-bad' }).catch((e: unknown) => e);
    expect((prefix as KitError).kind).toBe('config');
    expect((prefix as KitError).where?.field).toBe('tablePrefix');
    const queue = await createAzureStores({ connectionString: connectionString(), queueName: 'Bad--Name' }).catch((e: unknown) => e);
    expect((queue as KitError).where?.field).toBe('queueName');
  });

  it('keeps a SAS token out of the endpoints it reports', async () => {
    const stores = await createAzureStores({
      connectionString:
        'TableEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;SharedAccessSignature=sv=2024-11-04&sig=c2VjcmV0',
      createIfMissing: false,
    });
    expect(JSON.stringify(stores.endpoints)).not.toContain('sig=');
    expect(stores.endpoints.queue).toBe('http://127.0.0.1:1/devstoreaccount1');
  });

  it('never repeats a connection string it cannot use', async () => {
    const secret = 'c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWs=';
    const error = await createAzureStores({ connectionString: `AccountKey=${secret};nonsense` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KitError);
    expect((error as KitError).kind).toBe('config');
    expect(JSON.stringify({ message: (error as KitError).message, where: (error as KitError).where })).not.toContain(secret);
  });

  it('names both settings when neither is set', async () => {
    const error = await stateFromEnvironment({}).catch((e: unknown) => e);
    expect((error as KitError).kind).toBe('config');
    expect((error as KitError).message).toContain('SPK_STORAGE_ACCOUNT_NAME');
    expect((error as KitError).message).toContain('SPK_STORAGE_CONNECTION_STRING');
  });

  it('uses the connection string setting when no account name is set', async () => {
    const names = uniqueNames();
    const stores = await stateFromEnvironment({ SPK_STORAGE_CONNECTION_STRING: connectionString() }, names);
    await stores.watermarks.set('graph-poll', 'w1');
    expect(await stores.watermarks.get('graph-poll')).toBe('w1');
    expect(stores.names.queue).toBe(names.queueName);
    expect(stores.endpoints.table).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
  });

  it('prefers the managed-identity form when the account name is set', async () => {
    // createIfMissing off: building the clients must not reach out to the real account
    const stores = await stateFromEnvironment(
      { SPK_STORAGE_ACCOUNT_NAME: 'spkprod01', SPK_STORAGE_CONNECTION_STRING: connectionString() },
      { createIfMissing: false },
    );
    expect(stores.endpoints).toEqual({
      table: 'https://spkprod01.table.core.windows.net',
      queue: 'https://spkprod01.queue.core.windows.net',
    });
    expect(stores.names).toEqual({
      tables: { snapshots: 'snapshots', ledger: 'ledger', leases: 'leases', tickets: 'tickets', watermarks: 'watermarks', acknowledgements: 'acknowledgements' },
      queue: 'deliveries',
      poisonQueue: 'deliveries-poison',
    });
    const bad = await stateFromEnvironment({ SPK_STORAGE_ACCOUNT_NAME: 'Not_An_Account' }).catch((e: unknown) => e);
    expect((bad as KitError).where?.field).toBe('SPK_STORAGE_ACCOUNT_NAME');
  });
});

describe('azure state stores: the deployment creates what they use', () => {
  it('lists every table of TABLE_NAMES in bicep/main.bicep, and no other', async () => {
    const { readFile } = await import('node:fs/promises');
    const bicep = await readFile(new URL('../../bicep/main.bicep', import.meta.url), 'utf8');
    const line = /^var tableNames = \[(.*)\]$/m.exec(bicep)?.[1] ?? '';
    const deployed = [...line.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(deployed.sort()).toEqual(Object.values(TABLE_NAMES).sort());
  });
});
