/**
 * `npm run package` (scripts/package.mjs) in a throw-away copy of the project with a stand-in build step,
 * so the test checks the packaging, not the lead's bundle. The zip is read back by an independent reader.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from './arm.js';

interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Reads a zip through its central directory, as unzip tools do, checking each entry's CRC. */
function readZip(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory header ${i}`);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extra = zip.readUInt16LE(p + 30);
    const comment = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataStart, dataStart + compressed);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    if (data.length !== size) throw new Error(`${name}: size ${data.length} != ${size}`);
    if (crc32(data) !== crc) throw new Error(`${name}: CRC mismatch`);
    entries.push({ name, data });
    p += 46 + nameLength + extra + comment;
  }
  return entries;
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A minimal project: the real package script, host.json and package.json, a stand-in build and playbooks. */
async function fakeProject(build: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spk-package-'));
  dirs.push(dir);
  await mkdir(path.join(dir, 'scripts'));
  await copyFile(path.join(projectRoot, 'scripts', 'package.mjs'), path.join(dir, 'scripts', 'package.mjs'));
  await writeFile(path.join(dir, 'scripts', 'build.mjs'), build);
  await writeFile(path.join(dir, 'host.json'), JSON.stringify({ version: '2.0', extensions: { http: { routePrefix: 'api' } } }));
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'sentinel-playbook-kit', version: '1.2.3', scripts: { test: 'vitest run' }, dependencies: { yaml: '^2.0.0' }, devDependencies: { vitest: '^4' } }),
  );
  await mkdir(path.join(dir, 'playbooks', 'templates', 'teams'), { recursive: true });
  await writeFile(path.join(dir, 'playbooks', 'receivers.yaml'), 'receivers: {}\n');
  await writeFile(path.join(dir, 'playbooks', 'templates', 'teams', 'incident-change.hbs'), '{{incident.title}}\n'.repeat(50));
  await mkdir(path.join(dir, 'functions'), { recursive: true });
  await writeFile(path.join(dir, 'functions', 'source.ts'), 'export {};\n');
  return dir;
}

const standInBuild = `
import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('dist/app/chunks', { recursive: true });
mkdirSync('dist/cli', { recursive: true });
writeFileSync('dist/app/dispatch.js', "import './chunks/shared.js';\\nexport const route = 'dispatch';\\n".repeat(20));
writeFileSync('dist/app/deliver.js', 'export const queue = "deliveries";\\n');
writeFileSync('dist/app/chunks/shared.js', 'export const shared = 1;\\n');
writeFileSync('dist/cli/spk.js', '#!/usr/bin/env node\\n');
`;

function runPackage(dir: string, ...args: string[]) {
  return spawnSync(process.execPath, [path.join(dir, 'scripts', 'package.mjs'), ...args], { cwd: dir, encoding: 'utf8' });
}

describe('npm run package', () => {
  it('builds, then zips host.json, a bundle-only package.json, dist/app/** and playbooks/**', async () => {
    const dir = await fakeProject(standInBuild);
    const r = runPackage(dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wrote dist\/function-app\.zip \(7 files, \d+ bytes\)/);
    expect(r.stdout).toContain('az functionapp deployment source config-zip');

    const entries = readZip(await readFile(path.join(dir, 'dist', 'function-app.zip')));
    expect(entries.map((e) => e.name)).toEqual([
      'dist/app/chunks/shared.js',
      'dist/app/deliver.js',
      'dist/app/dispatch.js',
      'host.json',
      'package.json',
      'playbooks/receivers.yaml',
      'playbooks/templates/teams/incident-change.hbs',
    ].sort());
    expect(entries).toHaveLength(7);
    const byName = new Map(entries.map((e) => [e.name, e.data]));
    expect(JSON.parse(byName.get('package.json')!.toString('utf8'))).toEqual({
      name: 'sentinel-playbook-kit',
      version: '1.2.3',
      type: 'module',
      main: 'dist/app/*.js',
      dependencies: {},
    });
    for (const name of ['host.json', 'dist/app/dispatch.js', 'playbooks/templates/teams/incident-change.hbs']) {
      expect(byName.get(name)?.equals(await readFile(path.join(dir, name))), name).toBe(true);
    }
  });

  it('writes the same bytes for the same inputs', async () => {
    const dir = await fakeProject(standInBuild);
    expect(runPackage(dir).status).toBe(0);
    const first = await readFile(path.join(dir, 'dist', 'function-app.zip'));
    expect(runPackage(dir, '--out', 'again.zip').status).toBe(0);
    expect((await readFile(path.join(dir, 'again.zip'))).equals(first)).toBe(true);
  });

  it('is a valid archive for an independent unzip, where one is installed', async () => {
    const probe = spawnSync('unzip', ['-v'], { encoding: 'utf8' });
    const dir = await fakeProject(standInBuild);
    expect(runPackage(dir).status).toBe(0);
    if (probe.error) {
      // no unzip on this machine: the central-directory reader above is the check
      expect(readZip(await readFile(path.join(dir, 'dist', 'function-app.zip')))).toHaveLength(7);
      return;
    }
    const t = spawnSync('unzip', ['-t', path.join(dir, 'dist', 'function-app.zip')], { encoding: 'utf8' });
    expect(t.status, t.stdout).toBe(0);
    expect(t.stdout).toContain('No errors detected');
  });

  it('fails with a clear message when the build leaves no dist/app', async () => {
    const dir = await fakeProject("console.log('built nothing');\n");
    const r = runPackage(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('dist/app has no bundled entry points: node scripts/build.mjs must write dist/app/*.js before packaging');
  });

  it('runs spk validate --deploy on the packaged playbooks first, refuses when it fails, and leaves no zip behind', async () => {
    const dir = await fakeProject(standInBuild);
    expect(runPackage(dir).status).toBe(0);
    expect(existsSync(path.join(dir, 'dist', 'function-app.zip'))).toBe(true);
    // a stand-in CLI that records how it was called and rejects the config the way spk validate does
    await writeFile(
      path.join(dir, 'dist', 'cli', 'spk.js'),
      `import { writeFileSync } from 'node:fs';
writeFileSync('validate-args.json', JSON.stringify(process.argv.slice(2)));
console.error('playbooks/receivers.yaml:7:3 receiver "soc-teams" has no endpoint');
process.exit(1);
`,
    );
    const r = runPackage(dir, '--no-build');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('spk validate --deploy rejected the config, so nothing was packaged');
    expect(r.stderr).toContain('playbooks/receivers.yaml:7:3 receiver "soc-teams" has no endpoint');
    expect(JSON.parse(await readFile(path.join(dir, 'validate-args.json'), 'utf8'))).toEqual(['validate', '--deploy', '--config', 'playbooks', '--rules', 'rules']);
    // the zip of the earlier, valid run is gone, so `az ... config-zip` cannot ship it as this config
    expect(existsSync(path.join(dir, 'dist', 'function-app.zip'))).toBe(false);
  });

  it('with the real CLI, refuses the shipped receivers until each has an endpoint or is marked dryRun', async () => {
    // the real build of the current sources (not a dist/ that may be older), in the throw-away copy
    const dir = await fakeProject('');
    await copyFile(path.join(projectRoot, 'scripts', 'build.mjs'), path.join(dir, 'scripts', 'build.mjs'));
    await rm(path.join(dir, 'functions'), { recursive: true });
    await symlink(path.join(projectRoot, 'functions'), path.join(dir, 'functions'));
    await symlink(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
    const pkg = path.join(dir, 'package.json');
    await writeFile(pkg, JSON.stringify({ ...JSON.parse(await readFile(pkg, 'utf8')), type: 'module' }));
    await rm(path.join(dir, 'playbooks'), { recursive: true });
    await cp(path.join(projectRoot, 'playbooks'), path.join(dir, 'playbooks'), { recursive: true });
    await cp(path.join(projectRoot, 'rules'), path.join(dir, 'rules'), { recursive: true });

    const refused = runPackage(dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/playbooks\/receivers\.yaml:\d+:\d+ receiver "soc-teams" has no endpoint/);
    expect(refused.stderr).toMatch(/receiver "soc-lead-call" has no endpoint.*give it an endpoint \(twilioAccountSid\) or mark it dryRun: true/);

    const receivers = path.join(dir, 'playbooks', 'receivers.yaml');
    await writeFile(receivers, (await readFile(receivers, 'utf8')).replace(/^( {4})kind: (\w+)$/gm, '$1kind: $2\n$1dryRun: true'));
    const accepted = runPackage(dir, '--no-build');
    expect(accepted.stderr).toBe('');
    expect(accepted.status).toBe(0);
    expect(readZip(await readFile(path.join(dir, 'dist', 'function-app.zip'))).map((e) => e.name)).toContain('playbooks/receivers.yaml');
  });

  it('stops when the build fails', async () => {
    const dir = await fakeProject('process.exit(3);\n');
    const r = runPackage(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('node scripts/build.mjs failed (exit 3)');
  });
});
