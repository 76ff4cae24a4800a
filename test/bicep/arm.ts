/** Reading the compiled ARM template (bicep/azuredeploy.json) in tests. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bicepDir = path.join(projectRoot, 'bicep');
export const compiledTemplatePath = path.join(bicepDir, 'azuredeploy.json');

export type Json = Record<string, unknown>;

export interface ArmResource extends Json {
  /** symbolic name (languageVersion 2.0 templates) or `<type>#<index>` */
  symbol: string;
  type: string;
  apiVersion: string;
  name: string;
  properties?: Json;
}

export interface ArmTemplate extends Json {
  parameters?: Record<string, Json>;
  variables?: Json;
  resources: ArmResource[] | Record<string, Omit<ArmResource, 'symbol'>>;
  outputs?: Record<string, Json>;
}

export function loadCompiledTemplate(): ArmTemplate {
  return JSON.parse(readFileSync(compiledTemplatePath, 'utf8')) as ArmTemplate;
}

/** Resources of a template, whether it lists them (1.0) or names them (2.0). */
export function resourcesOf(t: ArmTemplate): ArmResource[] {
  if (Array.isArray(t.resources)) return t.resources.map((r, i) => ({ ...r, symbol: `${r.type}#${i}` }));
  return Object.entries(t.resources).map(([symbol, r]) => ({ ...(r as ArmResource), symbol }));
}

/** The nested template of a module of main.bicep, by its symbolic name. */
export function moduleTemplate(t: ArmTemplate, symbol: string): ArmTemplate {
  const m = resourcesOf(t).find((r) => r.symbol === symbol && r.type === 'Microsoft.Resources/deployments');
  if (!m) throw new Error(`module ${symbol} not found in the compiled template`);
  return (m.properties as { template: ArmTemplate }).template;
}

export function moduleResource(t: ArmTemplate, symbol: string): ArmResource {
  const m = resourcesOf(t).find((r) => r.symbol === symbol);
  if (!m) throw new Error(`module ${symbol} not found in the compiled template`);
  return m;
}

/** Every template in the tree: main and each nested module template. */
export function allTemplates(t: ArmTemplate, where = 'main'): { where: string; template: ArmTemplate }[] {
  const out = [{ where, template: t }];
  for (const r of resourcesOf(t)) {
    if (r.type === 'Microsoft.Resources/deployments') {
      out.push(...allTemplates((r.properties as { template: ArmTemplate }).template, `${where}/${r.symbol}`));
    }
  }
  return out;
}

/** Every non-module resource in the tree, with the module it is in. */
export function allResources(t: ArmTemplate): (ArmResource & { module: string })[] {
  return allTemplates(t).flatMap(({ where, template }) =>
    resourcesOf(template)
      .filter((r) => r.type !== 'Microsoft.Resources/deployments')
      .map((r) => ({ ...r, module: where })),
  );
}

/** The metadata._generator blocks carry the CLI version and a hash; identical sources differ only there. */
export function withoutGenerator(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutGenerator);
  if (value && typeof value === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '_generator') continue;
      out[k] = withoutGenerator(v);
    }
    return out;
  }
  return value;
}

export interface BicepCli {
  findBicep(): Promise<{ command: string; args: string[]; version: string }>;
  runBicep(
    args: string[],
    options?: { cwd?: string },
  ): Promise<{ ok: boolean; status: number | null; stdout: string; stderr: string; diagnostics: { file: string; line: number; level: string; code: string; message: string }[] }>;
  bicepFiles(dir?: string): string[];
  lintAll(dir?: string): ReturnType<BicepCli['runBicep']>;
  buildAll(outdir: string, dir?: string): ReturnType<BicepCli['runBicep']>;
  buildToString(file: string): Promise<string>;
  parseDiagnostics(output: string): { file: string; line: number; column: number; level: string; code: string; message: string }[];
  PINNED_BICEP_VERSION: string;
}

/** scripts/bicep.mjs is plain JavaScript (it runs before anything is built); its shape is declared here. */
export async function bicepCli(): Promise<BicepCli> {
  return (await import(pathToFileURL(path.join(projectRoot, 'scripts', 'bicep.mjs')).href)) as BicepCli;
}
