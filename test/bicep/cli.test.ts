/**
 * The real Bicep CLI on every template: lint and build must be free of diagnostics (warnings included),
 * and the committed bicep/azuredeploy.json must be what main.bicep compiles to. No CLI is a failure, not a skip.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bicepCli, bicepDir, compiledTemplatePath, projectRoot, withoutGenerator, type BicepCli } from './arm.js';

const cli: BicepCli = await bicepCli();
const files = cli.bicepFiles();
let version = '';

beforeAll(async () => {
  // the first run may fetch the pinned CLI with dotnet restore (hookTimeout covers it)
  version = (await cli.findBicep()).version;
});

describe('Bicep CLI', () => {
  it('is available (from PATH, az, or the pinned NuGet package)', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('finds every template and parameter file under bicep/', () => {
    const names = files.map((f) => path.relative(bicepDir, f));
    expect(names).toEqual(
      expect.arrayContaining([
        'main.bicep',
        'main.bicepparam',
        'types.bicep',
        path.join('modules', 'functionApp.bicep'),
        path.join('modules', 'playbooks.bicep'),
        path.join('modules', 'sentinel.bicep'),
      ]),
    );
  });

  it('lints every .bicep and .bicepparam file under bicep/ with no diagnostics', async () => {
    const r = await cli.lintAll(bicepDir);
    expect(r.diagnostics, r.stderr).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('builds every .bicep file, each module on its own too, with no diagnostics', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'spk-bicep-build-'));
    try {
      const r = await cli.buildAll(out, bicepDir);
      expect(r.diagnostics, r.stderr).toEqual([]);
      expect(r.status, r.stderr).toBe(0);
      const templates = files.filter((f) => f.endsWith('.bicep'));
      expect(templates.length).toBeGreaterThanOrEqual(9);
      for (const f of templates) {
        const compiled = path.join(out, path.relative(bicepDir, f)).replace(/\.bicep$/, '.json');
        const json = JSON.parse(await readFile(compiled, 'utf8')) as { $schema?: string };
        expect(json.$schema, compiled).toMatch(/deploymentTemplate\.json#$/);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('builds main.bicep with no diagnostics to the committed azuredeploy.json (ignoring metadata._generator)', async () => {
    const fresh = JSON.parse(await cli.buildToString(path.join(bicepDir, 'main.bicep'))) as unknown;
    const committed = JSON.parse(await readFile(compiledTemplatePath, 'utf8')) as unknown;
    expect(
      withoutGenerator(committed),
      'bicep/azuredeploy.json is stale: run `node scripts/bicep.mjs build` and commit the result',
    ).toEqual(withoutGenerator(fresh));
  });

  it('builds main.bicepparam into deployment parameters', async () => {
    const r = await cli.runBicep(['build-params', path.join(bicepDir, 'main.bicepparam'), '--stdout']);
    expect(r.ok, r.stderr).toBe(true);
    const params = JSON.parse((JSON.parse(r.stdout) as { parametersJson: string }).parametersJson) as { parameters: Record<string, { value: unknown }> };
    expect(Object.keys(params.parameters)).toEqual(expect.arrayContaining(['workspaceName', 'sentinelAutomationPrincipalId', 'receiverSecrets']));
  });
});

describe('without any Bicep CLI', () => {
  it('fails loudly, naming what to install, instead of skipping', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spk-no-bicep-'));
    try {
      await mkdir(path.join(dir, 'scripts'));
      await copyFile(path.join(projectRoot, 'scripts', 'bicep.mjs'), path.join(dir, 'scripts', 'bicep.mjs'));
      // an empty PATH hides bicep, az and dotnet alike; a copy outside the project has no .tools/ either
      const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'bicep.mjs'), 'path'], {
        encoding: 'utf8',
        env: { PATH: '', HOME: dir },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/No Bicep CLI found: .*bicep.*az bicep.*dotnet/s);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the lint gate', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spk-bicep-gate-'));
    await copyFile(path.join(bicepDir, 'bicepconfig.json'), path.join(dir, 'bicepconfig.json'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches nested .bicep files and .bicepparam files, and makes default-warning linter rules errors', async () => {
    await mkdir(path.join(dir, 'modules'));
    await writeFile(path.join(dir, 'modules', 'unused.bicep'), "@description('Required. Never used.')\nparam unused string\n");
    await writeFile(path.join(dir, 'broken.bicepparam'), "using 'missing.bicep'\n");
    const r = await cli.lintAll(dir);
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: path.join(dir, 'modules', 'unused.bicep'), level: 'Error', code: 'no-unused-params' }),
        expect.objectContaining({ file: path.join(dir, 'broken.bicepparam'), level: 'Error' }),
      ]),
    );
  });

  it('fails on compiler warnings too, which bicepconfig.json cannot raise', async () => {
    const file = path.join(dir, 'untyped.bicep');
    await writeFile(file, "@description('Required. Region.')\nparam location string\nresource r 'Microsoft.Example/unknowns@2020-01-01' = {\n  name: 'x'\n  location: location\n}\n");
    const r = await cli.runBicep(['lint', file]);
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => `${d.level} ${d.code}`)).toContain('Warning BCP081');
  });

  it('keeps the warning-level rules of the Bicep linter at error in bicepconfig.json', async () => {
    const config = JSON.parse(await readFile(path.join(bicepDir, 'bicepconfig.json'), 'utf8')) as {
      analyzers: { core: { enabled: boolean; rules: Record<string, { level: string }> } };
    };
    expect(config.analyzers.core.enabled).toBe(true);
    const rules = config.analyzers.core.rules;
    for (const rule of [
      'no-unused-params',
      'no-unused-vars',
      'outputs-should-not-contain-secrets',
      'secure-parameter-default',
      'secure-secrets-in-params',
      'no-hardcoded-env-urls',
      'use-resource-symbol-reference',
      'use-secure-value-for-secure-inputs',
      'what-if-short-circuiting',
    ]) {
      expect(rules[rule]?.level, rule).toBe('error');
    }
  });
});
