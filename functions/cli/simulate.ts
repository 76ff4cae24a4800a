/**
 * `spk simulate --events FILE.jsonl`: the whole pipeline (parse → diff against snapshots → playbooks →
 * render → deliver → ledger) over a file of events, with the outbox as the default receiver.
 */
import { parseArgs } from 'node:util';
import { resolve, relative, sep } from 'node:path';
import { rm } from 'node:fs/promises';
import { loadKitOrThrow } from '../config/load.js';
import { KitError } from '../core/errors.js';
import type { DeliveryOutcome } from '../core/delivery.js';
import { createJsonLogger, silentLogger } from '../core/log.js';
import { changeSummary } from '../core/detect-changes.js';
import { writePreviewPage } from '../connectors/outbox/index-page.js';
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
  error?: string;
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
    byAction: Record<string, number>;
    byChannel: Record<string, number>;
    state: string;
    outbox: string;
  };
}

const HELP = `usage: spk simulate --events FILE.jsonl [--json] [--out DIR] [--config DIR] [--memory] [--state DIR] [--fresh] [--repeat N] [--verbose]

  --events FILE   JSON lines: raw Sentinel incident-trigger bodies and/or raw Graph security incidents
  --json          print one JSON object (events, deliveries, summary) instead of the progress lines
  --out DIR       outbox folder (default: outbox)
  --config DIR    playbooks folder (default: playbooks)
  --memory        in-memory state instead of Azure Tables/Queues on Azurite (faster; forgets between runs)
  --state DIR     where the Azurite state lives (default: .spk-state)
  --fresh         start from empty state and an empty outbox
  --repeat N      replay the file N times against the same state (the 2nd replay is all skipped-duplicate)
  --verbose       structured logs on stderr
exit: 0 ok, 1 configuration error, 2 some lines were rejected`;

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
      help: { type: 'boolean', default: false },
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
  const kit = await loadKitOrThrow(at(values.config!), { cwd: io.cwd });
  const lines = await readEventsFile(at(values.events));
  if (values.fresh) await rm(outboxDir, { recursive: true, force: true });

  const state = await openState({ memory: values.memory!, stateDir: at(values.state!), fresh: values.fresh! });
  const log = values.verbose ? createJsonLogger((l) => io.stderr(l)) : silentLogger;
  const runtime = createRuntime(kit, state.stores, { outboxDir, env: io.env, log });
  const events: SimulatedEvent[] = [];
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
            const outcomes: DeliveryOutcome[] = await drainQueue(runtime.deliverDeps);
            ev.deliveries = outcomes
              .filter((o) => o.action !== 'requeued')
              .map((o) => ({
                receiver: o.receiver,
                channel: o.kind,
                action: o.action,
                idempotencyKey: o.idempotencyKey,
                outbox: o.outbox ? show(o.outbox) : null,
                ...(o.error ? { error: o.error } : {}),
              }));
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
  return report.summary.rejected > 0 ? 2 : 0;
}

function progressLine(done: number, total: number, ev: SimulatedEvent, result: IngestResult): string {
  const what = result.changes.length ? result.changes.map((c) => changeSummary(c)).join('; ') : result.stale ? 'stale event (older than what was seen)' : 'no notable change';
  const counts = new Map<string, number>();
  for (const d of ev.deliveries) counts.set(d.action, (counts.get(d.action) ?? 0) + 1);
  const tail = ev.deliveries.length ? ` → ${ev.deliveries.length} deliveries (${[...counts].map(([a, n]) => `${n} ${a}`).join(', ')})` : '';
  return `[${done}/${total}] line ${ev.line} incident ${ev.incidentKey}${result.replay ? ' (replay)' : ''}: ${what}${tail}`;
}

export function summarise(events: SimulatedEvent[], stateDescription: string, outbox: string): SimulateReport {
  const byAction: Record<string, number> = {};
  const byChannel: Record<string, number> = {};
  let deliveries = 0;
  let changes = 0;
  for (const e of events) {
    changes += e.changes.length;
    for (const d of e.deliveries) {
      deliveries++;
      byAction[d.action] = (byAction[d.action] ?? 0) + 1;
      byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
    }
  }
  return {
    events,
    summary: { events: events.length, rejected: events.filter((e) => e.error).length, changes, deliveries, byAction, byChannel, state: stateDescription, outbox },
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
  return [
    '',
    table(rows),
    '',
    `${s.events} events (${s.rejected} rejected), ${s.changes} changes, ${s.deliveries} deliveries`,
    `state: ${s.state}`,
    `outbox preview: ${s.outbox}`,
  ].join('\n');
}
