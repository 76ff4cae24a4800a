/**
 * The real Bicep CLI on every template: lint and build must be free of diagnostics (warnings included),
 * and the committed bicep/azuredeploy.json must be what main.bicep compiles to. No CLI is a failure, not a skip.
 *
 * Each CLI run is a fixture made in a hook, and the tests only read its result: a run is a cold .NET start
 * plus a compile, several CPU-seconds that stretch without bound when the rest of the suite shares the two
 * cores, so it belongs to setup (like fetching the CLI) rather than under a test's time limit. One run
 * per question, none repeated: the build of every file also yields main.bicep's template.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bicepCli, bicepDir, compiledTemplatePath, projectRoot, withoutGenerator, type BicepCli } from './arm.js';

const cli: BicepCli = await bicepCli();
const files = cli.bicepFiles();
type Run = Awaited<ReturnType<BicepCli['runBicep']>>;
let version = '';
let lint: Run;
let build: Run;
let buildParams: Run;
const out = await mkdtemp(path.join(os.tmpdir(), 'spk-bicep-build-'));

beforeAll(async () => {
  // the first run may fetch the pinned CLI with dotnet restore
  version = (await cli.findBicep()).version;
});
beforeAll(async () => {
  lint = await cli.lintAll(bicepDir);
});
beforeAll(async () => {
  build = await cli.buildAll(out, bicepDir);
});
beforeAll(async () => {
  buildParams = await cli.runBicep(['build-params', path.join(bicepDir, 'main.bicepparam'), '--stdout']);
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
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

  it('lints every .bicep and .bicepparam file under bicep/ with no diagnostics', () => {
    expect(lint.diagnostics, lint.stderr).toEqual([]);
    expect(lint.status, lint.stderr).toBe(0);
  });

  it('builds every .bicep file, each module on its own too, with no diagnostics', async () => {
    expect(build.diagnostics, build.stderr).toEqual([]);
    expect(build.status, build.stderr).toBe(0);
    const templates = files.filter((f) => f.endsWith('.bicep'));
    expect(templates.length).toBeGreaterThanOrEqual(9);
    for (const f of templates) {
      const compiled = path.join(out, path.relative(bicepDir, f)).replace(/\.bicep$/, '.json');
      const json = JSON.parse(await readFile(compiled, 'utf8')) as { $schema?: string };
      expect(json.$schema, compiled).toMatch(/deploymentTemplate\.json#$/);
    }
  });

  it('builds main.bicep with no diagnostics to the committed azuredeploy.json (ignoring metadata._generator)', async () => {
    expect(build.ok, build.stderr).toBe(true);
    const fresh = JSON.parse(await readFile(path.join(out, 'main.json'), 'utf8')) as unknown;
    const committed = JSON.parse(await readFile(compiledTemplatePath, 'utf8')) as unknown;
    expect(
      withoutGenerator(committed),
      'bicep/azuredeploy.json is stale: run `node scripts/bicep.mjs build` and commit the result',
    ).toEqual(withoutGenerator(fresh));
  });

  it('builds main.bicepparam into deployment parameters', () => {
    expect(buildParams.ok, buildParams.stderr).toBe(true);
    const params = JSON.parse((JSON.parse(buildParams.stdout) as { parametersJson: string }).parametersJson) as { parameters: Record<string, { value: unknown }> };
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
  let untypedDir = '';
  let gate: Run;
  let untyped: Run;
  const untypedFile = () => path.join(untypedDir, 'untyped.bicep');
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spk-bicep-gate-'));
    await copyFile(path.join(bicepDir, 'bicepconfig.json'), path.join(dir, 'bicepconfig.json'));
    await mkdir(path.join(dir, 'modules'));
    await writeFile(path.join(dir, 'modules', 'unused.bicep'), "@description('Required. Never used.')\nparam unused string\n");
    await writeFile(path.join(dir, 'broken.bicepparam'), "using 'missing.bicep'\n");
    // in a folder of its own, so the gate's pattern run sees only the two files it is about
    untypedDir = await mkdtemp(path.join(os.tmpdir(), 'spk-bicep-untyped-'));
    await copyFile(path.join(bicepDir, 'bicepconfig.json'), path.join(untypedDir, 'bicepconfig.json'));
    await writeFile(untypedFile(), "@description('Required. Region.')\nparam location string\nresource r 'Microsoft.Example/unknowns@2020-01-01' = {\n  name: 'x'\n  location: location\n}\n");
  });
  beforeAll(async () => {
    gate = await cli.lintAll(dir);
  });
  beforeAll(async () => {
    untyped = await cli.runBicep(['lint', untypedFile()]);
  });
  afterAll(async () => {
    for (const d of [dir, untypedDir]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('reaches nested .bicep files and .bicepparam files, and makes default-warning linter rules errors', () => {
    const r = gate;
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: path.join(dir, 'modules', 'unused.bicep'), level: 'Error', code: 'no-unused-params' }),
        expect.objectContaining({ file: path.join(dir, 'broken.bicepparam'), level: 'Error' }),
      ]),
    );
  });

  it('fails on compiler warnings too, which bicepconfig.json cannot raise', () => {
    const r = untyped;
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
