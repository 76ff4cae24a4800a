// Tiny loopback HTTP sink for Alertmanager notifications (copied from the anchor harness; the kit's
// markers added to INC_RE), shared by both sides of bench/kit-vs-alertmanager.mjs.
// - Counts POSTs per path, records arrival timestamps (epoch ms, sub-ms precision).
// - Extracts the alert's incident number from each body (webhook JSON label
//   "incident":"<i>" or the "INC#<i>" marker that the chat templates print)
//   so the load script can compute per-alert latency and check completeness.
// - Replies 200 immediately (body "ok", which Slack-style clients accept).
// Control endpoints: GET /stats (JSON), POST /reset.
'use strict';
const http = require('http');
const { performance } = require('perf_hooks');

const HOST = process.env.RECV_HOST || '127.0.0.1';
const PORT = Number(process.env.RECV_PORT || 19094);
const now = () => performance.timeOrigin + performance.now();

let st;
let openSockets = 0;
function reset() {
  st = {
    perPath: {},            // path -> {count, first, last, bytes}
    arrivals: {},           // path -> { incident: [t1, t2...] }
    unparsed: 0,
    samples: {},            // path -> first body seen (truncated)
    maxOpenSockets: openSockets,
    newConnections: 0,
    cpu0: process.cpuUsage(),
  };
}
reset();

// the kit's shipped Teams card ("Incident" fact) and Slack blocks ("*Incident*\n<n>") name the number too
const INC_RE = /"incident"\s*:\s*"(\d+)"|INC#(\d+)|"title"\s*:\s*"Incident"\s*,\s*"value"\s*:\s*"(\d+)"|\*Incident\*\\n(\d+)/;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/stats')) {
    const cpu = process.cpuUsage(st.cpu0);
    const out = {
      perPath: st.perPath,
      unparsed: st.unparsed,
      maxOpenSockets: st.maxOpenSockets,
      newConnections: st.newConnections,
      receiverCpuMs: (cpu.user + cpu.system) / 1000,
    };
    if (req.url.includes('arrivals=1')) out.arrivals = st.arrivals;
    if (req.url.includes('samples=1')) out.samples = st.samples;
    const body = JSON.stringify(out);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    req.resume();
    req.on('end', () => { reset(); res.end('reset'); });
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const t = now();
    const path = req.url.split('?')[0];
    const body = Buffer.concat(chunks).toString('utf8');
    let p = st.perPath[path];
    if (!p) {
      p = st.perPath[path] = { count: 0, first: t, last: t, bytes: 0 };
      st.arrivals[path] = {};
      st.samples[path] = body.slice(0, 4000);
    }
    p.count++; p.last = t; p.bytes += body.length;
    const m = INC_RE.exec(body);
    if (m) {
      const inc = m[1] || m[2] || m[3] || m[4];
      (st.arrivals[path][inc] ||= []).push(t);
    } else {
      st.unparsed++;
      if (st.unparsed <= 3) console.error('unparsed body on', path, body.slice(0, 300));
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  });
});
server.keepAliveTimeout = 30000;
server.on('connection', (sock) => {
  st.newConnections++;
  openSockets++;
  if (openSockets > st.maxOpenSockets) st.maxOpenSockets = openSockets;
  sock.on('close', () => { openSockets--; });
});
// Large accept backlog so a burst of new connections is not dropped (capped by net.core.somaxconn).
server.listen(PORT, HOST, 4096, () => console.log(`receiver listening on http://${HOST}:${PORT} pid=${process.pid}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
