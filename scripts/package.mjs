#!/usr/bin/env node
/**
 * `npm run package`: builds the Function App (node scripts/build.mjs) and writes dist/function-app.zip, the
 * package `az functionapp deployment source config-zip` (Flex Consumption: one deploy) takes:
 *
 *   host.json
 *   package.json        name, version, type: module, main: dist/app/*.js, no dependencies (the bundle has them)
 *   dist/app/**         the esbuild bundles of the entry points
 *   playbooks/**        playbooks, receivers and templates, read at run time
 *
 * The zip is written with node:zlib alone (deflateRaw + crc32), with fixed timestamps and sorted entries,
 * so the same inputs give the same bytes.
 *
 * Before zipping, the built CLI checks the playbooks as the Function App will run them
 * (`spk validate --deploy`): a config it rejects is never packaged, so a broken template or a receiver that
 * would only pretend to deliver cannot reach Azure.
 *
 *   node scripts/package.mjs [--out FILE] [--no-build]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// 1980-01-01 00:00, the earliest DOS date: a fixed stamp keeps the archive reproducible
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/**
 * A zip archive of the given files (PKWARE APPNOTE 6.3: local headers, data, central directory, end record).
 * @param {{ name: string; data: Buffer; mode?: number }[]} files
 * @returns {Buffer}
 */
export function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const deflated = deflateRawSync(f.data, { level: 9 });
    // tiny or incompressible files are smaller stored than deflated
    const stored = deflated.length >= f.data.length;
    const body = stored ? f.data : deflated;
    const method = stored ? 0 : 8;
    const crc = crc32(f.data);
    const flags = 0x0800; // names are UTF-8

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the external attributes carry permissions
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE((((f.mode ?? 0o644) | 0o100000) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + body.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  if (files.length > 0xffff || offset > 0xffffffff) throw new Error('package too large for a zip without ZIP64');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

function filesUnder(root, rel) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const p = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) out.push(p);
    }
  };
  walk(rel);
  return out;
}

/** runs the built `spk validate --deploy` on the playbooks and rules that would be packaged; throws when it fails */
function validateForDeployment(root) {
  const cli = path.join(root, 'dist', 'cli', 'spk.js');
  if (!existsSync(cli)) throw new Error('dist/cli/spk.js is missing: node scripts/build.mjs must build the CLI, which validates the config before packaging');
  const r = spawnSync(process.execPath, [cli, 'validate', '--deploy', '--config', 'playbooks', '--rules', 'rules'], { cwd: root, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const said = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim() || r.error?.message || `exit ${r.status}`;
    throw new Error(`spk validate --deploy rejected the config, so nothing was packaged:\n${said}`);
  }
}

/**
 * Builds (unless build is false) and writes the package; returns its path and entry names.
 * @param {{ root?: string; out?: string; build?: boolean }} [options]
 */
export function packageFunctionApp(options = {}) {
  const root = options.root ?? projectRoot;
  const out = path.resolve(root, options.out ?? path.join('dist', 'function-app.zip'));
  if (options.build !== false) {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.error || r.status !== 0) throw new Error(`node scripts/build.mjs failed (exit ${r.status ?? r.error?.message}); fix the build first`);
  }
  const appDir = path.join(root, 'dist', 'app');
  if (!existsSync(appDir) || !readdirSync(appDir).some((f) => f.endsWith('.js'))) {
    throw new Error(
      `${path.relative(root, appDir) || appDir} has no bundled entry points: node scripts/build.mjs must write dist/app/*.js before packaging`,
    );
  }
  try {
    validateForDeployment(root);
  } catch (e) {
    // a zip from an earlier run must not be deployed by the next command as if it were this config
    rmSync(out, { force: true });
    throw e;
  }
  for (const required of ['host.json', 'package.json']) {
    if (!existsSync(path.join(root, required))) throw new Error(`${required} is missing: the package needs it`);
  }
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // the bundle carries every dependency, so the deployed app installs nothing
  const deployedPackage = { name: pkg.name, version: pkg.version, type: 'module', main: 'dist/app/*.js', dependencies: {} };

  const names = ['host.json', ...filesUnder(root, 'dist/app'), ...(existsSync(path.join(root, 'playbooks')) ? filesUnder(root, 'playbooks') : [])];
  const files = names.map((name) => ({ name, data: readFileSync(path.join(root, name)), mode: statSync(path.join(root, name)).mode & 0o777 }));
  files.push({ name: 'package.json', data: Buffer.from(`${JSON.stringify(deployedPackage, null, 2)}\n`), mode: 0o644 });
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  mkdirSync(path.dirname(out), { recursive: true });
  const archive = zip(files);
  writeFileSync(out, archive);
  return { path: out, entries: files.map((f) => f.name), bytes: archive.length };
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  try {
    const result = packageFunctionApp({
      ...(outIndex >= 0 && args[outIndex + 1] ? { out: path.resolve(args[outIndex + 1]) } : {}),
      build: !args.includes('--no-build'),
    });
    console.log(`wrote ${path.relative(process.cwd(), result.path)} (${result.entries.length} files, ${result.bytes} bytes)`);
    console.log('deploy: az functionapp deployment source config-zip -g <resource group> -n <function app> --src dist/function-app.zip');
  } catch (e) {
    console.error(`npm run package: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
