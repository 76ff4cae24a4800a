/**
 * `spk rules test` on the shipped rules/*.yaml: each seed moment fires exactly its rule, the known
 * "Awaiting Customer Action" re-fire happens and the kit plans nothing for it, and the kit's own kind of writes fire nothing.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesTestCommand } from '../../functions/cli/rules-test.js';
import { projectRoot } from './arm.js';

interface JsonReport {
  trigger: string;
  changes: string[];
  fired: string[];
  playbooks: string[];
  rules: { name: string; order: number; fires: boolean; playbook: string; trace: string[] }[];
  plan: { changes: string[]; playbooks: string[]; deliveries: number } | null;
}

async function run(args: string[], cwd = projectRoot) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await rulesTestCommand(args, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), cwd });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

async function report(fixture: string): Promise<JsonReport> {
  const r = await run(['--event', `test/fixtures/rules/${fixture}`, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as JsonReport;
}

describe('seed moments against the shipped rules', () => {
  it.each([
    ['owner-defender-experts.json', 'owner-changed', 'spk-owner-changed', 'Owner changed to Defender Experts'],
    ['owner-customer.json', 'owner-changed', 'spk-owner-changed', 'Owner changed to Customer'],
    ['status-active.json', 'status-active', 'spk-status-active', 'Status changed to Active'],
    ['status-closed.json', 'status-closed', 'spk-status-closed', 'Status changed to Closed'],
    ['tag-awaiting-customer-action.json', 'tag-awaiting-customer-action', 'spk-awaiting-customer-action', 'Tag added: Awaiting Customer Action'],
  ])('%s fires exactly %s, which runs %s, and the kit plans deliveries for it', async (fixture, rule, playbook, change) => {
    const r = await report(fixture);
    expect(r.fired).toEqual([rule]);
    expect(r.playbooks).toEqual([playbook]);
    expect(r.plan?.changes).toContain(change);
    expect(r.plan?.deliveries).toBe(12);
  });

  it('shows the known re-fire: another tag added while "Awaiting Customer Action" is present fires the tag rule, and the kit plans nothing', async () => {
    const r = await report('refire-other-tag-added.json');
    expect(r.fired).toEqual(['tag-awaiting-customer-action']);
    expect(r.playbooks).toEqual(['spk-awaiting-customer-action']);
    expect(r.plan).toMatchObject({ changes: ['Tag added: Jira: SOC-42'], playbooks: [], deliveries: 0 });
  });

  it('fires the owner and status rules, in order, when the experts take an incident (one update, two fields)', async () => {
    const r = await report('experts-pick-up.json');
    expect(r.fired).toEqual(['owner-changed', 'status-active']);
    expect(r.rules.map((x) => x.order)).toEqual([...r.rules.map((x) => x.order)].sort((a, b) => a - b));
  });

  it('fires nothing for an update made by an automation rule (the loop guard) or for a new incident', async () => {
    const guarded = await report('closed-by-automation-rule.json');
    expect(guarded.fired).toEqual([]);
    expect(guarded.rules.find((x) => x.name === 'status-closed')!.trace).toContain(
      '✗ IncidentUpdatedBySource NotEquals "Playbook", "AutomationRule": is "AutomationRule"',
    );
    const created = await report('created.json');
    expect(created.trigger).toBe('Created');
    expect(created.fired).toEqual([]);
  });
});

describe('spk rules test output', () => {
  it('prints the firing rules in order, the playbooks they run, each condition, and what the kit plans', async () => {
    const r = await run(['--event', 'test/fixtures/rules/refire-other-tag-added.json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('4 automation rule(s) against test/fixtures/rules/refire-other-tag-added.json (incident updated: Tag added: Jira: SOC-42)');
    expect(lines).toContain('FIRES   940  tag-awaiting-customer-action — Playbook Kit: tag "Awaiting Customer Action" added');
    expect(lines).toContain('             runs playbook spk-awaiting-customer-action');
    expect(lines).toContain('             ✓ IncidentLabel Equals "Awaiting Customer Action": is "Defender Experts", "Awaiting Customer Action", "Jira: SOC-42"');
    expect(lines.filter((l) => l.startsWith('skip '))).toHaveLength(3);
    expect(lines.at(-1)).toBe('kit (real pipeline): Tag added: Jira: SOC-42 → no playbook reacts, nothing is sent');
  });

  it('names the Logic Apps with the deployed prefix', async () => {
    const r = await run(['--event', 'test/fixtures/rules/status-closed.json', '--prefix', 'soc', '--json']);
    expect((JSON.parse(r.stdout) as JsonReport).playbooks).toEqual(['soc-status-closed']);
  });

  it('checks --expect and exits 1 when other rules fire', async () => {
    expect((await run(['--event', 'test/fixtures/rules/status-closed.json', '--expect', 'status-closed'])).code).toBe(0);
    expect((await run(['--event', 'test/fixtures/rules/created.json', '--expect', ''])).code).toBe(0);
    const wrong = await run(['--event', 'test/fixtures/rules/status-closed.json', '--expect', 'status-active']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe('spk rules test: expected status-active to fire, got status-closed');
  });

  it('is a usage error without --event or with an unknown option', async () => {
    expect((await run([])).code).toBe(64);
    const unknown = await run(['--event', 'x.json', '--verbose']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('--verbose');
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('_previous');
  });
});

describe('bad input', () => {
  const shippedRules = path.join(projectRoot, 'rules');
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spk-rules-test-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('points at the file, line and field of an invalid rule', async () => {
    const rules = path.join(dir, 'rules-bad-field');
    await mkdir(rules);
    const good = await readFile(path.join(projectRoot, 'rules', 'status-closed.yaml'), 'utf8');
    await writeFile(path.join(rules, 'status-closed.yaml'), good.replace('changeType: ChangedTo', 'changeType: BecameEqual'));
    const r = await run(['--event', path.join(projectRoot, 'test/fixtures/rules/status-closed.json'), '--rules', rules], dir);
    expect(r.code).toBe(1);
    const line = good.split('\n').findIndex((l) => l.includes('changeType: ChangedTo')) + 1;
    expect(r.stderr).toMatch(
      new RegExp(`^spk rules test: .*status-closed\\.yaml:${line}:\\d+ triggeringLogic\\.conditions\\.0\\.conditionProperties\\.changeType: `),
    );
  });

  it('reports YAML syntax errors with their position', async () => {
    const rules = path.join(dir, 'rules-bad-yaml');
    await mkdir(rules);
    await writeFile(path.join(rules, 'broken.yaml'), 'name: broken\norder: [1\n');
    const r = await run(['--event', path.join(projectRoot, 'test/fixtures/rules/status-closed.json'), '--rules', rules], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+ YAML: /);
  });

  it('refuses two rules with one name, since the name becomes the deployed rule\'s identity', async () => {
    const rules = path.join(dir, 'rules-duplicate');
    await mkdir(rules);
    const good = await readFile(path.join(projectRoot, 'rules', 'status-closed.yaml'), 'utf8');
    await writeFile(path.join(rules, 'a.yaml'), good);
    await writeFile(path.join(rules, 'b.yaml'), good);
    const r = await run(['--event', path.join(projectRoot, 'test/fixtures/rules/status-closed.json'), '--rules', rules], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rule name "status-closed" is also used by');
  });

  it('says what is wrong with an event that is not a trigger body', async () => {
    const event = path.join(dir, 'not-an-incident.json');
    await writeFile(event, JSON.stringify({ alertDisplayName: 'x' }));
    const r = await run(['--event', 'not-an-incident.json', '--rules', shippedRules], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('spk rules test: not-an-incident.json object.properties: missing; the event must be a Sentinel incident trigger body');
    const missing = await run(['--event', 'nope.json', '--rules', shippedRules], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the event');
  });

  it('keeps attacker-controlled incident text inert on the terminal', async () => {
    const body = JSON.parse(await readFile(path.join(projectRoot, 'test/fixtures/rules/owner-customer.json'), 'utf8')) as {
      object: { properties: { owner: { assignedTo: string } } };
    };
    body.object.properties.owner.assignedTo = 'Customer\u001b[2J\u001b]0;pwned\u0007\r\nFIRES fake';
    const event = path.join(dir, 'escape.json');
    await writeFile(event, JSON.stringify(body));
    const r = await run(['--event', event, '--rules', shippedRules], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('FIRES'))).toHaveLength(1);
  });
});
