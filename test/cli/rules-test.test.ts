import { describe, expect, it } from 'vitest';
import { spk } from './cli-helpers.js';

interface Report {
  fired: string[];
  playbooks: string[];
  kit: { changes: string[]; playbooks: string[]; deliveries: number } | null;
}

async function rulesTest(fixture: string): Promise<Report> {
  const r = await spk(['rules', 'test', '--event', `test/fixtures/rules/${fixture}.json`, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

describe('spk rules test: the automation rule that fires, and what the real pipeline then does', () => {
  it.each([
    ['owner-defender-experts', ['owner-changed'], ['owner-defender-experts']],
    ['owner-customer', ['owner-changed'], ['owner-customer']],
    ['status-active', ['status-active'], ['status-active']],
    ['status-closed', ['status-closed'], ['status-closed']],
    ['tag-awaiting-customer-action', ['tag-awaiting-customer-action'], ['awaiting-customer-action']],
  ])('%s fires exactly its rule, and the kit runs its playbook to every receiver', async (fixture, rules, playbooks) => {
    const report = await rulesTest(fixture);
    expect(report.fired).toEqual(rules);
    expect(report.kit?.playbooks).toEqual(playbooks);
    expect(report.kit?.deliveries).toBe(11);
  });

  it('the known re-fire (another tag added while "Awaiting Customer Action" stays) runs the playbook, and the kit drops it', async () => {
    const report = await rulesTest('refire-other-tag-added');
    expect(report.fired).toEqual(['tag-awaiting-customer-action']);
    expect(report.playbooks).toEqual(['spk-awaiting-customer-action']);
    expect(report.kit).toEqual({ changes: ['Tag added: Jira: SOC-42'], playbooks: [], deliveries: 0 });
  });

  it('an update made by an automation rule fires nothing', async () => {
    const report = await rulesTest('closed-by-automation-rule');
    expect(report.fired).toEqual([]);
    expect(report.kit).toBeNull();
  });
});
