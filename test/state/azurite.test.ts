import { access } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startAzurite } from '../../functions/state/azurite.js';
import { createAzureStores } from '../../functions/state/azure/stores.js';
import { uniqueNames } from '../helpers/azurite.js';

describe('startAzurite', () => {
  it('runs independent emulators side by side on loopback ports, and stop() ends them', async () => {
    const [a, b] = await Promise.all([startAzurite(), startAzurite()]);
    try {
      for (const azurite of [a, b]) {
        expect(azurite.tableEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
        expect(azurite.queueEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      }
      expect(new Set([a.tableEndpoint, a.queueEndpoint, b.tableEndpoint, b.queueEndpoint]).size).toBe(4);

      const names = uniqueNames();
      const inA = await createAzureStores({ connectionString: a.connectionString, ...names });
      const inB = await createAzureStores({ connectionString: b.connectionString, ...names });
      await inA.watermarks.set('graph-poll', 'only in a');
      expect(await inB.watermarks.get('graph-poll')).toBeNull();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const refused = await fetch(`${a.tableEndpoint}/Tables`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(refused).toBe('refused');
    await a.stop();
  });

  it('keeps data on disk in a given location across restarts', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const location = await mkdtemp(join(tmpdir(), 'spk-azurite-test-'));
    const names = uniqueNames();
    try {
      const first = await startAzurite({ location });
      const before = await createAzureStores({ connectionString: first.connectionString, ...names });
      await before.watermarks.set('graph-poll', 'kept');
      await first.stop();

      const second = await startAzurite({ location });
      try {
        const after = await createAzureStores({ connectionString: second.connectionString, ...names });
        expect(await after.watermarks.get('graph-poll')).toBe('kept');
      } finally {
        await second.stop();
      }
      // a location the caller owns is left in place
      await access(location);
    } finally {
      await rm(location, { recursive: true, force: true });
    }
  });
});
