/**
 * The real pipeline (config from playbooks/, templates, connectors, outbox) on the stores a test picks,
 * with optional live Jira/Teams receivers pointed at loopback fakes.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadKitOrThrow } from '../../functions/config/load.js';
import { createRuntime, type KitRuntime, type KitRuntimeOptions } from '../../functions/pipeline/kit.js';
import type { StateStores } from '../../functions/state/ports.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const SAMPLE = join(REPO, 'samples/defender-experts-day.jsonl');

export interface LiveTargets {
  jiraUrl?: string;
  teamsWebhookUrl?: string;
}

export async function harness(stores: StateStores, live: LiveTargets = {}, options: Partial<KitRuntimeOptions> = {}) {
  const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
  const env: NodeJS.ProcessEnv = { JIRA_EMAIL: 'soc-bot@contoso.example', JIRA_API_TOKEN: 'jira-token-not-a-real-one', TEAMS_URL: live.teamsWebhookUrl ?? '' };
  const receivers = { ...kit.config.receivers };
  if (live.jiraUrl) receivers['soc-jira'] = { ...receivers['soc-jira']!, baseUrl: live.jiraUrl, email: 'env:JIRA_EMAIL', apiToken: 'env:JIRA_API_TOKEN' } as (typeof receivers)['soc-jira'];
  if (live.teamsWebhookUrl) receivers['soc-teams'] = { kind: 'teams', webhookUrl: 'env:TEAMS_URL' };
  const liveKit = { ...kit, config: { ...kit.config, receivers } };
  const outboxDir = await mkdtemp(join(tmpdir(), 'spk-outbox-'));
  const runtime: KitRuntime = createRuntime(liveKit, stores, { outboxDir, env, ...options });
  return {
    runtime,
    outboxDir,
    async outboxFiles(): Promise<string[]> {
      const dirs = await readdir(outboxDir, { withFileTypes: true });
      const files: string[] = [];
      for (const d of dirs.filter((x) => x.isDirectory())) for (const f of await readdir(join(outboxDir, d.name))) files.push(`${d.name}/${f}`);
      return files.sort();
    },
  };
}

export async function sampleLines(): Promise<unknown[]> {
  return (await readFile(SAMPLE, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);
}
