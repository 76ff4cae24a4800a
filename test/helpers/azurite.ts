/**
 * One Azurite per test file: started in beforeAll, stopped in afterAll. Files run in parallel,
 * each with its own emulator on its own free ports.
 */
import { afterAll, beforeAll } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../functions/state/azurite.js';

export function useAzurite(): () => string {
  let azurite: RunningAzurite | undefined;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });
  return () => {
    if (!azurite) throw new Error('useAzurite(): Azurite is not running (called outside a test?)');
    return azurite.connectionString;
  };
}

/** Names no other test shares, valid as a table prefix and as a queue name. */
export function uniqueNames(): { tablePrefix: string; queueName: string } {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return { tablePrefix: `t${suffix}`, queueName: `q-${suffix}` };
}
