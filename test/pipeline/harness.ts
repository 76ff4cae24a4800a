/**
 * The real pipeline (config from playbooks/, templates, connectors, outbox) on the stores a test picks,
 * with optional live Jira/Teams receivers pointed at loopback fakes.
 */
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { isScalar, isSeq, parseDocument, visit, type YAMLMap } from 'yaml';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadKitOrThrow } from '../../functions/config/load.js';
import type { TemplateSet } from '../../functions/render/engine.js';
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

/** a second receiver made from a shipped one: same fields plus `fields`, notified wherever the original is */
export interface ReceiverCopy {
  of: string;
  fields: Record<string, string | number>;
}

/**
 * A temp copy of the shipped playbooks/ with some shipped receivers given live fields (endpoints pointed
 * at loopback fakes, `env:` secrets), loaded as the Function App would. Fails when a named receiver is not
 * shipped, so a renamed receiver cannot quietly leave a test on the outbox. `copies` adds receivers made
 * from shipped ones (a second transport of one kind) to every `notify` list that names the original.
 */
export async function liveCopyOfPlaybooks(
  live: Record<string, Record<string, string>>,
  copies: Record<string, ReceiverCopy> = {},
): Promise<{ dir: string; kit: Awaited<ReturnType<typeof loadKitOrThrow>> & { templates: TemplateSet } }> {
  const dir = await mkdtemp(join(tmpdir(), 'spk-live-playbooks-'));
  await cp(join(REPO, 'playbooks'), dir, { recursive: true });
  const doc = parseDocument(await readFile(join(dir, 'receivers.yaml'), 'utf8'));
  const shipped = (name: string) => {
    if (!doc.hasIn(['receivers', name])) throw new Error(`playbooks/receivers.yaml does not ship ${name}`);
  };
  // copies first: a copy is made from the shipped receiver, not from its live version
  for (const [name, copy] of Object.entries(copies)) {
    shipped(copy.of);
    doc.setIn(['receivers', name], (doc.getIn(['receivers', copy.of]) as YAMLMap).clone());
    for (const [field, value] of Object.entries(copy.fields)) doc.setIn(['receivers', name, field], value);
  }
  for (const [name, fields] of Object.entries(live)) {
    shipped(name);
    for (const [field, value] of Object.entries(fields)) doc.setIn(['receivers', name, field], value);
  }
  await writeFile(join(dir, 'receivers.yaml'), doc.toString());
  if (Object.keys(copies).length > 0) {
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml') && f !== 'receivers.yaml')) {
      const playbook = parseDocument(await readFile(join(dir, file), 'utf8'));
      visit(playbook, {
        Pair(_, pair) {
          if (!isScalar(pair.key) || pair.key.value !== 'notify' || !isSeq(pair.value)) return;
          const names = pair.value.items.map((i) => (isScalar(i) ? i.value : undefined));
          for (const [name, copy] of Object.entries(copies)) if (names.includes(copy.of)) pair.value.add(name);
        },
      });
      await writeFile(join(dir, file), playbook.toString());
    }
  }
  const kit = await loadKitOrThrow(dir, { cwd: dir });
  if (!kit.templates) throw new Error('the temp copy of playbooks/ has no templates');
  return { dir, kit: { ...kit, templates: kit.templates } };
}
