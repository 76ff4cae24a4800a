/**
 * Reads the customisation folder (playbooks/*.yaml, receivers.yaml, exclusions.yaml, templates/**)
 * and returns the validated config, the compiled templates and every problem found — all of them,
 * so `spk validate` can list each as file:line:col.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { KitError } from '../core/errors.js';
import { crossCheck, EMPTY_EXCLUSIONS, parseExclusionsFile, parsePlaybookFile, parseReceiversFile, type KitConfig } from './parse.js';
import { LIVE_KINDS } from '../connectors/kinds.js';
import type { PlaybookConfig } from './schema.js';
import { compileTemplatesReport, hasTemplate, type TemplateSet } from '../render/engine.js';
import type { TemplateFile } from '../render/types.js';

export const RECEIVERS_FILE = 'receivers.yaml';
export const EXCLUSIONS_FILE = 'exclusions.yaml';

export interface LoadedKit {
  /** folder the config was read from (the one holding receivers.yaml) */
  dir: string;
  config: KitConfig;
  templates: TemplateSet | null;
  problems: KitError[];
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out.sort();
}

const display = (cwd: string, p: string) => relative(cwd, p).split(sep).join('/');

export async function loadKit(playbooksDir: string, options: { cwd?: string } = {}): Promise<LoadedKit> {
  const cwd = options.cwd ?? process.cwd();
  const problems: KitError[] = [];
  const files = await readdir(playbooksDir).catch((e: NodeJS.ErrnoException) => {
    problems.push(new KitError(`cannot read the playbooks folder: ${e.code ?? e.message}`, { kind: 'config', where: { file: display(cwd, playbooksDir) } }));
    return [] as string[];
  });

  let receivers: KitConfig['receivers'] = {};
  let exclusions = EMPTY_EXCLUSIONS;
  const playbooks: PlaybookConfig[] = [];
  let receiversBroken = false;
  const receiversPath = join(playbooksDir, RECEIVERS_FILE);
  for (const name of files.sort()) {
    if (!/\.ya?ml$/i.test(name)) continue;
    const full = join(playbooksDir, name);
    let source: string;
    try {
      source = await readFile(full, 'utf8');
    } catch (e) {
      problems.push(new KitError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { kind: 'config', where: { file: display(cwd, full) } }));
      continue;
    }
    const file = { path: display(cwd, full), source };
    if (name === RECEIVERS_FILE) {
      const before = problems.length;
      receivers = parseReceiversFile(file, problems);
      receiversBroken = problems.length > before;
    }
    else if (name === EXCLUSIONS_FILE) exclusions = parseExclusionsFile(file, problems);
    else {
      const pb = parsePlaybookFile(file, problems);
      if (pb) playbooks.push(pb);
    }
  }
  if (files.length > 0 && !files.includes(RECEIVERS_FILE)) {
    problems.push(new KitError(`missing ${RECEIVERS_FILE}: playbooks need receivers`, { kind: 'config', where: { file: display(cwd, receiversPath) } }));
  }

  const templatesDir = join(playbooksDir, 'templates');
  const templateFiles: TemplateFile[] = [];
  for (const p of await walk(templatesDir)) {
    if (!p.endsWith('.hbs')) continue;
    templateFiles.push({ path: relative(templatesDir, p).split(sep).join('/'), source: await readFile(p, 'utf8') });
  }
  const templateProblem = (e: KitError) => {
    const where = e.where?.file ? { ...e.where, file: display(cwd, join(playbooksDir, e.where.file)) } : e.where;
    return new KitError(e.message, { kind: 'template', cause: e, ...(where ? { where } : {}) });
  };
  // every problem of every template, each once: unknown fields, syntax, and JSON parts tried at load
  const report = compileTemplatesReport(templateFiles);
  const templates: TemplateSet | null = report.set;
  problems.push(...report.problems.map(templateProblem));

  const config: KitConfig = { receivers, playbooks, exclusions };
  // with a broken receivers.yaml every step would also be "unknown receiver": report the cause, not 50 echoes
  if (!receiversBroken) problems.push(
    ...crossCheck(config, {
      liveKinds: LIVE_KINDS,
      receiversFile: display(cwd, receiversPath),
      ...(templates ? { hasTemplate: (kind, name) => hasTemplate(templates!, kind, name) } : {}),
    }),
  );
  return { dir: playbooksDir, config, templates, problems };
}

/** for entry points that cannot run with a broken config: one error listing every problem */
export async function loadKitOrThrow(playbooksDir: string, options: { cwd?: string } = {}): Promise<LoadedKit & { templates: TemplateSet }> {
  const kit = await loadKit(playbooksDir, options);
  if (kit.problems.length > 0 || !kit.templates) {
    const lines = kit.problems.map((p) => p.format());
    throw new KitError(`the playbooks folder has ${kit.problems.length} problem(s):\n${lines.join('\n')}`, { kind: 'config' });
  }
  return kit as LoadedKit & { templates: TemplateSet };
}
