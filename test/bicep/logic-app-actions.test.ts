/**
 * Logic App billed actions per run (bench/logic-app-actions.mjs): the counter checked against a hand-written
 * template with every control action nested, then the kit's compiled playbooks counted. Azure bills every
 * trigger and every action execution.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without type declarations (bench/ ships no .d.ts)
import { countLogicAppActions } from '../../bench/logic-app-actions.mjs';
import { compiledTemplatePath, loadCompiledTemplate, projectRoot } from './arm.js';

interface Row {
  name: string;
  module: string;
  copies: string | null;
  triggers: number;
  triggerTypes: string[];
  actions: number;
  fewestActions: number;
  definedActions: number;
  managedTriggers: number;
  managedActions: number;
  hasLoops: boolean;
  loops: string[];
  retries: Array<{ action: string; type: string; count: unknown }>;
}
const count = countLogicAppActions as (template: unknown) => Row[];

const act = (type = 'Compose', extra: Record<string, unknown> = {}) => ({ type, inputs: {}, runAfter: {}, ...extra });

/** a workflow with Scope ⊃ If ⊃ Switch ⊃ Foreach, each branch a different length */
const nestedDefinition = {
  triggers: { manual: { type: 'Request', kind: 'Http' } },
  actions: {
    Init: act('InitializeVariable'),
    Call: act('ApiConnection', { inputs: { retryPolicy: { type: 'fixed', count: 3, interval: 'PT5S' } } }),
    Outer_scope: {
      type: 'Scope',
      actions: {
        First: act(),
        Decide: {
          type: 'If',
          expression: { and: [] },
          actions: {
            Then_one: act(),
            By_severity: {
              type: 'Switch',
              expression: '@x',
              cases: {
                High: {
                  case: 'High',
                  actions: {
                    Each_alert: {
                      type: 'Foreach',
                      foreach: '@items',
                      actions: { Post: act('ApiConnection'), Log: act() },
                    },
                  },
                },
                Low: { case: 'Low', actions: { Low_one: act() } },
              },
              default: { actions: {} },
            },
          },
          else: { actions: { Else_one: act(), Else_two: act(), Else_three: act(), Else_four: act() } },
        },
      },
    },
    Wait_until: { type: 'Until', expression: '@true', limit: { count: 5 }, actions: { Poll: act('Http') } },
  },
};
// Then path: Then_one + By_severity + (High: Each_alert + Post + Log = 3 | Low: 1 | default: 0) → 1 + 1 + 3 = 5, fewest 2
// Else path: 4. If = 1 + max(5, 4) = 6, fewest 1 + min(2, 4) = 3
// Outer_scope = 1 + First + If → 1 + 1 + 6 = 8, fewest 1 + 1 + 3 = 5
// top: Init + Call + Outer_scope + Wait_until(1 + Poll) → 1 + 1 + 8 + 2 = 12, fewest 1 + 1 + 5 + 2 = 9
// defined: Init, Call, Outer_scope, First, Decide, Then_one, By_severity, Each_alert, Post, Log, Low_one, 4 × Else, Wait_until, Poll = 17

const handWritten = {
  $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
  contentVersion: '1.0.0.0',
  variables: { flat: { triggers: { t1: { type: 'Recurrence' }, t2: { type: 'ApiConnectionWebhook' } }, actions: { Only: act('Http') } } },
  resources: [
    { type: 'Microsoft.Web/connections', name: 'conn', properties: {} },
    { type: 'Microsoft.Logic/workflows', name: 'nested-one', properties: { definition: nestedDefinition } },
    { type: 'Microsoft.Logic/workflows', name: 'referenced', existing: true },
    {
      type: 'Microsoft.Resources/deployments',
      name: 'module',
      properties: {
        parameters: { retries: { value: 7 } },
        template: {
          parameters: { retries: { type: 'int', defaultValue: 2 } },
          variables: { definition: { triggers: { t: { type: 'Request' } }, actions: { Send: act('Http', { inputs: { retryPolicy: { type: 'exponential', count: "[parameters('retries')]" } } }) } } },
          resources: {
            wf: { type: 'Microsoft.Logic/workflows', name: 'in-a-module', copy: { name: 'wf', count: 3 }, properties: { definition: "[variables('definition')]" } },
          },
        },
      },
    },
    { type: 'Microsoft.Logic/workflows', name: 'from-a-variable', properties: { definition: "[variables('flat')]" } },
  ],
};

describe('countLogicAppActions on a hand-written template', () => {
  const rows = count(handWritten);
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));

  it('finds every deployed workflow, in modules too, and skips existing references', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(['from-a-variable', 'in-a-module', 'nested-one']);
    expect(byName['in-a-module']!.module).toBe('main/module');
    expect(byName['in-a-module']!.copies).toBe('3');
  });

  it('counts through Scope, If, Switch, Foreach and Until: the longest way, the shortest, everything defined, the loops', () => {
    const r = byName['nested-one']!;
    expect(r.triggers).toBe(1);
    expect(r.actions).toBe(12);
    expect(r.fewestActions).toBe(9);
    expect(r.definedActions).toBe(17);
    expect(r.hasLoops).toBe(true);
    expect(r.loops).toEqual(['Outer_scope/Decide[then]/By_severity[case High]/Each_alert (Foreach)', 'Wait_until (Until)']);
    expect(r.managedActions).toBe(2);
    expect(r.retries).toEqual([{ action: 'Call', type: 'fixed', count: 3 }]);
  });

  it('resolves definitions and retry counts given as [variables()] / [parameters()]', () => {
    expect(byName['from-a-variable']).toMatchObject({ triggers: 2, managedTriggers: 1, actions: 1, fewestActions: 1, definedActions: 1, hasLoops: false });
    // the value the parent passes wins over the module's default
    expect(byName['in-a-module']).toMatchObject({ triggers: 1, actions: 1, hasLoops: false, retries: [{ action: 'Send', type: 'exponential', count: 7 }] });
  });

  it('refuses a definition it cannot resolve instead of counting it as empty', () => {
    const t = { resources: [{ type: 'Microsoft.Logic/workflows', name: 'x', properties: { definition: "[variables('missing')]" } }] };
    expect(() => count(t)).toThrow(/could not be resolved/);
  });
});

describe("the kit's compiled playbooks (bicep/azuredeploy.json)", () => {
  const rows = count(loadCompiledTemplate());

  it('run one trigger and one action: the Sentinel incident trigger and the HTTP call to dispatch, nothing else', () => {
    // one workflow resource, copied once per playbook key
    expect(rows).toHaveLength(1);
    const [r] = rows;
    expect(r).toMatchObject({
      module: 'main/playbooks',
      triggers: 1,
      triggerTypes: ['ApiConnectionWebhook'],
      actions: 1,
      fewestActions: 1,
      definedActions: 1,
      managedTriggers: 1,
      managedActions: 0,
      hasLoops: false,
    });
    expect(r!.copies).toMatch(/playbookNames/);
    // a failed dispatch is retried by the Logic App: each retry is one more billed execution (default 10)
    expect(r!.retries).toEqual([{ action: 'Dispatch_to_kit', type: 'exponential', count: 10 }]);
  });

  it('prints the markdown table when run as a script', () => {
    const out = execFileSync(process.execPath, [path.join(projectRoot, 'bench/logic-app-actions.mjs'), compiledTemplatePath], { encoding: 'utf8' });
    expect(out).toMatch(/^\| workflow \| module \| triggers \| actions per run \(most\) \|/m);
    expect(out).toMatch(/\| main\/playbooks \| 1 \(ApiConnectionWebhook\) \| 1 \| 1 \| 1 \| 1 \| no \| Dispatch_to_kit: up to 10 \(exponential\) \|/);
    expect(out).toMatch(/Jira sync \| 37 \|/);
  });
});
