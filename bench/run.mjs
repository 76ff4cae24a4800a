// npm run bench: cold module-load time of the bundled Function App (dist/) against the unbundled code
// (tsc output in build/, loading node_modules file by file), and the pipeline's throughput on the sample
// day. Results go to BENCHMARKS.md. Each load is measured in a fresh node process.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (!existsSync(join(root, 'dist/app/dispatch.js'))) throw new Error('dist/app/dispatch.js missing: run npm run build');

function loadTimeMs(file) {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); const t1 = performance.now(); process.stdout.write(String(t1 - t0));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
  if (r.status !== 0) throw new Error(`loading ${file} failed: ${r.stderr}`);
  return Number(r.stdout.trim().split('\n').pop());
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0] };
}

const rows = [];
for (const name of ['dispatch', 'deliver', 'health']) {
  const bundled = [];
  const unbundled = [];
  for (let i = 0; i < RUNS; i++) {
    bundled.push(loadTimeMs(join(root, `dist/app/${name}.js`)));
    unbundled.push(loadTimeMs(join(root, `build/functions/app/${name}.js`)));
  }
  rows.push({ name, bundled: stats(bundled), unbundled: stats(unbundled) });
}

// pipeline throughput: the sample day, in-memory state, outbox in a temp dir
const out = mkdtempSync(join(tmpdir(), 'spk-bench-'));
const t0 = performance.now();
const sim = spawnSync(process.execPath, [join(root, 'dist/cli/spk.js'), 'simulate', '--events', 'samples/defender-experts-day.jsonl', '--memory', '--json', '--out', out, '--state', join(out, 'state'), '--repeat', '5'], { cwd: root, encoding: 'utf8' });
const wall = performance.now() - t0;
if (sim.status !== 0) throw new Error(`simulate failed: ${sim.stderr}`);
const report = JSON.parse(sim.stdout);
const deliveries = report.summary.deliveries;

const fmt = (n) => n.toFixed(1);
const md = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}).
Numbers are wall-clock on a shared machine: compare rows of one run, not runs of different days.

## Cold module load of the Function App entry points (${RUNS} fresh processes each)

Bundled = \`dist/app/<name>.js\` from esbuild (what is deployed); unbundled = \`tsc\` output in \`build/\`
loading every dependency from node_modules.

| entry point | bundled median (ms) | bundled p90 | unbundled median (ms) | unbundled p90 | speed-up |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r.name} | ${fmt(r.bundled.median)} | ${fmt(r.bundled.p90)} | ${fmt(r.unbundled.median)} | ${fmt(r.unbundled.p90)} | ${(r.unbundled.median / r.bundled.median).toFixed(2)}× |`).join('\n')}

## Pipeline on the sample day (in-memory state, outbox on disk)

\`spk simulate --memory --repeat 5\` over \`samples/defender-experts-day.jsonl\` (${report.summary.events} events,
${deliveries} deliveries including the replays' skipped duplicates), one process including start-up:
**${fmt(wall)} ms** wall, ${fmt((deliveries / wall) * 1000)} deliveries/s.
`;
writeFileSync(join(root, 'BENCHMARKS.md'), md);
console.log(md);
