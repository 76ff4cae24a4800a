/**
 * Which state the CLI runs on. By default the real stack: Azure Tables + Queues on an Azurite the kit
 * starts itself (persisted under .spk-state/ so a second run sees what the first did). `--memory`
 * keeps everything in process for speed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createMemoryStores } from '../state/memory.js';
import { createAzureStores } from '../state/index.js';
import { startAzurite } from '../state/azurite.js';
import type { StateStores } from '../state/ports.js';

export interface CliState {
  stores: StateStores;
  description: string;
  close(): Promise<void>;
}

export async function openState(options: { memory: boolean; stateDir: string; fresh: boolean }): Promise<CliState> {
  if (options.fresh) await rm(options.stateDir, { recursive: true, force: true });
  if (options.memory) {
    return { stores: createMemoryStores(), description: 'in-memory state (--memory)', close: async () => {} };
  }
  const location = join(options.stateDir, 'azurite');
  await mkdir(location, { recursive: true });
  const azurite = await startAzurite({ location, inMemory: false, silent: true });
  try {
    const stores = await createAzureStores({ connectionString: azurite.connectionString, tablePrefix: 'spk', queueName: 'deliveries' });
    return { stores, description: `Azure Tables + Queues on Azurite (${location})`, close: () => azurite.stop() };
  } catch (e) {
    await azurite.stop();
    throw e;
  }
}
