/** `spk render --event`: JSON documents and JSON lines, and the step the pipeline plans for the receiver. */
import { describe, expect, it } from 'vitest';
import { spk } from './cli-helpers.js';

const DAY = 'samples/defender-experts-day.jsonl';

describe('spk render --event', () => {
  it('a JSON-lines file without --line is a usage error that says how many events it has', async () => {
    const r = await spk(['render', '--receiver', 'soc-jira', '--event', DAY]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^spk render: samples\/defender-experts-day\.jsonl has 17 events \(JSON lines, on lines 1, 2, 3, .*\); pick one with --line N/);
    expect(r.stderr).not.toMatch(/Unexpected|JSON\.parse|position/);
  });

  it('renders the step the pipeline plans for that line: the merged playbooks and the event\'s changes', async () => {
    const r = await spk(['render', '--receiver', 'soc-jira', '--event', DAY, '--line', '5', '--payload']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# create → \.jira\.json/m);
    // the call each body goes to; no issue is known yet, so a later call names the documented template
    expect(r.stdout).toMatch(/^# create → \.jira\.json \(application\/json\) POST \/rest\/api\/3\/issue$/m);
    expect(r.stdout).toContain('playbook awaiting-customer-action+owner-customer, receiver soc-jira');
    const ctx = await spk(['render', '--receiver', 'soc-teams', '--event', DAY, '--line', '5', '--context']);
    const context = JSON.parse(ctx.stdout) as { incident: { number: number }; changes: unknown[] };
    expect(context.incident.number).toBe(3101);
    expect(context.changes.length).toBeGreaterThan(1);
  });

  it('prints the PagerDuty routing key as its stand-in and says where the secret comes from', async () => {
    const r = await spk(['render', '--receiver', 'soc-pagerduty', '--change', 'status=Closed', '--payload']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# resolve → \.pagerduty\.json \(application\/json\) POST \/v2\/enqueue routing_key: from routingKey$/m);
    expect(r.stdout).toMatch(/^\{"routing_key":"<routing-key>","event_action":"resolve"/m);
  });

  it('documents every option in --help, and refuses unknown ones with 64', async () => {
    const help = await spk(['render', '--help']);
    expect(help.code).toBe(0);
    for (const option of ['--receiver', '--template', '--event', '--line', '--change', '--guidance', '--payload', '--context', '--config']) expect(help.stdout).toContain(option);
    const unknown = await spk(['render', '--receiver', 'soc-jira', '--colour']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('--colour');
    const orphan = await spk(['render', '--receiver', 'soc-jira', '--line', '3']);
    expect(orphan.code).toBe(64);
  });
});
