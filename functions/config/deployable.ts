/**
 * The config as the Function App will run it: everything `loadKit` checks, plus what only matters in
 * Azure — no receiver may silently fall back to the outbox there (see deploymentProblems).
 */
import { join } from 'node:path';
import { deploymentProblems } from './parse.js';
import { KitError } from '../core/errors.js';
import type { TemplateSet } from '../render/engine.js';
import { LIVE_KINDS } from '../connectors/kinds.js';
import { loadKit, RECEIVERS_FILE, type LoadedKit } from './load.js';

export async function loadKitForDeployment(playbooksDir: string, options: { cwd?: string } = {}): Promise<LoadedKit> {
  const kit = await loadKit(playbooksDir, options);
  const receiversFile = join(playbooksDir, RECEIVERS_FILE);
  return { ...kit, problems: [...kit.problems, ...deploymentProblems(kit.config, LIVE_KINDS, receiversFile)] };
}

/** for the Function App: refuse to start with a config that would pretend to deliver */
export async function loadDeployableKitOrThrow(playbooksDir: string, options: { cwd?: string } = {}): Promise<LoadedKit & { templates: TemplateSet }> {
  const kit = await loadKitForDeployment(playbooksDir, options);
  if (kit.problems.length > 0 || !kit.templates) {
    throw new KitError(`the playbooks folder has ${kit.problems.length} problem(s) for the Function App:\n${kit.problems.map((p) => p.format()).join('\n')}`, { kind: 'config' });
  }
  return kit as LoadedKit & { templates: TemplateSet };
}
