// Summarize bench.sh results (JSON files) into markdown tables. Usage: node summarize.cjs <results-dir>
'use strict';
const fs = require('fs');
const path = require('path');
const dir = process.argv[2] || '.';
const runs = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (xs, d = 0) => {
  const m = med(xs).toFixed(d);
  return xs.length > 1 ? `${m} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})` : m;
};
const groups = {};
for (const r of runs) (groups[r.label.replace(/-r\d+$/, '')] ||= []).push(r);

const burst = Object.entries(groups).filter(([, rs]) => rs[0].mode === 'burst').sort(([a, ra], [b, rb]) => a[0].localeCompare(b[0]) || ra[0].alerts - rb[0].alerts);
console.log('### Burst runs (median, range over repetitions in parentheses)\n');
console.log('| case | alerts | notifications delivered | reps | POST phase ms | first notif. ms | wall ms (first POST → last notif.) | notifications/s | AM CPU ms | AM CPU ms / notif. | AM CPU % of wall | AM peak RSS (VmHWM) MiB | AM idle CPU % afterwards (groups re-ticking) | receiver max open conns |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [k, rs] of burst) {
  const f = (g, d) => fmt(rs.map(g), d);
  console.log(`| ${k} | ${rs[0].alerts} | ${rs.map((r) => `${r.received}/${r.expected}`).join(', ')} | ${rs.length} | ${f((r) => r.postPhaseMs)} | ${f((r) => r.firstNotificationMs)} | ${f((r) => r.wallMs)} | ${f((r) => r.notificationsPerS)} | ${f((r) => r.amCpuMs)} | ${f((r) => r.amCpuMsPerNotification, 3)} | ${f((r) => r.amCpuPctOfWall)} | ${f((r) => r.amVmHWMMiB, 1)} | ${rs[0].idle ? f((r) => r.idle.amCpuPct, 1) : '–'} | ${f((r) => r.receiverMaxOpenSockets)} |`);
}
const slow = Object.entries(groups).filter(([, rs]) => rs[0].mode === 'slow').sort(([a], [b]) => a.localeCompare(b));
console.log('\n### Slow runs: per-alert latency, POST start → receiver arrival (ms)\n');
console.log('| case | alerts @ rate | path | received | min | p50 | p90 | p99 | max | AM CPU ms | AM VmHWM MiB |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [k, rs] of slow) for (const r of rs) for (const [p, v] of Object.entries(r.perPath)) {
  console.log(`| ${k} | ${r.alerts} @ ${r.rate}/s | ${p} | ${v.unique}/${r.alerts} | ${v.latMs.min} | ${v.latMs.p50} | ${v.latMs.p90} | ${v.latMs.p99} | ${v.latMs.max} | ${r.amCpuMs} | ${r.amVmHWMMiB} |`);
}
