// The kit beside Prometheus Alertmanager on the same work and the same loopback sink
// (bench/alertmanager/receiver.cjs): N new incidents, each rendered with templates and sent to two chat
// webhooks (the kit: its shipped Teams card, to two Teams webhooks; Alertmanager: config B, templated Slack +
// Discord). For each side: sends/s (first input → last arrival), CPU ms per send, peak RSS, and what the
// sink saw per incident (lost, duplicates). Alertmanager runs only when `prometheus-alertmanager` is
// installed; otherwise the table says so.
//
//   node bench/kit-vs-alertmanager.mjs            (REPS=3 NS="1000 10000"; writes JSON to stdout)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HERE = join(root, 'bench');
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** N first-sight Sentinel trigger bodies, owner Defender Experts: one playbook run, two sends each */
export function benchEvents(n) {
  const sample = JSON.parse(readFileSync(join(root, 'samples/defender-experts-day.jsonl'), 'utf8').split('\n')[0]);
  const lines = [];
  for (let i = 0; i < n; i++) {
    const e = structuredClone(sample);
    const name = `0b7d0c1e-3101-4c7d-9e10-${String(i).padStart(12, '0')}`;
    e.eventUniqueId = `6f2c8d1e-5a3b-4c7d-9e10-${String(i).padStart(12, '0')}`;
    e.object.id = e.object.id.replace(sample.object.name, name);
    e.object.name = name;
    e.object.properties.incidentNumber = 100000 + i;
    // the kit keys an incident by its Defender XDR id, so the push and the Graph poll meet on one key
    e.object.properties.providerIncidentId = String(100000 + i);
    e.object.properties.additionalData.providerIncidentUrl = `https://security.microsoft.com/incidents/${100000 + i}`;
    e.object.properties.owner.assignedTo = 'Defender Experts';
    lines.push(JSON.stringify(e));
  }
  return `${lines.join('\n')}\n`;
}

/** a playbooks folder: the shipped Teams template, two Teams webhook receivers on the sink */
function benchConfig(dir) {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  for (const t of ['teams', 'partials']) cpSync(join(root, 'playbooks/templates', t), join(dir, 'templates', t), { recursive: true });
  cpSync(join(root, 'playbooks/exclusions.yaml'), join(dir, 'exclusions.yaml'));
  writeFileSync(
    join(dir, 'receivers.yaml'),
    // two Teams channels, not Teams + Slack: the kit holds Slack to Slack's one message per second per
    // channel, which a throughput bench would only measure as a sleep
    'receivers:\n  bench-teams:\n    kind: teams\n    webhookUrl: env:BENCH_TEAMS_URL\n  bench-teams-b:\n    kind: teams\n    webhookUrl: env:BENCH_TEAMS_B_URL\n',
  );
  writeFileSync(join(dir, 'owner-defender-experts.yaml'), 'on:\n  ownerChangedTo: Defender Experts\nsteps:\n  - notify: [bench-teams, bench-teams-b]\n    template: incident-change\n');
}

/** a control call to the sink, on a connection of its own (no keep-alive socket left to race its close) */
function http(url, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(method === 'GET' ? JSON.parse(text) : text);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function startSink(port) {
  const child = spawn(process.execPath, [join(HERE, 'alertmanager/receiver.cjs')], { env: { ...process.env, RECV_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try {
      await http(`http://127.0.0.1:${port}/stats`);
      return child;
    } catch {
      await sleep(50);
    }
  }
  child.kill();
  throw new Error('the sink did not start');
}

/** what the sink saw, per path: sends, incidents reached, duplicates, and the last arrival */
function completeness(stats, n) {
  const perPath = {};
  for (const [path, arrivals] of Object.entries(stats.arrivals ?? {})) {
    let dups = 0;
    for (const ts of Object.values(arrivals)) dups += ts.length - 1;
    perPath[path] = { count: stats.perPath[path].count, unique: Object.keys(arrivals).length, dups, lost: n - Object.keys(arrivals).length };
  }
  return perPath;
}

async function runKit(n, eventsFile, configDir, port) {
  await http(`http://127.0.0.1:${port}/reset`, 'POST');
  const work = mkdtempSync(join(tmpdir(), 'spk-bench-kit-'));
  const usageFile = join(work, 'usage.json');
  const t0 = now();
  const r = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(join(HERE, 'usage.mjs')).href, join(root, 'dist/cli/spk.js'), 'simulate', '--events', eventsFile, '--memory', '--config', configDir, '--out', join(work, 'outbox'), '--json'],
    {
      cwd: work,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      env: { ...process.env, SPK_BENCH_USAGE: usageFile, BENCH_TEAMS_URL: `http://127.0.0.1:${port}/teams`, BENCH_TEAMS_B_URL: `http://127.0.0.1:${port}/chat` },
    },
  );
  const tExit = now();
  if (r.status !== 0) throw new Error(`spk simulate exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8'));
  const stats = await http(`http://127.0.0.1:${port}/stats?arrivals=1`);
  const perPath = completeness(stats, n);
  const sends = Object.values(perPath).reduce((a, p) => a + p.count, 0);
  const last = Math.max(...Object.values(stats.perPath).map((p) => p.last));
  const wallMs = Math.min(last, tExit) - t0;
  rmSync(work, { recursive: true, force: true });
  return {
    side: 'kit',
    n,
    sends,
    expected: 2 * n,
    wallMs: Math.round(wallMs),
    sendsPerS: Math.round(sends / (wallMs / 1000)),
    cpuMsPerSend: Math.round((usage.cpuMs / sends) * 1000) / 1000,
    peakRssMiB: Math.round(usage.maxRssMiB),
    lost: Math.max(...['/teams', '/chat'].map((p) => perPath[p]?.lost ?? n)),
    duplicates: Object.values(perPath).reduce((a, p) => a + p.dups, 0),
    perPath,
  };
}

function alertmanagerBinary() {
  const r = spawnSync('sh', ['-c', 'command -v prometheus-alertmanager || command -v alertmanager'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function runAlertmanager(reps, ns) {
  const work = mkdtempSync(join(tmpdir(), 'spk-bench-am-'));
  const r = spawnSync('bash', [join(HERE, 'alertmanager/bench.sh')], {
    encoding: 'utf8',
    env: { ...process.env, WORK: work, REPS: String(reps), NS: ns.join(' '), SLOW_N: '0', IDLE: '0', CASES: 'B' },
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`bench/alertmanager/bench.sh failed: ${r.stdout.slice(-2000)} ${r.stderr.slice(-2000)}`);
  const dir = join(work, 'results');
  const version = readFileSync(join(dir, 'version.txt'), 'utf8').trim();
  const results = spawnSync('sh', ['-c', `ls ${dir}/*.json`], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
    .map((f) => JSON.parse(readFileSync(f, 'utf8')));
  rmSync(work, { recursive: true, force: true });
  return { version, results };
}

export async function kitVsAlertmanager({ reps = 3, ns = [1000, 10000], port = 19095, alertmanager = true } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'spk-bench-side-'));
  const configDir = join(work, 'playbooks');
  benchConfig(configDir);
  const sink = await startSink(port);
  const kit = [];
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const n of ns) {
        const eventsFile = join(work, `events-${n}.jsonl`);
        if (!existsSync(eventsFile)) writeFileSync(eventsFile, benchEvents(n));
        kit.push(await runKit(n, eventsFile, configDir, port));
      }
    }
  } finally {
    sink.kill();
    rmSync(work, { recursive: true, force: true });
  }
  const bin = alertmanager ? alertmanagerBinary() : null;
  let am = null;
  if (bin) {
    const { version, results } = runAlertmanager(reps, ns);
    am = {
      version,
      runs: results
        .filter((x) => x.mode === 'burst' && x.label.startsWith('B-'))
        .map((x) => ({
          side: 'alertmanager',
          n: x.alerts,
          sends: x.received,
          expected: x.expected,
          wallMs: Math.round(x.wallMs),
          sendsPerS: x.notificationsPerS,
          cpuMsPerSend: x.amCpuMsPerNotification,
          peakRssMiB: Math.round(x.amVmHWMMiB),
          lost: Math.max(...Object.values(x.perPath).map((p) => x.alerts - p.unique)),
          duplicates: Object.values(x.perPath).reduce((a, p) => a + p.dups, 0),
        })),
    };
  }
  return { kit, alertmanager: am, alertmanagerMissing: bin === null };
}

/** the BENCHMARKS.md section */
export function sideBySideMarkdown(result, reps, ns) {
  const rows = [];
  const range = (xs, d = 0) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  const groups = (runs) => ns.map((n) => [n, runs.filter((r) => r.n === n)]).filter(([, rs]) => rs.length > 0);
  const line = (label, n, rs) =>
    `| ${label} | ${n} | ${rs.map((r) => `${r.sends}/${r.expected}`).join(', ')} | ${range(rs.map((r) => r.sendsPerS))} | ${range(rs.map((r) => r.cpuMsPerSend), 3)} | ${range(rs.map((r) => r.peakRssMiB))} | ${Math.max(...rs.map((r) => r.lost))} | ${Math.max(...rs.map((r) => r.duplicates))} |`;
  for (const [n, rs] of groups(result.kit)) rows.push(line('the kit: `spk simulate --memory`, two shipped Teams cards per incident', n, rs));
  if (result.alertmanager) for (const [n, rs] of groups(result.alertmanager.runs)) rows.push(line(`${result.alertmanager.version.split(' ').slice(0, 3).join(' ')}: config B, templated Slack + Discord`, n, rs));
  const ratios = [];
  if (result.alertmanager) {
    for (const n of ns) {
      const k = result.kit.filter((r) => r.n === n);
      const a = result.alertmanager.runs.filter((r) => r.n === n);
      if (k.length && a.length) {
        ratios.push(
          `- ${n} incidents: the kit sends ${(median(k.map((r) => r.sendsPerS)) / median(a.map((r) => r.sendsPerS))).toFixed(2)}× Alertmanager's rate (target ≥ 2×), at ${(median(k.map((r) => r.cpuMsPerSend)) / median(a.map((r) => r.cpuMsPerSend))).toFixed(2)}× its CPU per send (target ≤ 0.6 ms per send).`,
        );
      }
    }
  }
  return `## The kit beside Alertmanager: templated sends to the same loopback sink

\`node bench/kit-vs-alertmanager.mjs\` (from \`npm run bench\`): N new incidents, each sent to two chat webhooks
on one loopback sink (\`bench/alertmanager/receiver.cjs\`, from the anchor harness). The kit reads a
JSON-lines file of Sentinel trigger bodies in one \`spk simulate --memory\` process (start-up included);
Alertmanager gets the same number of alerts by \`POST /api/v2/alerts\` in batches of 100 (\`bench/alertmanager/\`,
config B). sends/s = sends ÷ (first input → last arrival); CPU and peak RSS are the sender's own process.
Medians of ${reps} runs, range in parentheses; lost and duplicates are the worst run, counted by the sink per
incident and path.

| sender | incidents | sends arrived | sends/s | CPU ms per send | peak RSS MiB | lost | duplicates |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${result.alertmanagerMissing ? '**Alertmanager is not installed on this machine** (`apt-get install prometheus-alertmanager`), so it was not run and there is no ratio.' : ratios.join('\n')}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const reps = Number(process.env.REPS ?? 3);
  const ns = (process.env.NS ?? '1000 10000').split(/\s+/).filter(Boolean).map(Number);
  const result = await kitVsAlertmanager({ reps, ns });
  console.log(JSON.stringify(result, null, 2));
  console.log(sideBySideMarkdown(result, reps, ns));
}
