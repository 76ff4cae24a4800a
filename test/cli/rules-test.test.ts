import { describe, expect, it } from 'vitest';
import { spk } from './cli-helpers.js';

interface Step {
  playbook: string;
  playbooks: string[];
  receiver: string;
}
interface Plan {
  changes: string[];
  playbooks: string[];
  deliveries: number;
  steps: Step[];
  runs: Array<{ rule: string; replay: boolean; deliveries: number }>;
}
interface Report {
  fired: string[];
  playbooks: string[];
  rules: Array<Record<string, unknown>>;
  plan: Plan | null;
}

async function rulesTest(args: string[]): Promise<Report> {
  const r = await spk(['rules', 'test', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}
const fixture = (name: string) => ['--event', `test/fixtures/rules/${name}.json`];

describe('spk rules test: the automation rule that fires, and what the real pipeline then plans', () => {
  it.each([
    ['owner-defender-experts', ['owner-changed'], ['owner-defender-experts']],
    ['owner-customer', ['owner-changed'], ['owner-customer']],
    ['status-active', ['status-active'], ['status-active']],
    ['status-closed', ['status-closed'], ['status-closed']],
    ['tag-awaiting-customer-action', ['tag-awaiting-customer-action'], ['awaiting-customer-action']],
  ])('%s fires exactly its rule, and the kit runs its playbook to every receiver', async (name, rules, playbooks) => {
    const report = await rulesTest(fixture(name));
    expect(report.fired).toEqual(rules);
    expect(report.plan?.playbooks).toEqual(playbooks);
    expect(report.plan?.deliveries).toBe(12);
    expect(new Set(report.plan?.steps.map((s) => s.receiver)).size).toBe(12);
  });

  it('the known re-fire (another tag added while "Awaiting Customer Action" stays) runs the playbook, and the kit plans nothing', async () => {
    const report = await rulesTest(fixture('refire-other-tag-added'));
    expect(report.fired).toEqual(['tag-awaiting-customer-action']);
    expect(report.playbooks).toEqual(['spk-awaiting-customer-action']);
    expect(report.plan).toEqual({
      changes: ['Tag added: Jira: SOC-42'],
      playbooks: [],
      deliveries: 0,
      steps: [],
      runs: [{ rule: 'tag-awaiting-customer-action', replay: false, deliveries: 0 }],
    });
  });

  it('an update made by an automation rule fires nothing, so there is nothing to plan', async () => {
    const report = await rulesTest(fixture('closed-by-automation-rule'));
    expect(report.fired).toEqual([]);
    expect(report.plan).toBeNull();
  });

  it('reports the plan, not a guessed verdict per rule', async () => {
    const report = await rulesTest(fixture('refire-other-tag-added'));
    expect(report.rules.every((r) => !('kit' in r))).toBe(true);
    const text = await spk(['rules', 'test', ...fixture('refire-other-tag-added')]);
    expect(text.stdout).not.toMatch(/kit: (new|no new) change/);
    expect(text.stdout.trim().split('\n').at(-1)).toBe('kit (real pipeline): Tag added: Jira: SOC-42 → no playbook reacts, nothing is sent');
  });

  it('two rules fire for one update: the first run plans the steps, the second is an exact replay with the same keys', async () => {
    const report = await rulesTest(fixture('experts-pick-up'));
    expect(report.fired).toEqual(['owner-changed', 'status-active']);
    expect(report.plan?.runs).toEqual([
      { rule: 'owner-changed', replay: false, deliveries: 12 },
      { rule: 'status-active', replay: true, deliveries: 12 },
    ]);
  });
});

describe('spk rules test on JSON lines', () => {
  const DAY = 'samples/defender-experts-day.jsonl';

  it('takes one event of a JSON-lines file with --line N, and lists every receiver of the merged step', async () => {
    const report = await rulesTest(['--event', DAY, '--line', '5']);
    expect(report.fired).toContain('owner-changed');
    expect(report.plan?.playbooks).toEqual(['awaiting-customer-action', 'owner-customer']);
    expect(report.plan?.steps).toHaveLength(12);
    for (const s of report.plan!.steps) expect(s.playbooks).toEqual(['awaiting-customer-action', 'owner-customer']);
    const text = await spk(['rules', 'test', '--event', DAY, '--line', '5']);
    expect(text.stdout).toMatch(/^ {2}ticket upsert\s+soc-jira \(jira, template ticket\) → outbox {2}for awaiting-customer-action \+ owner-customer$/m);
  });

  it('without --line, says how many events the file has instead of a JSON parse error', async () => {
    const r = await spk(['rules', 'test', '--event', DAY]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^spk rules test: samples\/defender-experts-day\.jsonl has 17 events .*pick one with --line N/);
    expect(r.stderr).not.toMatch(/Unexpected|position/);
  });

  it('documents --line and --config in --help', async () => {
    const r = await spk(['rules', 'test', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--line N');
    expect(r.stdout).toContain('--config DIR');
  });
});
