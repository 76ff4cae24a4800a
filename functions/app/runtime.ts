/**
 * The Function App's process-wide runtime: config and templates loaded and compiled once per process
 * (cold start), state from app settings (identity-based in Azure), one runtime shared by every
 * invocation. Built lazily so a broken setting fails the first invocation with a clear error instead
 * of crashing the host at import time.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDeployableKitOrThrow } from '../config/deployable.js';
import type { Logger } from '../core/log.js';
import { createRuntime, type KitRuntime, type KitRuntimeOptions } from '../pipeline/kit.js';
import { commentBack, incidentCommenter, type IncidentCommenter } from '../pipeline/comment-back.js';
import { stateFromEnvironment } from '../state/index.js';
import type { StateStores } from '../state/ports.js';

export interface AppRuntime extends KitRuntime {
  stores: StateStores;
  /** the app settings secrets are resolved from; default process.env */
  env?: Record<string, string | undefined>;
  /** comments on Sentinel incidents outside a delivery (acknowledgements); absent when comment back is off */
  incidentComments?: IncidentCommenter;
}

/**
 * The playbooks folder ships inside the package next to dist/. The host's working directory is the app
 * root in Azure, but look beside the bundle too rather than trust it.
 */
export function findPlaybooksDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SPK_PLAYBOOKS_DIR) return resolve(env.SPK_PLAYBOOKS_DIR);
  const candidates = [resolve('playbooks')];
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    candidates.push(join(dir, 'playbooks'));
    if (dirname(dir) === dir) break;
  }
  return candidates.find((c) => existsSync(join(c, 'receivers.yaml'))) ?? candidates[0]!;
}

let cached: Promise<AppRuntime> | null = null;
let override: ((log: Logger) => Promise<AppRuntime>) | null = null;

export function appRuntime(log: Logger): Promise<AppRuntime> {
  if (override) return override(log);
  cached ??= (async () => {
    const env = process.env;
    const kit = await loadDeployableKitOrThrow(findPlaybooksDir(env));
    const stores = await stateFromEnvironment(env, { queueName: env.SPK_QUEUE_NAME?.trim() || 'deliveries' });
    // only dryRun receivers reach the outbox here (loadDeployableKitOrThrow refuses the rest), recorded as `outbox`
    const options: KitRuntimeOptions = { outboxDir: resolve(env.SPK_OUTBOX_DIR ?? '/tmp/spk-outbox'), env, log, outboxRecordedAs: 'outbox' };
    // In Azure the Function App's managed identity holds Microsoft Sentinel Responder on the workspace.
    let incidentComments: IncidentCommenter | undefined;
    if (env.SPK_COMMENT_BACK !== 'false' && env.SPK_STORAGE_ACCOUNT_NAME) {
      const { DefaultAzureCredential } = await import('@azure/identity');
      const credential = new DefaultAzureCredential();
      options.afterDelivered = commentBack({ credential });
      incidentComments = incidentCommenter({ credential });
    }
    return { ...createRuntime(kit, stores, options), stores, env, ...(incidentComments ? { incidentComments } : {}) };
  })();
  cached.catch(() => {
    cached = null; // a failed start is retried by the next invocation
  });
  return cached;
}

/** tests: run the real handlers on a runtime they built (Azurite stores, a temp outbox, fake connectors) */
export function setAppRuntimeForTests(factory: ((log: Logger) => Promise<AppRuntime>) | null): void {
  override = factory;
  cached = null;
}
