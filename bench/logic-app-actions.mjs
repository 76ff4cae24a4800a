#!/usr/bin/env node
/**
 * Logic App billed actions per run, counted from an ARM template (default: the kit's compiled
 * bicep/azuredeploy.json).
 *
 *   node bench/logic-app-actions.mjs [template.json ...]   → a markdown table, one row per workflow
 *
 * Billing (Consumption plan, "Usage metering, billing, and pricing for Azure Logic Apps"): every trigger
 * execution and every action execution is metered, whether or not the run succeeds. Control actions (Scope,
 * If, Switch, Foreach, Until) are actions too. Built-in operations follow the Actions price, and managed
 * connector operations (ApiConnection*) the Standard/Enterprise connector price. Each retry attempt is
 * another execution, and so is each loop iteration. So the number that matters is how many executions one
 * run makes:
 *
 *   - triggers: the workflow's triggers (one fires per run)
 *   - actions: the most actions one run executes with every loop body run once. A Scope runs its actions; an
 *     If runs one branch (the longer one is counted); a Switch runs one case or its default (the longest).
 *     The container action itself is counted too.
 *   - fewest: the same for the shortest way through the branches
 *   - defined: every action in the definition, whichever branch (what "N actions" usually means for a playbook)
 *   - loops: the Foreach/Until actions. Their bodies are counted once, but a run repeats them per item or
 *     iteration.
 *   - retries: the retry policies declared on actions. Each retry attempt is billed as one more execution.
 *
 * No dependencies: plain Node ESM, importable (countLogicAppActions) and runnable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKFLOW = 'microsoft.logic/workflows';
const DEPLOYMENT = 'microsoft.resources/deployments';
const LOOPS = new Set(['foreach', 'until']);
const MANAGED = new Set(['apiconnection', 'apiconnectionwebhook', 'apiconnectionnotification']);

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** resources of a template: an array (languageVersion 1.0; named by their name) or an object keyed by symbolic name (2.0) */
function resourcesOf(template) {
  const rs = template?.resources;
  if (Array.isArray(rs)) return rs.map((r, i) => ({ symbol: typeof r?.name === 'string' ? r.name : `${r?.type}#${i}`, resource: r }));
  if (isObject(rs)) return Object.entries(rs).map(([symbol, resource]) => ({ symbol, resource }));
  return [];
}

/**
 * A value as the template means it. A whole-string ARM expression `[variables('x')]` or
 * `[parameters('x')]` is looked up in the template's variables, or in the parameter's value (the one
 * the parent deployment passes when it is a literal) or default. Any other expression is left as text.
 */
function resolve(value, scope, depth = 0) {
  if (typeof value !== 'string' || depth > 20) return value;
  const m = /^\[\s*(variables|parameters)\(\s*'([^']+)'\s*\)\s*\]$/.exec(value);
  if (!m) return value;
  const [, kind, name] = m;
  if (kind === 'variables') {
    const vars = scope.template?.variables;
    return isObject(vars) && Object.hasOwn(vars, name) ? resolve(vars[name], scope, depth + 1) : value;
  }
  const passed = scope.passed?.[name];
  if (isObject(passed) && Object.hasOwn(passed, 'value') && !(typeof passed.value === 'string' && passed.value.startsWith('['))) return passed.value;
  const declared = scope.template?.parameters?.[name];
  if (isObject(declared) && Object.hasOwn(declared, 'defaultValue')) return resolve(declared.defaultValue, scope, depth + 1);
  return value;
}

/** the named action maps nested in a control action, as [label, actions] */
function branchesOf(action) {
  const type = String(action?.type ?? '').toLowerCase();
  const mapOf = (v) => (isObject(v) ? v : {});
  if (type === 'if') return { kind: 'choice', branches: [['then', mapOf(action.actions)], ['else', mapOf(action.else?.actions)]] };
  if (type === 'switch') {
    const cases = Object.entries(mapOf(action.cases)).map(([name, c]) => [`case ${name}`, mapOf(c?.actions)]);
    return { kind: 'choice', branches: [...cases, ['default', mapOf(action.default?.actions)]] };
  }
  if (type === 'scope' || LOOPS.has(type)) return { kind: 'all', branches: [[null, mapOf(action.actions)]] };
  return { kind: 'none', branches: [] };
}

/** walks an actions map: {most, fewest, defined, loops[], managed, retries[]} */
function countActions(actions, scope, where = '') {
  const out = { most: 0, fewest: 0, defined: 0, loops: [], managed: 0, retries: [] };
  for (const [name, action] of Object.entries(isObject(actions) ? actions : {})) {
    const type = String(action?.type ?? '').toLowerCase();
    const at = where ? `${where}/${name}` : name;
    out.most += 1;
    out.fewest += 1;
    out.defined += 1;
    if (MANAGED.has(type)) out.managed += 1;
    if (LOOPS.has(type)) out.loops.push(`${at} (${action.type})`);
    const retry = action?.inputs?.retryPolicy;
    if (isObject(retry) && String(retry.type ?? '').toLowerCase() !== 'none') {
      out.retries.push({ action: at, type: retry.type, count: resolve(retry.count, scope) ?? null });
    }
    const { kind, branches } = branchesOf(action);
    if (kind === 'none') continue;
    const counted = branches.map(([label, inner]) => countActions(inner, scope, label === null ? at : `${at}[${label}]`));
    for (const c of counted) {
      out.defined += c.defined;
      out.managed += c.managed;
      out.loops.push(...c.loops);
      out.retries.push(...c.retries);
    }
    if (kind === 'all') {
      out.most += counted.reduce((s, c) => s + c.most, 0);
      out.fewest += counted.reduce((s, c) => s + c.fewest, 0);
    } else {
      out.most += Math.max(0, ...counted.map((c) => c.most));
      out.fewest += Math.min(...counted.map((c) => c.fewest));
    }
  }
  return out;
}

/** every workflow resource in the template and its nested deployments, with the scope its expressions resolve in */
function* workflowsOf(template, where, passed) {
  const scope = { template, passed };
  for (const { symbol, resource } of resourcesOf(template)) {
    const type = String(resource?.type ?? '').toLowerCase();
    if (type === DEPLOYMENT && isObject(resource.properties?.template)) {
      yield* workflowsOf(resource.properties.template, `${where}/${symbol}`, resource.properties.parameters);
    } else if (type === WORKFLOW && resource.existing !== true) {
      yield { symbol, resource, scope, where };
    }
  }
}

/**
 * Counts, for each Microsoft.Logic/workflows resource in an ARM template (nested Microsoft.Resources/deployments
 * modules included, `existing` references skipped), what one run executes. `templateJson` is the parsed template
 * or its JSON text.
 */
export function countLogicAppActions(templateJson) {
  const template = typeof templateJson === 'string' ? JSON.parse(templateJson) : templateJson;
  const rows = [];
  for (const { symbol, resource, scope, where } of workflowsOf(template, 'main', undefined)) {
    const definition = resolve(resource.properties?.definition, scope);
    if (!isObject(definition)) throw new Error(`${where}/${symbol}: the workflow definition ${JSON.stringify(resource.properties?.definition)} could not be resolved`);
    const triggers = isObject(definition.triggers) ? Object.entries(definition.triggers) : [];
    const c = countActions(definition.actions, scope);
    rows.push({
      name: String(resource.name),
      symbol,
      module: where,
      copies: resource.copy ? String(resource.copy.count) : null,
      triggers: triggers.length,
      triggerTypes: triggers.map(([, t]) => String(t?.type)),
      managedTriggers: triggers.filter(([, t]) => MANAGED.has(String(t?.type ?? '').toLowerCase())).length,
      actions: c.most,
      fewestActions: c.fewest,
      definedActions: c.defined,
      managedActions: c.managed,
      hasLoops: c.loops.length > 0,
      loops: c.loops,
      retries: c.retries,
    });
  }
  return rows;
}

function markdown(file, rows) {
  const lines = [
    `### ${file}`,
    '',
    '| workflow | module | triggers | actions per run (most) | fewest | defined | managed-connector ops | loops (repeat per item) | retries (each billed) |',
    '|---|---|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const r of rows) {
    const retries = r.retries.map((x) => `${x.action}: up to ${x.count} (${x.type})`).join('; ') || '—';
    lines.push(
      `| ${r.name}${r.copies ? ` (copy × ${r.copies})` : ''} | ${r.module} | ${r.triggers} (${r.triggerTypes.join(', ')}) | ${r.actions} | ${r.fewestActions} | ${r.definedActions} | ${r.managedTriggers + r.managedActions} | ${r.hasLoops ? r.loops.join('; ') : 'no'} | ${retries} |`,
    );
  }
  if (rows.length === 0) lines.push('| (no Microsoft.Logic/workflows resource) | | | | | | | | |');
  return lines.join('\n');
}

const COMMUNITY = [
  ['Sentinel community playbook: post a Teams card', 6],
  ['Sentinel community playbook: Jira sync', 37],
  ['Sentinel community playbook: ServiceNow sync', 43],
];

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const files = process.argv.length > 2 ? process.argv.slice(2) : [path.join(root, 'bicep', 'azuredeploy.json')];
  const out = [];
  for (const file of files) out.push(markdown(path.relative(process.cwd(), file) || file, countLogicAppActions(readFileSync(file, 'utf8'))));
  out.push(
    '',
    'Beside (figures from the issue, not counted here; pass their azuredeploy.json to count them):',
    '',
    '| playbook | actions per run |',
    '|---|---:|',
    ...COMMUNITY.map(([name, n]) => `| ${name} | ${n} |`),
    '',
    'Azure bills every trigger execution and every action execution (retries and loop iterations included).',
  );
  console.log(out.join('\n'));
}
