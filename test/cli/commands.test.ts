import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spk, tempDir, REPO } from './cli-helpers.js';

async function configCopy(): Promise<string> {
  const dir = await tempDir('spk-config-');
  await cp(join(REPO, 'playbooks'), join(dir, 'playbooks'), { recursive: true });
  return join(dir, 'playbooks');
}

describe('spk validate', () => {
  it('passes on the shipped playbooks, receivers, templates and rules', async () => {
    const r = await spk(['validate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valid: 5 playbooks, 12 receivers, \d+ automation rules/);
  });

  it('prints every problem as file:line:col and exits 1', async () => {
    const dir = await configCopy();
    await writeFile(join(dir, 'broken.yaml'), 'on:\n  statusChangedTo: Resolved\nsteps:\n  - notify: [soc-teams, soc-nobody]\n    template: incident-change\n');
    await writeFile(join(dir, 'receivers.yaml'), 'receivers:\n  soc-teams:\n    kind: teams\n    webhookUrl: https://prod-00.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abc\n');
    const r = await spk(['validate', '--config', dir]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/playbooks\/receivers\.yaml:4:17 receivers\.soc-teams\.webhookUrl: must be a secret reference like env:NAME/));
    expect(lines).toContainEqual(expect.stringMatching(/playbooks\/broken\.yaml:2:20 on\.statusChangedTo: /));
    expect(r.stderr).not.toContain('sig=abc');
    expect(lines.at(-1)).toMatch(/^\d+ problem\(s\)$/);
  });

  it('reports every broken template, and a broken receivers.yaml once rather than as 50 unknown receivers', async () => {
    const dir = await configCopy();
    await writeFile(join(dir, 'templates', 'slack', 'incident-change.hbs'), '{{#*inline "message"}}{"text": "{{#if x}}"}{{/inline}}');
    await writeFile(join(dir, 'templates', 'sms', 'incident-change.hbs'), '{{#*inline "text"}}{{#each}}{{/inline}}');
    await writeFile(join(dir, 'receivers.yaml'), 'receivers:\n  soc-teams:\n    kind: teams\n    webhookUrl: https://example.invalid/hook?sig=abc\n');
    await writeFile(join(dir, 'speedy.yaml'), 'on:\n  statusChangedTo: Closed\n  titleMatches: "(["\nsteps:\n  - ticket: soc-jira\n');
    const r = await spk(['validate', '--config', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/templates\/slack\/incident-change\.hbs/);
    expect(r.stderr).toMatch(/templates\/sms\/incident-change\.hbs/);
    expect(r.stderr).not.toMatch(/unknown receiver/);
    expect(r.stderr).toMatch(/speedy\.yaml:3:\d+ on\.titleMatches: is not a valid regular expression/);
  });

  it('reports an automation rule mistake at its line and column', async () => {
    const dir = await tempDir('spk-rules-');
    await cp(join(REPO, 'rules'), join(dir, 'rules'), { recursive: true });
    const file = join(dir, 'rules', 'status-active.yaml');
    const { readFile } = await import('node:fs/promises');
    await writeFile(file, (await readFile(file, 'utf8')).replace('conditionType: PropertyChanged', 'conditionType: PropertyChangd'));
    const r = await spk(['validate', '--rules', join(dir, 'rules')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rules\/status-active\.yaml:\d+:\d+ triggeringLogic\.conditions\.0\.conditionType: /);
  });

  it('reports a template fault that every seed moment renders once, not once per moment', async () => {
    const dir = await configCopy();
    const file = join(dir, 'templates', 'teams', 'incident-change.hbs');
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(file, 'utf8');
    expect(source).toContain('"url": "{{link incidentUrl}}"');
    await writeFile(file, source.replace('"url": "{{link incidentUrl}}"', '"url": "{{incident.title}}"'));
    const r = await spk(['validate', '--config', dir]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.includes('incident text cannot be a URL'))).toHaveLength(1);
    expect(lines.at(-1)).toBe('1 problem(s)');
  });

  it('--deploy refuses receivers that would only write to the outbox in the Function App, and accepts them marked dryRun', async () => {
    const plain = await spk(['validate']);
    expect(plain.code).toBe(0);
    const r = await spk(['validate', '--deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^playbooks\/receivers\.yaml:\d+:\d+ receiver "soc-jira" has no endpoint: .*give it an endpoint \(baseUrl\) or mark it dryRun: true$/m);
    expect(r.stderr).toMatch(/receiver "soc-pagerduty" has no endpoint: .*give it an endpoint \(routingKey\) or mark it dryRun: true$/m);
    expect(r.stderr).toMatch(/receiver "soc-email" has no endpoint: .*give it an endpoint \(acsEndpoint or graphBaseUrl or smtpHost\) or mark it dryRun: true$/m);
    expect(r.stderr).toMatch(/receiver "soc-lead-call" has no endpoint: .*give it an endpoint \(twilioAccountSid\) or mark it dryRun: true$/m);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('12 problem(s)');

    const dir = await configCopy();
    const { readFile } = await import('node:fs/promises');
    const receivers = join(dir, 'receivers.yaml');
    await writeFile(receivers, (await readFile(receivers, 'utf8')).replace(/^( {4})kind: (\w+)$/gm, '$1kind: $2\n$1dryRun: true'));
    const marked = await spk(['validate', '--deploy', '--config', dir]);
    expect(marked.stderr).toBe('');
    expect(marked.code).toBe(0);
  });

  it('reports a template syntax error with its location', async () => {
    const dir = await configCopy();
    await writeFile(join(dir, 'templates', 'slack', 'incident-change.hbs'), '{{#*inline "message"}}\n{"text": "{{#if incident.title}}oops"}\n{{/inline}}\n');
    const r = await spk(['validate', '--config', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/playbooks\/templates\/slack\/incident-change\.hbs:\d+(:\d+)? /);
  });
});

describe('spk routes test', () => {
  it('lists the playbooks and receivers a change reaches, like amtool', async () => {
    const r = await spk(['routes', 'test', '--change', 'owner=Customer']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('owner-customer (playbooks/owner-customer.yaml)');
    expect(r.stdout).toMatch(/notify\s+soc-teams \(teams, template incident-change\) → outbox/);
    expect(r.stdout).toMatch(/ticket upsert\s+soc-jira \(jira, template ticket\) → outbox/);
    expect(r.stdout).not.toContain('status-closed');
  });

  it('marks guidance-only routes when an excluded device is involved', async () => {
    const r = await spk(['routes', 'test', '--change', 'tag-added=Awaiting Customer Action', '--device', 'SRV-DC01', '--json']);
    const out = JSON.parse(r.stdout) as { playbooks: Array<{ name: string }>; deliveries: Array<{ guidanceOnly: boolean; channel: string }>; exclusions: string[] };
    expect(out.playbooks.map((p) => p.name)).toEqual(['awaiting-customer-action']);
    expect(out.deliveries).toHaveLength(12);
    expect(out.deliveries.every((d) => d.guidanceOnly)).toBe(true);
    expect(out.exclusions).toEqual(['device:SRV-DC01']);
  });

  it('reads an event file and exits 1 when nothing matches', async () => {
    const dir = await tempDir();
    const lines = join(REPO, 'samples/defender-experts-day.jsonl');
    const r = await spk(['routes', 'test', '--event', lines, '--line', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^incident 3101: Owner changed to Defender Experts; Status changed to Active/);
    const none = await spk(['routes', 'test', '--change', 'tag-added=USB']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('no playbook matches');
    await writeFile(join(dir, 'x.json'), '{"nope": 1}');
    const bad = await spk(['routes', 'test', '--event', join(dir, 'x.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/incident/i);
  });
});

describe('spk render', () => {
  it('prints the exact payload the target gets', async () => {
    const r = await spk(['render', '--receiver', 'soc-pagerduty', '--change', 'status=Closed', '--payload']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# create → \.pagerduty\.json/m);
    expect(r.stdout).toMatch(/^# resolve → \.pagerduty\.json/m);
    expect(r.stdout).toMatch(/"event_action":\s*"trigger"/);
    expect(r.stdout).toMatch(/"event_action":\s*"resolve"/);
    expect(r.stdout).toMatch(/"dedup_key":\s*"sentinel-4711"/);
  });

  it('prints the template parts and the template context', async () => {
    const parts = await spk(['render', '--receiver', 'soc-email', '--change', 'owner=Customer']);
    expect(parts.code).toBe(0);
    expect(parts.stdout).toMatch(/^--- subject ---$/m);
    expect(parts.stdout).toMatch(/^--- html ---$/m);
    const ctx = await spk(['render', '--receiver', 'soc-email', '--context']);
    const context = JSON.parse(ctx.stdout) as Record<string, unknown>;
    expect(Object.keys(context)).toEqual(expect.arrayContaining(['incident', 'changes', 'receiver', 'guidanceOnly']));
  });

  it('refuses an unknown receiver with the list of known ones', async () => {
    const r = await spk(['render', '--receiver', 'soc-fax']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/unknown receiver "soc-fax" \(receivers: soc-teams, /);
  });
});

describe('spk simulate input', () => {
  it('says clearly when the events file cannot be read', async () => {
    const r = await spk(['simulate', '--events', 'no-such-file.jsonl', '--memory']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-file\.jsonl cannot read the events file: ENOENT/);
  });
});

describe('spk', () => {
  it('explains unknown commands and flags', async () => {
    expect((await spk(['frobnicate'])).code).toBe(64);
    const r = await spk(['simulate', '--no-such-flag']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/no-such-flag/);
  });
});
