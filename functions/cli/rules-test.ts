/**
 * `spk rules test --event FILE`: which Sentinel automation rules (rules/*.yaml, the data bicep/main.bicep
 * deploys) fire for one incident trigger body, which playbooks they run, and whether the kit acts on the run.
 * Like `amtool config routes test`: an offline check before anything reaches a workspace.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LineCounter, parseDocument } from 'yaml';
import {
  evaluateRules,
  kitChanges,
  ruleFromYaml,
  ruleInputFromTriggerBody,
  type AutomationRuleDefinition,
  type RuleReport,
} from '../core/automation-rules.js';
import { KitError } from '../core/errors.js';
import { loadKitOrThrow } from '../config/load.js';
import { locateField } from '../core/config.js';
import { detectChanges, changeSummary } from '../core/detect-changes.js';
import { matchPlaybooks } from '../core/match.js';
import { parseEvent } from '../core/parse-event.js';
import { planSteps } from '../core/plan.js';

export interface RulesTestIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
}

const USAGE = `usage: spk rules test --event FILE [--rules DIR] [--config DIR] [--prefix PREFIX] [--expect RULE,...] [--json]

  --event FILE     a Microsoft Sentinel incident trigger body (as the playbooks post it to dispatch);
                   what-if extensions: "_previous": {"status","severity","owner"} for ChangedFrom,
                   "_updatedBySource": "Playbook" | "AutomationRule" | ... for the loop guard
  --rules DIR      automation rules folder (default: rules)
  --prefix PREFIX  namePrefix the playbooks were deployed with (default: spk)
  --expect LIST    exit 1 unless exactly these rules fire (comma-separated rule names; "" for none)
  --json           print a JSON report`;

/**
 * One line of terminal output with no control characters from incident text: no escape sequences,
 * and no line breaks that would forge a line of the report.
 */
const inert = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** One rules/*.yaml file → a rule, or a KitError naming the file, line, column and field. */
export function parseRuleFile(file: string, text: string): AutomationRuleDefinition {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    throw new KitError(`YAML: ${syntax.message.split('\n')[0]}`, { kind: 'config', where: { file, line: pos.line, column: pos.col } });
  }
  try {
    return ruleFromYaml(doc.toJS(), file);
  } catch (e) {
    if (e instanceof KitError && e.where?.field !== undefined && e.where.line === undefined) {
      const at = locateField(text, e.where.field);
      throw new KitError(e.message, { kind: e.kind, cause: e, where: { ...e.where, file, line: at.line, column: at.column } });
    }
    throw e;
  }
}

/** Loads and validates every rules/*.yaml; errors name the file, line and field. */
export async function loadRules(dir: string): Promise<AutomationRuleDefinition[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/i.test(n)).sort();
  } catch (e) {
    throw new KitError(`cannot read the rules folder: ${(e as Error).message}`, { kind: 'config', cause: e, where: { file: dir } });
  }
  if (names.length === 0) throw new KitError('no automation rules (*.yaml) in this folder', { kind: 'config', where: { file: dir } });
  const rules: AutomationRuleDefinition[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    rules.push(parseRuleFile(file, await readFile(file, 'utf8')));
  }
  const seen = new Map<string, string>();
  for (const r of rules) {
    const other = seen.get(r.name);
    if (other) throw new KitError(`rule name "${r.name}" is also used by ${other}; names must be unique`, { kind: 'config', where: { file: r.file, field: 'name' } });
    seen.set(r.name, r.file);
  }
  return rules;
}

/**
 * What the kit itself does with this run, computed by the real core (parse → changes → playbooks), as if no
 * snapshot were stored yet (the Sentinel update's incidentUpdates then say what changed).
 */
export interface KitRun {
  changes: string[];
  playbooks: string[];
  deliveries: number;
}

async function kitRun(body: unknown, configDir: string, cwd: string): Promise<KitRun | { error: string }> {
  try {
    const kit = await loadKitOrThrow(configDir, { cwd });
    const event = parseEvent(body);
    const changes = detectChanges(null, event).changes;
    const matches = matchPlaybooks(kit.config.playbooks, event.incident, changes);
    const steps = planSteps(kit.config, event.incident, matches, new Date(0));
    return { changes: changes.map(changeSummary), playbooks: matches.map((m) => m.playbook.name), deliveries: steps.length };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

function kitRunLine(run: KitRun | { error: string }): string {
  if ('error' in run) return `kit (real pipeline): could not evaluate: ${run.error}`;
  if (run.playbooks.length === 0) return `kit (real pipeline): ${run.changes.length ? run.changes.join('; ') : 'no change'} → no playbook reacts, nothing is sent`;
  return `kit (real pipeline): ${run.changes.join('; ')} → playbooks ${run.playbooks.join(', ')}, ${run.deliveries} deliveries`;
}

function logicAppName(prefix: string, rule: AutomationRuleDefinition): string {
  return `${prefix}-${rule.playbook}`;
}

function textReport(eventFile: string, reports: RuleReport[], prefix: string, changes: string[], trigger: string): string {
  const lines: string[] = [];
  const fired = reports.filter((r) => r.fires);
  lines.push(`${reports.length} automation rule(s) against ${eventFile} (incident ${trigger === 'Updated' ? 'updated' : 'created'}${changes.length ? `: ${changes.join('; ')}` : ''})`);
  lines.push('');
  for (const r of reports) {
    lines.push(`${r.fires ? 'FIRES' : 'skip '}  ${String(r.rule.order).padStart(4)}  ${r.rule.name} — ${r.rule.displayName}`);
    if (r.fires) lines.push(`             runs playbook ${logicAppName(prefix, r.rule)}`);
    for (const t of r.trace) lines.push(`             ${t}`);
    if (r.kit) lines.push(`             ${r.kit.reason}`);
  }
  lines.push('');
  if (fired.length === 0) {
    lines.push('No rule fires: no playbook runs.');
  } else {
    const playbooks = [...new Set(fired.map((r) => logicAppName(prefix, r.rule)))];
    lines.push(`${fired.length} rule(s) fire, in this order: ${fired.map((r) => r.rule.name).join(', ')}`);
    lines.push(`playbooks run: ${playbooks.join(', ')}`);
    const dropped = fired.filter((r) => r.kit && !r.kit.handled);
    if (dropped.length) lines.push(`kit drops ${dropped.length} run(s) with no new change: ${dropped.map((r) => r.rule.name).join(', ')}`);
  }
  return lines.map(inert).join('\n');
}

export async function rulesTestCommand(
  argv: string[],
  io: { stdout: (s: string) => void; stderr: (s: string) => void; cwd: string },
): Promise<number> {
  let values: { event?: string; rules?: string; config?: string; prefix?: string; expect?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        event: { type: 'string' },
        rules: { type: 'string' },
        config: { type: 'string' },
        prefix: { type: 'string' },
        expect: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr(`spk rules test: ${(e as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (!values.event) {
    io.stderr(`spk rules test: --event FILE is required\n${USAGE}`);
    return 64;
  }
  const prefix = values.prefix ?? 'spk';
  try {
    const rules = await loadRules(path.resolve(io.cwd, values.rules ?? 'rules'));
    const eventPath = path.resolve(io.cwd, values.event);
    let body: unknown;
    try {
      body = JSON.parse(await readFile(eventPath, 'utf8'));
    } catch (e) {
      throw new KitError(`cannot read the event: ${(e as Error).message}`, { kind: 'validation', cause: e, where: { file: values.event } });
    }
    let input;
    try {
      input = ruleInputFromTriggerBody(body);
    } catch (e) {
      if (e instanceof KitError) throw new KitError(e.message, { kind: e.kind, where: { ...e.where, file: values.event } });
      throw e;
    }
    const reports = evaluateRules(rules, input);
    const changes = kitChanges(input);
    const fired = reports.filter((r) => r.fires);
    const run = fired.length ? await kitRun(body, path.resolve(io.cwd, values.config ?? 'playbooks'), io.cwd) : null;
    if (values.json) {
      io.stdout(
        JSON.stringify(
          {
            event: values.event,
            trigger: input.trigger,
            changes,
            rules: reports.map((r) => ({
              name: r.rule.name,
              displayName: r.rule.displayName,
              order: r.rule.order,
              file: path.relative(io.cwd, r.rule.file),
              playbook: logicAppName(prefix, r.rule),
              fires: r.fires,
              trace: r.trace,
              kit: r.kit,
            })),
            fired: fired.map((r) => r.rule.name),
            playbooks: [...new Set(fired.map((r) => logicAppName(prefix, r.rule)))],
            kit: run,
          },
          null,
          2,
        ),
      );
    } else {
      io.stdout(textReport(values.event, reports, prefix, changes, input.trigger));
      if (run) io.stdout(inert(kitRunLine(run)));
    }
    if (values.expect !== undefined) {
      const expected = values.expect.split(',').map((s) => s.trim()).filter(Boolean).sort();
      const actual = fired.map((r) => r.rule.name).sort();
      if (expected.join(',') !== actual.join(',')) {
        io.stderr(inert(`spk rules test: expected ${expected.length ? expected.join(', ') : 'no rule'} to fire, got ${actual.length ? actual.join(', ') : 'none'}`));
        return 1;
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof KitError) {
      io.stderr(inert(`spk rules test: ${e.format()}`));
      return 1;
    }
    throw e;
  }
}
