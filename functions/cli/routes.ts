/**
 * `spk routes test`: which playbooks and receivers an event reaches — like `amtool config routes test`,
 * offline, from an event file or from changes given on the command line.
 */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadKitOrThrow } from '../config/load.js';
import { endpointOf } from '../core/config.js';
import { detectChanges, changeSummary } from '../core/detect-changes.js';
import { KitError } from '../core/errors.js';
import { matchPlaybooks } from '../core/match.js';
import { planSteps } from '../core/plan.js';
import { parseEvent } from '../core/parse-event.js';
import type { Change, Incident, Severity } from '../core/model.js';
import { SAMPLE_INCIDENT } from './samples.js';
import { UsageError, type CliIo } from './io.js';

const HELP = `usage: spk routes test [--event FILE] [--line N] [--change KIND=VALUE ...] [--severity S] [--device NAME] [--user UPN] [--config DIR] [--json]

  --event FILE      a raw Sentinel trigger body or Graph incident (JSON, or JSON lines with --line N)
  --change K=V      a change to test instead of (or on top of) the event's own:
                    owner=Customer  status=Closed  tag-added="Awaiting Customer Action"  tag-removed=X
                    severity=High  classification=TruePositive  determination=malware
  --severity, --device, --user   adjust the built-in sample incident (exclusions, severity filters)
exit: 0 at least one playbook matched, 1 none matched`;

const KINDS = new Set(['owner', 'status', 'tag-added', 'tag-removed', 'severity', 'classification', 'determination']);

export function parseChangeArg(arg: string): Change {
  const eq = arg.indexOf('=');
  if (eq < 1) throw new UsageError(`--change takes KIND=VALUE, got "${arg}"`);
  const kind = arg.slice(0, eq).trim();
  const value = arg.slice(eq + 1).trim();
  if (!KINDS.has(kind)) throw new UsageError(`--change: unknown kind "${kind}" (one of ${[...KINDS].join(', ')})`);
  const removed = kind === 'tag-removed';
  return { kind: kind as Change['kind'], from: removed ? value : null, to: removed ? null : value, id: `${kind}:${value.toLowerCase()}#1` };
}

export async function routesCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'test') throw new UsageError(HELP);
  const { values } = parseArgs({
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
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  const kit = await loadKitOrThrow(resolve(io.cwd, values.config!), { cwd: io.cwd });
  let incident: Incident = { ...SAMPLE_INCIDENT };
  let changes: Change[] = [];
  if (values.event) {
    const raw = await readEventArg(resolve(io.cwd, values.event), values.line);
    const event = parseEvent(raw);
    incident = event.incident;
    changes = detectChanges(null, event).changes;
  }
  if (values.severity) incident = { ...incident, severity: values.severity as Severity };
  if (values.device!.length) incident = { ...incident, devices: values.device!.map((name) => ({ name, id: null })) };
  if (values.user!.length) incident = { ...incident, users: values.user!.map((u) => ({ name: u, userPrincipalName: u, objectId: null })) };
  changes = [...changes, ...values.change!.map(parseChangeArg)];
  if (changes.length === 0) throw new UsageError(`no change to test: give --event or --change\n${HELP}`);

  const matches = matchPlaybooks(kit.config.playbooks, incident, changes);
  const steps = planSteps(kit.config, incident, matches, new Date());
  if (values.json) {
    io.stdout(
      JSON.stringify(
        {
          incidentKey: incident.key,
          changes: changes.map(({ kind, from, to }) => ({ kind, from, to })),
          playbooks: matches.map((m) => ({ name: m.playbook.name, file: m.playbook.file, changes: m.changes.map((c) => c.id) })),
          deliveries: steps.map((s) => ({ playbook: s.playbook, receiver: s.receiver, channel: s.kind, step: s.stepType, action: s.ticketAction, template: s.template, guidanceOnly: s.guidanceOnly, target: endpointOf(kit.config.receivers[s.receiver]!) ? 'live' : 'outbox' })),
          exclusions: steps[0]?.exclusionMatches ?? [],
        },
        null,
        2,
      ),
    );
    return matches.length > 0 ? 0 : 1;
  }
  io.stdout(`incident ${incident.key}: ${changes.map(changeSummary).join('; ')}`);
  if (matches.length === 0) {
    io.stdout('  no playbook matches');
    return 1;
  }
  for (const m of matches) {
    io.stdout(`  ${m.playbook.name} (${m.playbook.file}) ← ${m.changes.map(changeSummary).join('; ')}`);
    for (const s of steps.filter((x) => x.playbook === m.playbook.name)) {
      const receiver = kit.config.receivers[s.receiver]!;
      const what = s.stepType === 'notify' ? 'notify' : `ticket ${s.ticketAction}`;
      io.stdout(`    ${what.padEnd(14)} ${s.receiver} (${s.kind}, template ${s.template}) → ${endpointOf(receiver) ? 'live' : 'outbox'}${s.guidanceOnly ? ' [guidance only]' : ''}`);
    }
  }
  const excl = steps[0]?.exclusionMatches ?? [];
  if (excl.length) io.stdout(`  exclusions matched: ${excl.join(', ')} → MANUAL ACTION REQUIRED, no automated action`);
  return 0;
}

export async function readEventArg(path: string, line: string | undefined): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  if (line !== undefined) {
    const n = Number(line);
    const content = text.split(/\r?\n/)[n - 1];
    if (!Number.isInteger(n) || content === undefined || content.trim() === '') throw new UsageError(`--line ${line}: no such line in ${path}`);
    return parseJson(content, `${path}:${n}`);
  }
  return parseJson(text, path);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KitError(`${where}: not valid JSON: ${(e as Error).message}`, { kind: 'validation' });
  }
}
