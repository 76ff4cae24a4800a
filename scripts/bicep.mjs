#!/usr/bin/env node
/**
 * Finds a real Bicep CLI, or fetches the pinned one from NuGet, and runs it with warnings treated as errors.
 *
 *   node scripts/bicep.mjs path                 print how the CLI is run and its version
 *   node scripts/bicep.mjs build [FILE...]      compile (default: bicep/main.bicep → bicep/azuredeploy.json)
 *   node scripts/bicep.mjs lint [FILE...]       lint (default: every .bicep and .bicepparam under bicep/)
 *
 * Order of preference: $SPK_BICEP (a path to a bicep binary), `bicep` on PATH, `az bicep`, then the NuGet
 * package Azure.Bicep.CommandLine.linux-x64 restored by `dotnet restore tools/bicep/bicep-tools.csproj` into
 * .tools/nuget (git-ignored). Having none of these is an error, never a silent skip: a template nobody compiled
 * is not a template anyone can trust.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const PINNED_BICEP_VERSION = '0.49.2';
const PACKAGE_ID = 'azure.bicep.commandline.linux-x64';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolsProject = path.join(projectRoot, 'tools', 'bicep', 'bicep-tools.csproj');
const nugetBinary = path.join(projectRoot, '.tools', 'nuget', PACKAGE_ID, PINNED_BICEP_VERSION, 'tools', 'bicep');

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
}

function versionOf(command, args) {
  const r = run(command, [...args, '--version']);
  if (r.error || r.status !== 0) return null;
  const m = /Bicep CLI version (\d+\.\d+\.\d+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1] : null;
}

function dotnetFramework() {
  const r = run('dotnet', ['--version']);
  if (r.error || r.status !== 0) return null;
  const major = /^(\d+)\./.exec(r.stdout.trim());
  return major ? `net${major[1]}.0` : null;
}

function restorePinned() {
  const framework = dotnetFramework();
  if (!framework) {
    throw new Error(
      'No Bicep CLI found: `bicep` is not on PATH, `az bicep` is not available, and `dotnet` (needed to fetch ' +
        `Azure.Bicep.CommandLine.linux-x64 ${PINNED_BICEP_VERSION} from NuGet) is not installed. ` +
        'Install one of them: https://learn.microsoft.com/azure/azure-resource-manager/bicep/install',
    );
  }
  // the SDK's own framework needs no targeting pack, so the restore downloads the Bicep package alone
  const r = run('dotnet', ['restore', toolsProject, `-p:TargetFramework=${framework}`, '--nologo'], { cwd: projectRoot });
  if (r.error || r.status !== 0) {
    throw new Error(
      `dotnet restore ${path.relative(projectRoot, toolsProject)} failed (exit ${r.status ?? r.error?.message}):\n${r.stdout}${r.stderr}`,
    );
  }
  if (!existsSync(nugetBinary)) {
    throw new Error(`dotnet restore succeeded but ${path.relative(projectRoot, nugetBinary)} is missing`);
  }
}

let cached;

/** @returns {Promise<{ command: string; args: string[]; version: string }>} */
export async function findBicep() {
  if (cached) return cached;
  const candidates = [];
  if (process.env.SPK_BICEP) candidates.push({ command: process.env.SPK_BICEP, args: [] });
  candidates.push({ command: 'bicep', args: [] });
  // `az bicep` is tried only when az exists: without it the spawn fails fast (ENOENT)
  candidates.push({ command: 'az', args: ['bicep'] });
  for (const c of candidates) {
    const version = versionOf(c.command, c.args);
    if (version) return (cached = { ...c, version });
  }
  if (!existsSync(nugetBinary)) restorePinned();
  // NuGet does not keep the executable bit on every platform
  if ((statSync(nugetBinary).mode & 0o111) === 0) chmodSync(nugetBinary, 0o755);
  const version = versionOf(nugetBinary, []);
  if (!version) throw new Error(`${nugetBinary} did not report a Bicep CLI version`);
  return (cached = { command: nugetBinary, args: [], version });
}

/**
 * Diagnostics as Bicep prints them: `file(line,col) : Warning rule: message`. Any of them fails the run,
 * because bicepconfig.json can only raise linter rules, not compiler warnings such as BCP081.
 */
export function parseDiagnostics(output) {
  const out = [];
  for (const line of output.split(/\r?\n/)) {
    const m = /^(.*)\((\d+),(\d+)\)\s*:\s*(Error|Warning|Info)\s+([^:]+):\s*(.*)$/.exec(line.trim());
    if (m) out.push({ file: m[1], line: Number(m[2]), column: Number(m[3]), level: m[4], code: m[5].trim(), message: m[6] });
  }
  return out;
}

/** Runs the CLI; `ok` is false on a non-zero exit or on any diagnostic, warnings included. */
export async function runBicep(args, options = {}) {
  const bicep = await findBicep();
  const r = run(bicep.command, [...bicep.args, ...args], { cwd: options.cwd ?? projectRoot });
  if (r.error) throw r.error;
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const diagnostics = parseDiagnostics(output);
  return { ok: r.status === 0 && diagnostics.length === 0, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', diagnostics };
}

/** Every template and parameter file under bicep/, in a stable order. */
export function bicepFiles(dir = path.join(projectRoot, 'bicep')) {
  const found = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(bicep|bicepparam)$/.test(entry.name)) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/**
 * Lints every .bicep and .bicepparam file under dir in one CLI run (each run pays the CLI's start-up).
 * A pattern that matches nothing passes silently, so test/bicep proves this one reaches nested files of both kinds.
 */
export async function lintAll(dir = path.join(projectRoot, 'bicep')) {
  return runBicep(['lint', '--pattern', '**/*.bicep*'], { cwd: dir });
}

/** Compiles every .bicep file under dir (each module on its own too) into outdir, in one CLI run. */
export async function buildAll(outdir, dir = path.join(projectRoot, 'bicep')) {
  return runBicep(['build', '--pattern', '**/*.bicep', '--outdir', outdir], { cwd: dir });
}

/** Compiles a template to JSON text (stdout), failing on any diagnostic. */
export async function buildToString(file) {
  const r = await runBicep(['build', file, '--stdout']);
  if (!r.ok) throw new Error(`bicep build ${file} failed:\n${r.stderr}${r.diagnostics.length ? '' : r.stdout}`);
  return r.stdout;
}

async function main(argv) {
  const [cmd, ...names] = argv;
  const rest = names.map((n) => path.resolve(n));
  if (cmd === 'path') {
    const b = await findBicep();
    console.log(`${[b.command, ...b.args].join(' ')} (Bicep CLI ${b.version})`);
    return 0;
  }
  if (cmd === 'build') {
    const files = rest.length ? rest : [path.join(projectRoot, 'bicep', 'main.bicep')];
    let failed = 0;
    for (const f of files) {
      const outfile = f.endsWith(path.join('bicep', 'main.bicep'))
        ? path.join(path.dirname(f), 'azuredeploy.json')
        : f.replace(/\.bicep$/, '.json');
      const r = await runBicep(f.endsWith('.bicepparam') ? ['build-params', f] : ['build', f, '--outfile', outfile]);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      if (!r.ok) failed++;
      else console.log(`built ${path.relative(process.cwd(), outfile)}`);
    }
    return failed ? 1 : 0;
  }
  if (cmd === 'lint') {
    if (rest.length === 0) {
      const r = await lintAll();
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      console.log(r.ok ? `${bicepFiles().length} file(s) under bicep/ lint clean` : `bicep lint found ${r.diagnostics.length} diagnostic(s)`);
      return r.ok ? 0 : 1;
    }
    const files = rest;
    let failed = 0;
    for (const f of files) {
      const r = await runBicep(['lint', f]);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      if (!r.ok) failed++;
    }
    console.log(failed ? `${failed} of ${files.length} file(s) have diagnostics` : `${files.length} file(s) lint clean`);
    return failed ? 1 : 0;
  }
  console.error('usage: node scripts/bicep.mjs path | build [FILE...] | lint [FILE...]');
  return 2;
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
