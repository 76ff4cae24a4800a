/**
 * `spk routes test`: which playbooks and receivers an event reaches — like `amtool config routes test`,
 * offline, from an event file or from changes given on the command line. The plan comes from planEvent,
 * the function ingest runs, so what this prints is what the pipeline would enqueue.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadKitOrThrow } from '../config/load.js';
import type { KitConfig } from '../config/parse.js';
import { deliversLive } from '../connectors/kinds.js';
import type { DeliveryStep } from '../core/delivery.js';
import { detectChanges, changeSummary } from '../core/detect-changes.js';
import { KitError } from '../core/errors.js';
import type { Change, Incident, IncidentEvent, Severity, Snapshot } from '../core/model.js';
import { parseEvent } from '../core/parse-event.js';
import { eventFingerprint, planEvent, type EventPlan } from '../core/plan-event.js';
import { SAMPLE_INCIDENT } from './samples.js';
import { pickEvent, readEventSource } from './events.js';
import { UsageError, type CliIo } from './io.js';
import { terminalSafe } from './terminal-text.js';

export { readEventArg } from './events.js';

const HELP = `usage: spk routes test [--event FILE [--line N]] [--change KIND=VALUE ...] [--severity S] [--device NAME ...] [--user UPN ...] [--config DIR] [--json]

Which playbooks and receivers an event reaches, planned by the same function the pipeline's ingest runs
(merged incident view, exclusions, one message per receiver when several playbooks reach it).

  --event FILE      a raw Sentinel trigger body or Graph incident: one JSON document, or JSON lines
                    (one event a line, like samples/defender-experts-day.jsonl)
  --line N          test only the event on line N of a JSON-lines file, as the first event the kit sees of
                    its incident (no stored snapshot). Without --line, every line is tested in order, each
                    against the snapshot the earlier lines left, as spk simulate would ingest them
  --change K=V      a what-if change, planned on top of the event's own changes (or, without --event, on the
                    built-in sample incident 4711); repeatable:
                    owner=Customer  status=Closed  tag-added="Awaiting Customer Action"  tag-removed=X
                    severity=High  classification=TruePositive  determination=malware
  --severity S      set the incident's severity (the event's, or the sample's) to test severity filters
  --device NAME     replace the incident's devices, to test exclusions; repeatable
  --user UPN        replace the incident's users, to test exclusions; repeatable
  --config DIR      the playbooks folder (default: playbooks)
  --json            print a JSON report
  -h, --help        show this help
exit: 0 at least one playbook matched, 1 none matched or an event could not be read, 64 usage error`;

const KINDS = new Set(['owner', 'status', 'tag-added', 'tag-removed', 'severity', 'classification', 'determination']);

/** What a terminal line may carry from an event: no control characters (escape sequences, forged lines). */

export function parseChangeArg(arg: string): Change {
  const eq = arg.indexOf('=');
  if (eq < 1) throw new UsageError(`--change takes KIND=VALUE, got "${terminalSafe(arg)}"`);
  const kind = arg.slice(0, eq).trim();
  const value = arg.slice(eq + 1).trim();
  if (!KINDS.has(kind)) throw new UsageError(`--change: unknown kind "${terminalSafe(kind)}" (one of ${[...KINDS].join(', ')})`);
  const removed = kind === 'tag-removed';
  return { kind: kind as Change['kind'], from: removed ? value : null, to: removed ? null : value, id: `${kind}:${value.toLowerCase()}#1` };
}

interface Adjust {
  severity: string | undefined;
  devices: string[];
  users: string[];
}

function adjusted(incident: Incident, a: Adjust): Incident {
  let i = incident;
  if (a.severity) i = { ...i, severity: a.severity as Severity };
  if (a.devices.length) i = { ...i, devices: a.devices.map((name) => ({ name, id: null })) };
  if (a.users.length) i = { ...i, users: a.users.map((u) => ({ name: u, userPrincipalName: u, objectId: null })) };
  return i;
}

/** the playbooks one step serves: a receiver reached by several matched playbooks gets one merged step */
const stepPlaybooks = (s: DeliveryStep) => s.playbook.split('+');

function target(config: KitConfig, s: DeliveryStep): 'live' | 'outbox' {
  const receiver = config.receivers[s.receiver];
  return receiver && deliversLive(receiver) ? 'live' : 'outbox';
}

/** one planned step as a line: what, to whom, through which template, for which playbooks */
export function stepLine(config: KitConfig, s: DeliveryStep): string {
  const what = s.stepType === 'notify' ? 'notify' : `ticket ${s.ticketAction}`;
  return `${what.padEnd(14)} ${s.receiver} (${s.kind}, template ${s.template}) → ${target(config, s)}${s.guidanceOnly ? ' [guidance only]' : ''}  for ${stepPlaybooks(s).join(' + ')}`;
}

/** one planned step for a JSON report */
export function jsonStep(config: KitConfig, s: DeliveryStep) {
  return {
    playbook: s.playbook,
    playbooks: stepPlaybooks(s),
    receiver: s.receiver,
    channel: s.kind,
    step: s.stepType,
    action: s.ticketAction,
    template: s.template,
    changes: s.changes.map((c) => c.id),
    guidanceOnly: s.guidanceOnly,
    target: target(config, s),
  };
}

function jsonPlan(config: KitConfig, plan: EventPlan) {
  return {
    incidentKey: plan.view.key,
    changes: plan.changes.map(({ kind, from, to }) => ({ kind, from, to })),
    stale: plan.stale,
    replay: plan.replay,
    playbooks: plan.matches.map((m) => ({ name: m.playbook.name, file: m.playbook.file, changes: m.changes.map((c) => c.id) })),
    deliveries: plan.steps.map((s) => jsonStep(config, s)),
    exclusions: plan.steps[0]?.exclusionMatches ?? [],
  };
}

function textPlan(config: KitConfig, plan: EventPlan, prefix: string): string[] {
  const out: string[] = [];
  const note = plan.replay ? ' (an exact replay: re-planned with the same keys, the ledger drops them)' : plan.stale ? ' (older than what the kit has seen)' : '';
  out.push(`${prefix}incident ${plan.view.key}: ${plan.changes.length ? plan.changes.map(changeSummary).join('; ') : 'no change'}${note}`);
  if (plan.matches.length === 0) {
    out.push('  no playbook matches');
    return out;
  }
  for (const m of plan.matches) out.push(`  ${m.playbook.name} (${m.playbook.file}) ← ${m.changes.map(changeSummary).join('; ')}`);
  const merged = plan.steps.some((s) => stepPlaybooks(s).length > 1);
  out.push(`  ${plan.steps.length} deliver${plan.steps.length === 1 ? 'y' : 'ies'}${merged ? ' (a receiver that several playbooks reach gets one message for all of them)' : ''}:`);
  for (const s of plan.steps) out.push(`    ${stepLine(config, s)}`);
  const excl = plan.steps[0]?.exclusionMatches ?? [];
  if (excl.length) out.push(`  exclusions matched: ${excl.join(', ')} → MANUAL ACTION REQUIRED, no automated action`);
  return out;
}

/** the event with the command line's adjustments, or a KitError that names the file (and line) */
function eventOf(raw: unknown, a: Adjust, where: { file: string; line?: number }): IncidentEvent {
  try {
    const event = parseEvent(raw);
    return { ...event, incident: adjusted(event.incident, a) };
  } catch (e) {
    if (e instanceof KitError) throw new KitError(e.message, { kind: e.kind, cause: e, where: { ...e.where, ...where } });
    throw e;
  }
}

export async function routesCommand(argv: string[], io: CliIo): Promise<number> {
  try {
    return await routes(argv, io);
  } catch (e) {
    // the shared event reader does not know which command it serves
    if (e instanceof UsageError && !/^(spk |usage: )/.test(e.message)) throw new UsageError(`spk routes test: ${e.message}`);
    throw e;
  }
}

async function routes(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(HELP);
    return 0;
  }
  if (sub !== 'test') throw new UsageError(sub === undefined ? HELP : `spk routes: unknown subcommand "${terminalSafe(sub)}"\n${HELP}`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        event: { type: 'string' },
        line: { type: 'string' },
        change: { type: 'string', multiple: true, default: [] },
        severity: { type: 'string' },
        device: { type: 'string', multiple: true, default: [] },
        user: { type: 'string', multiple: true, default: [] },
        config: { type: 'string', default: 'playbooks' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`spk routes test: ${terminalSafe((e as Error).message)}\n${HELP}`);
  }
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (values.line !== undefined && !values.event) throw new UsageError(`spk routes test: --line needs --event FILE\n${HELP}`);
  const extraChanges = values.change.map(parseChangeArg);
  const adjust: Adjust = { severity: values.severity, devices: values.device, users: values.user };
  const now = new Date();

  if (!values.event) {
    if (extraChanges.length === 0) throw new UsageError(`spk routes test: no change to test: give --event or --change\n${HELP}`);
    const kit = await loadKitOrThrow(resolve(io.cwd, values.config), { cwd: io.cwd });
    const event: IncidentEvent = { incident: adjusted(SAMPLE_INCIDENT, adjust), updates: null, eventId: null };
    // the sample as the kit already knows it: only the --change moves are news, none made up from the sample
    const known = detectChanges(null, event).next;
    return report(io, kit.config, [{ plan: planEvent(kit.config, known, event, now, { extraChanges }), line: null }], values.json);
  }

  const source = await readEventSource(resolve(io.cwd, values.event), values.event);
  const kit = await loadKitOrThrow(resolve(io.cwd, values.config), { cwd: io.cwd });
  if (source.kind === 'document' || values.line !== undefined || source.lines.length === 1) {
    const { raw, line } = pickEvent(source, values.line, values.event);
    const event = eventOf(raw, adjust, line === null ? { file: values.event } : { file: values.event, line });
    return report(io, kit.config, [{ plan: planEvent(kit.config, null, event, now, { fingerprint: eventFingerprint(raw), extraChanges }), line: null }], values.json);
  }

  if (extraChanges.length) throw new UsageError(`spk routes test: --change with a JSON-lines file needs --line N (${values.event} has ${source.lines.length} events)`);
  // every line in order against the snapshots the earlier lines left, as ingest would store them
  const snapshots = new Map<string, Snapshot>();
  const results: Array<{ plan: EventPlan; line: number } | { error: KitError; line: number }> = [];
  for (const l of source.lines) {
    try {
      if (l.error !== undefined) throw new KitError(l.error, { kind: 'validation', where: { file: values.event, line: l.line } });
      const event = eventOf(l.raw, adjust, { file: values.event, line: l.line });
      const plan = planEvent(kit.config, snapshots.get(event.incident.key) ?? null, event, now, { fingerprint: eventFingerprint(l.raw) });
      if (plan.snapshot) snapshots.set(event.incident.key, plan.snapshot);
      results.push({ plan, line: l.line });
    } catch (e) {
      if (!(e instanceof KitError)) throw e;
      results.push({ error: e, line: l.line });
    }
  }
  return report(io, kit.config, results, values.json);
}

type Result = { plan: EventPlan; line: number | null } | { error: KitError; line: number };

function report(io: CliIo, config: KitConfig, results: Result[], json: boolean): number {
  const matched = results.some((r) => 'plan' in r && r.plan.matches.length > 0);
  const failed = results.some((r) => 'error' in r);
  const many = results.length > 1 || results[0]?.line !== null;
  if (json) {
    const one = (r: Result) => ('plan' in r ? { ...(r.line === null ? {} : { line: r.line }), ...jsonPlan(config, r.plan) } : { line: r.line, error: r.error.format() });
    io.stdout(JSON.stringify(many ? { events: results.map(one) } : one(results[0]!), null, 2));
  } else {
    for (const r of results) {
      if ('error' in r) {
        io.stderr(terminalSafe(`spk routes test: ${r.error.format()}`));
        continue;
      }
      io.stdout(textPlan(config, r.plan, r.line === null ? '' : `line ${r.line}: `).map(terminalSafe).join('\n'));
    }
  }
  return matched && !failed ? 0 : 1;
}
