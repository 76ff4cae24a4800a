/**
 * `spk rules test --event FILE`: which Sentinel automation rules (rules/*.yaml, the data bicep/main.bicep
 * deploys) fire for one incident trigger body, which playbooks they run, and what the kit then plans — computed
 * by planEvent, the function ingest runs, not guessed.
 * Like `amtool config routes test`: an offline check before anything reaches a workspace.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LineCounter, parseDocument } from 'yaml';
import {
  evaluateRules,
  ruleFromYaml,
  ruleInputFromTriggerBody,
  type AutomationRuleDefinition,
  type RuleReport,
} from '../core/automation-rules.js';
import { KitError } from '../core/errors.js';
import { loadKitOrThrow } from '../config/load.js';
import { locateField } from '../config/parse.js';
import { changeSummary } from '../core/detect-changes.js';
import type { Snapshot } from '../core/model.js';
import { parseEvent } from '../core/parse-event.js';
import { eventFingerprint, planEvent } from '../core/plan-event.js';
import { pickEvent, readEventSource } from './events.js';
import { UsageError } from './io.js';
import { jsonStep, stepLine } from './routes.js';
import { terminalSafe } from './terminal-text.js';

export interface RulesTestIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
}

const USAGE = `usage: spk rules test --event FILE [--line N] [--rules DIR] [--config DIR] [--prefix PREFIX] [--expect RULE,...] [--json]

Which Sentinel automation rules fire for one incident update, in Sentinel's order, which playbooks they run,
and what the kit's pipeline then plans (the function ingest runs, as the first event it sees of the incident).

  --event FILE     a Microsoft Sentinel incident trigger body (as the playbooks post it to dispatch): one JSON
                   document, or JSON lines with --line N; what-if extensions: "_previous": {"status","severity",
                   "owner"} for ChangedFrom, "_updatedBySource": "Playbook" | "AutomationRule" | ... for the loop guard
  --line N         the event on line N of a JSON-lines file (needed when the file has several events)
  --rules DIR      automation rules folder (default: rules)
  --config DIR     the playbooks folder the kit plans with (default: playbooks)
  --prefix PREFIX  namePrefix the playbooks were deployed with (default: spk)
  --expect LIST    exit 1 unless exactly these rules fire (comma-separated rule names; "" for none)
  --json           print a JSON report
  -h, --help       show this help
exit: 0 evaluated (and --expect held), 1 --expect failed or a rule, event or config error, 64 usage error`;

/**
 * One line of terminal output with no control characters from incident text: no escape sequences,
 * and no line breaks that would forge a line of the report.
 */

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
 * What the kit does with the runs the firing rules start. Every run posts this body to dispatch, so the first
 * is planned as the first event of the incident and each later one against the snapshot the first left.
 */
export interface KitPlan {
  changes: string[];
  playbooks: string[];
  deliveries: number;
  steps: ReturnType<typeof jsonStep>[];
  /** one per firing rule, in Sentinel's order */
  runs: Array<{ rule: string; replay: boolean; deliveries: number }>;
}

interface PlannedRuns {
  report: KitPlan;
  lines: string[];
}

async function planRuns(body: unknown, fired: RuleReport[], configDir: string, cwd: string): Promise<PlannedRuns | { error: string }> {
  try {
    const kit = await loadKitOrThrow(configDir, { cwd });
    const event = parseEvent(body);
    const fingerprint = eventFingerprint(body);
    const now = new Date();
    let snapshot: Snapshot | null = null;
    const plans = [];
    // a rule that fires nothing still shows what the update changed, as the kit reads it
    for (const run of fired.length ? fired : [null]) {
      const plan = planEvent(kit.config, snapshot, event, now, { fingerprint });
      snapshot = plan.snapshot ?? snapshot;
      plans.push({ rule: run?.rule.name ?? null, plan });
    }
    const first = plans[0]!.plan;
    const changes = first.changes.map(changeSummary);
    const report: KitPlan = {
      changes,
      playbooks: first.matches.map((m) => m.playbook.name),
      deliveries: first.steps.length,
      steps: first.steps.map((s) => jsonStep(kit.config, s)),
      runs: plans.filter((p) => p.rule !== null).map((p) => ({ rule: p.rule!, replay: p.plan.replay, deliveries: p.plan.steps.length })),
    };
    const lines: string[] = [];
    const said = changes.length ? changes.join('; ') : 'no change';
    if (first.matches.length === 0) lines.push(`kit (real pipeline): ${said} → no playbook reacts, nothing is sent`);
    else lines.push(`kit (real pipeline): ${said} → playbooks ${report.playbooks.join(', ')}, ${first.steps.length} deliveries:`);
    for (const s of first.steps) lines.push(`  ${stepLine(kit.config, s)}`);
    const excl = first.steps[0]?.exclusionMatches ?? [];
    if (excl.length) lines.push(`  exclusions matched: ${excl.join(', ')} → MANUAL ACTION REQUIRED, no automated action`);
    for (const p of plans.slice(1)) {
      lines.push(
        p.plan.replay
          ? `  the run of ${p.rule} posts the same body: an exact replay, its ${p.plan.steps.length} step(s) re-planned with the same keys, so the ledger drops them as duplicates`
          : `  the run of ${p.rule}: ${p.plan.steps.length} more step(s)`,
      );
    }
    return { report, lines };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
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
  }
  lines.push('');
  if (fired.length === 0) {
    lines.push('No rule fires: no playbook runs, so the kit never sees this update.');
  } else {
    const playbooks = [...new Set(fired.map((r) => logicAppName(prefix, r.rule)))];
    lines.push(`${fired.length} rule(s) fire, in this order: ${fired.map((r) => r.rule.name).join(', ')}`);
    lines.push(`playbooks run: ${playbooks.join(', ')}`);
  }
  return lines.map(terminalSafe).join('\n');
}

export async function rulesTestCommand(
  argv: string[],
  io: { stdout: (s: string) => void; stderr: (s: string) => void; cwd: string },
): Promise<number> {
  let values: { event?: string; line?: string; rules?: string; config?: string; prefix?: string; expect?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        event: { type: 'string' },
        line: { type: 'string' },
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
    io.stderr(`spk rules test: ${terminalSafe((e as Error).message)}\n${USAGE}`);
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
    const eventFile = values.event;
    const rules = await loadRules(path.resolve(io.cwd, values.rules ?? 'rules'));
    const picked = pickEvent(await readEventSource(path.resolve(io.cwd, eventFile), eventFile), values.line, eventFile);
    const body = picked.raw;
    let input;
    try {
      input = ruleInputFromTriggerBody(body);
    } catch (e) {
      if (e instanceof KitError) throw new KitError(e.message, { kind: e.kind, where: { ...e.where, file: eventFile, ...(picked.line === null ? {} : { line: picked.line }) } });
      throw e;
    }
    const reports = evaluateRules(rules, input);
    const fired = reports.filter((r) => r.fires);
    const planned = await planRuns(body, fired, path.resolve(io.cwd, values.config ?? 'playbooks'), io.cwd);
    const changes = 'report' in planned ? planned.report.changes : [];
    const label = picked.line === null ? eventFile : `${eventFile}:${picked.line}`;
    if (values.json) {
      io.stdout(
        JSON.stringify(
          {
            event: eventFile,
            ...(picked.line === null ? {} : { line: picked.line }),
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
            })),
            fired: fired.map((r) => r.rule.name),
            playbooks: [...new Set(fired.map((r) => logicAppName(prefix, r.rule)))],
            // no rule fires: no playbook runs, so there is nothing for the kit to plan
            plan: fired.length === 0 ? null : 'report' in planned ? planned.report : { error: planned.error },
          },
          null,
          2,
        ),
      );
    } else {
      io.stdout(textReport(label, reports, prefix, changes, input.trigger));
      if (fired.length) io.stdout(('lines' in planned ? planned.lines : [`kit (real pipeline): could not evaluate: ${planned.error}`]).map(terminalSafe).join('\n'));
    }
    if (values.expect !== undefined) {
      const expected = values.expect.split(',').map((s) => s.trim()).filter(Boolean).sort();
      const actual = fired.map((r) => r.rule.name).sort();
      if (expected.join(',') !== actual.join(',')) {
        io.stderr(terminalSafe(`spk rules test: expected ${expected.length ? expected.join(', ') : 'no rule'} to fire, got ${actual.length ? actual.join(', ') : 'none'}`));
        return 1;
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(terminalSafe(`spk rules test: ${e.message}`));
      return 64;
    }
    if (e instanceof KitError) {
      io.stderr(terminalSafe(`spk rules test: ${e.format()}`));
      return 1;
    }
    throw e;
  }
}
