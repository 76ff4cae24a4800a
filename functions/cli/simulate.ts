/**
 * `spk simulate --events FILE.jsonl`: the whole pipeline (parse → diff against snapshots → playbooks →
 * render → deliver → ledger) over a file of events, with the outbox as the default receiver.
 */
import { parseArgs } from 'node:util';
import { resolve, relative, sep, dirname, basename, join, isAbsolute } from 'node:path';
import { access, constants, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { loadKitOrThrow } from '../config/load.js';
import { KitError } from '../core/errors.js';
import type { DeliveryOutcome, DeliveryStep } from '../core/delivery.js';
import { createJsonLogger, silentLogger } from '../core/log.js';
import { changeSummary } from '../core/detect-changes.js';
import { writePreviewPage } from '../connectors/outbox/index-page.js';
import { claimOutbox, emptyOutbox, firstForeignEntry, hasOutboxMarker, OUTBOX_MARKER, writeFailedDelivery } from '../connectors/outbox/outbox.js';
import { ingest, type IngestResult } from '../pipeline/ingest.js';
import { drainQueue } from '../pipeline/drain.js';
import { createRuntime } from '../pipeline/kit.js';
import { readEventsFile } from './events.js';
import { table, UsageError, type CliIo } from './io.js';
import { openState } from './state.js';

export interface SimulatedDelivery {
  receiver: string;
  channel: string;
  action: string;
  idempotencyKey: string;
  outbox: string | null;
  /** why it failed, for action "failed" */
  error?: string;
  /** the incident, on failed deliveries (the summary names it) */
  incidentKey?: string;
  incidentNumber?: number | null;
}

export interface SimulatedEvent {
  line: number;
  incidentKey: string | null;
  changes: Array<{ kind: string; from: string | null; to: string | null }>;
  playbooks: string[];
  deliveries: SimulatedDelivery[];
  error: string | null;
}

export interface SimulateReport {
  events: SimulatedEvent[];
  summary: {
    events: number;
    rejected: number;
    changes: number;
    deliveries: number;
    /** deliveries that failed for good (exit 3) */
    failed: number;
    byAction: Record<string, number>;
    byChannel: Record<string, number>;
    state: string;
    outbox: string;
  };
}

const HELP = `usage: spk simulate --events FILE.jsonl [--json] [--out DIR] [--fresh] [--config DIR] [--memory] [--state DIR] [--repeat N] [--verbose]

  --events FILE   JSON lines: raw Sentinel incident-trigger bodies and/or raw Graph security incidents
                  (blank lines and lines starting with // are skipped)
  --json          print one JSON object (events, deliveries, summary) instead of the progress lines
  --out DIR       outbox folder (default: outbox). spk marks a folder it writes with a ${OUTBOX_MARKER} file
                  and writes only into an empty folder or one that carries the marker; not the current
                  folder, a parent of it, or the config folder
  --fresh         start from empty state and an empty outbox: removes only what spk wrote there
                  (refuses if the outbox holds anything else, or has no ${OUTBOX_MARKER} marker)
  --config DIR    playbooks folder (default: playbooks)
  --memory        in-memory state instead of Azure Tables/Queues on Azurite (faster; forgets between runs)
  --state DIR     where the Azurite state lives (default: .spk-state)
  --repeat N      replay the file N times against the same state (the 2nd replay is all skipped-duplicate)
  --verbose       structured logs on stderr
  -h, --help      this help

A failed delivery is shown with its reason on its progress line, under "failed deliveries" in the
summary, and on the preview page (outbox/<receiver>/<incident>-<n>.failed.json).
exit: 0 ok, 1 configuration or input error (nothing run), 2 some lines were rejected,
      3 some deliveries failed (wins over 2), 64 usage error`;

/** exit codes, as documented in HELP and the README's CLI reference */
const EXIT_REJECTED = 2;
const EXIT_DELIVERY_FAILED = 3;

export async function simulateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: 'outbox' },
      config: { type: 'string', default: 'playbooks' },
      memory: { type: 'boolean', default: false },
      state: { type: 'string', default: '.spk-state' },
      fresh: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '1' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (!values.events) throw new UsageError(`--events FILE is required\n${HELP}`);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw new UsageError('--repeat takes a whole number from 1 to 100');

  const at = (p: string) => resolve(io.cwd, p);
  const show = (p: string) => relative(io.cwd, p).split(sep).join('/') || '.';
  const outboxDir = at(values.out!);
  const configDir = at(values.config!);
  const stateDir = at(values.state!);
  const eventsPath = at(values.events);
  const fresh = values.fresh!;
  const place = { cwd: io.cwd, configDir, outboxDir, eventsPath };

  // Everything that can refuse the run does so before anything is deleted, started or written.
  await checkOutboxDir(outboxDir, fresh, place);
  if (fresh) await checkStateDir(stateDir, place);
  const kit = await loadKitOrThrow(configDir, { cwd: io.cwd });
  const lines = await readEventsFile(eventsPath);
  for (const w of await eventsFileWarnings(eventsPath, lines.length, shown(eventsPath, io.cwd))) io.stderr(`warning: ${w}`);
  await prepareOutboxDir(outboxDir, fresh, io.cwd);

  const state = await openState({ memory: values.memory!, stateDir, fresh });
  const log = values.verbose ? createJsonLogger((l) => io.stderr(l)) : silentLogger;
  const runtime = createRuntime(kit, state.stores, { outboxDir, env: io.env, log });
  const events: SimulatedEvent[] = [];
  const stepsByKey = new Map<string, DeliveryStep>();
  const total = lines.length * repeat;
  let done = 0;
  try {
    for (let pass = 1; pass <= repeat; pass++) {
      for (const line of lines) {
        done++;
        const ev: SimulatedEvent = { line: line.line, incidentKey: null, changes: [], playbooks: [], deliveries: [], error: null };
        events.push(ev);
        if (line.error !== undefined) {
          ev.error = line.error;
        } else {
          let result: IngestResult | null = null;
          try {
            result = await ingest(line.raw, runtime.ingestDeps);
          } catch (e) {
            if (!(e instanceof KitError && e.kind === 'validation')) throw e;
            ev.error = e.message;
          }
          if (result) {
            ev.incidentKey = result.incidentKey;
            ev.changes = result.changes.map((c) => ({ kind: c.kind, from: c.from, to: c.to }));
            ev.playbooks = result.playbooks;
            for (const step of result.steps) stepsByKey.set(step.idempotencyKey, step);
            const outcomes: DeliveryOutcome[] = await drainQueue(runtime.deliveryDeps);
            for (const o of outcomes) {
              if (o.action === 'requeued') continue;
              const step = stepsByKey.get(o.idempotencyKey);
              const delivery: SimulatedDelivery = {
                receiver: o.receiver,
                channel: o.kind,
                action: o.action,
                idempotencyKey: o.idempotencyKey,
                outbox: o.outbox ? show(o.outbox) : null,
                ...(o.error ? { error: o.error } : {}),
              };
              if (o.action === 'failed') {
                delivery.error = o.error ?? 'failed without a reason';
                delivery.incidentKey = o.incidentKey ?? step?.incidentKey ?? result.incidentKey;
                delivery.incidentNumber = step?.incident.number ?? null;
                await recordFailure(outboxDir, delivery, step, io);
              }
              ev.deliveries.push(delivery);
            }
            if (!values.json) io.stdout(progressLine(done, total, ev, result));
          }
        }
        if (ev.error && !values.json) io.stdout(`[${done}/${total}] line ${ev.line}: rejected — ${ev.error}`);
      }
    }
  } finally {
    await state.close();
  }
  const page = await writePreviewPage(outboxDir);
  const report = summarise(events, state.description, show(page.path));
  if (values.json) io.stdout(JSON.stringify(report, null, 2));
  else io.stdout(humanSummary(report));
  if (report.summary.failed > 0) return EXIT_DELIVERY_FAILED;
  return report.summary.rejected > 0 ? EXIT_REJECTED : 0;
}

/** what a person reads for a path in a refusal: ./x inside the current folder, the absolute path outside */
function shown(p: string, cwd: string): string {
  const r = relative(cwd, p);
  if (r === '') return '.';
  if (r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) return p;
  return `./${r.split(sep).join('/')}`;
}

/** `inner` is `outer` or inside it */
function within(inner: string, outer: string): boolean {
  const r = relative(outer, inner);
  return r === '' || !(r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r));
}

/** the real path, through symbolic links, of a path that may not exist yet */
async function realish(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(await realish(parent), basename(p));
  }
}

function refuse(message: string): KitError {
  return new KitError(message, { kind: 'validation' });
}

interface Places {
  cwd: string;
  configDir: string;
  outboxDir: string;
  eventsPath: string;
}

async function checkOutboxDir(dir: string, fresh: boolean, places: Places): Promise<void> {
  const name = shown(dir, places.cwd);
  const [real, cwd, config] = await Promise.all([realish(dir), realish(places.cwd), realish(places.configDir)]);
  if (within(cwd, real)) {
    throw refuse(`refusing --out ${name}: it is ${real === cwd ? 'the current folder' : 'a parent of the current folder'}; give the outbox a folder of its own, e.g. --out outbox`);
  }
  if (within(config, real) || within(real, config)) {
    throw refuse(`refusing --out ${name}: it overlaps the config folder ${shown(places.configDir, places.cwd)}; give the outbox a folder of its own, e.g. --out outbox`);
  }
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw refuse(`cannot use --out ${name}: ${code ?? (e as Error).message}`);
    await checkCreatable(dir, name, places.cwd);
    return;
  }
  if (!isDir) throw refuse(`--out ${name} is a file, not a folder; choose a folder for the outbox`);
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw refuse(`cannot write to --out ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if ((await readdir(dir)).length === 0) return;
  if (!(await hasOutboxMarker(dir))) {
    throw refuse(
      `refusing to ${fresh ? 'empty' : 'write into'} ${name}: it was not written by spk (no ${OUTBOX_MARKER} marker); choose another --out or empty it yourself` +
        ' (an outbox written by an spk from before the marker has none either: delete it once)',
    );
  }
  if (fresh) {
    const foreign = await firstForeignEntry(dir);
    if (foreign) throw refuse(`refusing to empty ${name}: ${name}/${foreign} was not written by spk; move it out or choose another --out`);
  }
}

/** a missing --out: the nearest folder that exists must be a folder we may write in */
async function checkCreatable(dir: string, name: string, cwd: string): Promise<void> {
  for (let p = dirname(dir); ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) continue;
      throw refuse(`cannot create --out ${name}: ${code ?? (e as Error).message}`);
    }
    if (!isDir) throw refuse(`cannot create --out ${name}: ${shown(p, cwd)} is a file, not a folder`);
    try {
      await access(p, constants.W_OK | constants.X_OK);
    } catch (e) {
      throw refuse(`cannot create --out ${name}: ${shown(p, cwd)} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return;
  }
}

/** `--fresh` deletes the state folder whole, so it must not hold anything else that matters */
async function checkStateDir(dir: string, places: Places): Promise<void> {
  const name = shown(dir, places.cwd);
  const [real, cwd, config, outbox, events] = await Promise.all([dir, places.cwd, places.configDir, places.outboxDir, places.eventsPath].map(realish));
  const clash =
    within(cwd!, real!) ? (real === cwd ? 'the current folder' : 'a parent of the current folder')
    : within(config!, real!) ? `the config folder ${shown(places.configDir, places.cwd)} is inside it`
    : within(real!, config!) ? `it is inside the config folder ${shown(places.configDir, places.cwd)}`
    : within(outbox!, real!) ? `the outbox ${shown(places.outboxDir, places.cwd)} is inside it`
    : within(events!, real!) ? `the events file ${shown(places.eventsPath, places.cwd)} is inside it`
    : null;
  if (clash) throw refuse(`refusing --fresh with --state ${name}: --fresh deletes the state folder and ${clash}; give the state a folder of its own, e.g. --state .spk-state`);
}

async function prepareOutboxDir(dir: string, fresh: boolean, cwd: string): Promise<void> {
  try {
    if (fresh) await emptyOutbox(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    // The folder exists (and is marked) before the run, so the preview page can be written even when
    // no delivery writes a file.
    await claimOutbox(dir);
  } catch (e) {
    throw refuse(`cannot write the outbox ${shown(dir, cwd)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Warnings for an events file that will not do what its owner expects; the run goes on. */
export async function eventsFileWarnings(path: string, events: number, name: string): Promise<string[]> {
  const bytes = await readFile(path).catch(() => null);
  if (bytes && (bytes.includes(0) || !isUtf8(bytes))) {
    return [`${name} looks like a binary file (${bytes.includes(0) ? 'it has NUL bytes' : 'it is not UTF-8 text'}), not JSON lines; is it the events file you meant?`];
  }
  if (events === 0) return [`${name} has no events (it is empty, or only blank and // comment lines); nothing to simulate`];
  return [];
}

/** the preview page shows a failed delivery from a record in the outbox, with its reason */
async function recordFailure(outboxDir: string, d: SimulatedDelivery, step: DeliveryStep | undefined, io: CliIo): Promise<void> {
  try {
    await writeFailedDelivery(outboxDir, {
      receiver: d.receiver,
      channel: d.channel,
      incidentKey: d.incidentKey!,
      incidentNumber: d.incidentNumber ?? null,
      title: step?.incident.title ?? null,
      idempotencyKey: d.idempotencyKey,
      action: 'failed',
      error: d.error!,
      at: new Date().toISOString(),
    });
  } catch (e) {
    // The failure is still on the progress line, in the summary and in the exit code.
    io.stderr(`warning: could not record the failed delivery to ${d.receiver} in the outbox: ${(e as Error).message}`);
  }
}

function progressLine(done: number, total: number, ev: SimulatedEvent, result: IngestResult): string {
  const what = result.changes.length ? result.changes.map((c) => changeSummary(c)).join('; ') : result.stale ? 'stale event (older than what was seen)' : 'no notable change';
  const counts = new Map<string, number>();
  for (const d of ev.deliveries) counts.set(d.action, (counts.get(d.action) ?? 0) + 1);
  const failures = ev.deliveries.filter((d) => d.action === 'failed').map((d) => `${d.receiver}: ${d.error}`);
  const why = failures.length ? ` — failed: ${failures.join('; ')}` : '';
  const tail = ev.deliveries.length ? ` → ${ev.deliveries.length} deliveries (${[...counts].map(([a, n]) => `${n} ${a}`).join(', ')})${why}` : '';
  return `[${done}/${total}] line ${ev.line} incident ${ev.incidentKey}${result.replay ? ' (replay)' : ''}: ${what}${tail}`;
}

export function summarise(events: SimulatedEvent[], stateDescription: string, outbox: string): SimulateReport {
  const byAction: Record<string, number> = {};
  const byChannel: Record<string, number> = {};
  let deliveries = 0;
  let changes = 0;
  let failed = 0;
  for (const e of events) {
    changes += e.changes.length;
    for (const d of e.deliveries) {
      deliveries++;
      if (d.action === 'failed') failed++;
      byAction[d.action] = (byAction[d.action] ?? 0) + 1;
      byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
    }
  }
  return {
    events,
    summary: { events: events.length, rejected: events.filter((e) => e.error).length, changes, deliveries, failed, byAction, byChannel, state: stateDescription, outbox },
  };
}

function humanSummary(report: SimulateReport): string {
  const actions = ['sent', 'created', 'updated', 'resolved', 'guidance-only', 'skipped-duplicate', 'failed'];
  const channels = new Map<string, Map<string, number>>();
  for (const e of report.events)
    for (const d of e.deliveries) {
      const row = channels.get(d.channel) ?? new Map<string, number>();
      row.set(d.action, (row.get(d.action) ?? 0) + 1);
      channels.set(d.channel, row);
    }
  const rows = [['channel', ...actions, 'total']];
  for (const [ch, row] of [...channels].sort()) {
    rows.push([ch, ...actions.map((a) => String(row.get(a) ?? 0)), String([...row.values()].reduce((a, b) => a + b, 0))]);
  }
  const s = report.summary;
  const failures = report.events.flatMap((e) => e.deliveries.filter((d) => d.action === 'failed'));
  const failedSection = failures.length
    ? ['', `failed deliveries (${failures.length}):`, table([['receiver', 'incident', 'reason'], ...failures.map((d) => [d.receiver, incidentName(d), d.error ?? ''])])]
    : [];
  return [
    '',
    table(rows),
    ...failedSection,
    '',
    `${s.events} events (${s.rejected} rejected), ${s.changes} changes, ${s.deliveries} deliveries${s.failed ? ` (${s.failed} failed)` : ''}`,
    `state: ${s.state}`,
    `outbox preview: ${s.outbox}`,
  ].join('\n');
}

/** a Sentinel-only incident's key is a GUID: people know it by its number */
function incidentName(d: SimulatedDelivery): string {
  const key = d.incidentKey ?? '?';
  return d.incidentNumber != null && !/^\d+$/.test(key) ? `#${d.incidentNumber}` : key;
}
