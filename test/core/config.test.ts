import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadKit } from '../../functions/config/load.js';
import { crossCheck, parseExclusionsFile, parsePlaybookFile, parseReceiversFile, type KitConfig } from '../../functions/config/parse.js';
import type { KitError } from '../../functions/core/errors.js';

const file = (path: string, source: string) => ({ path, source });

describe('receivers.yaml', () => {
  it('accepts one receiver of every kind with secret references', () => {
    const problems: KitError[] = [];
    const r = parseReceiversFile(
      file(
        'playbooks/receivers.yaml',
        `receivers:
  t: { kind: teams, webhookUrl: env:TEAMS_URL }
  j: { kind: jira, project: SOC, baseUrl: https://contoso.atlassian.net, email: env:JIRA_EMAIL, apiToken: env:JIRA_API_TOKEN }
  p: { kind: pagerduty, routingKey: env:PD_KEY }
`,
      ),
      problems,
    );
    expect(problems).toEqual([]);
    expect(Object.keys(r)).toEqual(['t', 'j', 'p']);
    expect(r.j).toMatchObject({ kind: 'jira', issueType: 'Task', doneTransition: 'Done' });
  });

  it('refuses a literal secret and says file, line, column and field', () => {
    const problems: KitError[] = [];
    parseReceiversFile(
      file(
        'playbooks/receivers.yaml',
        `receivers:
  soc-jira:
    kind: jira
    project: SOC
    apiToken: ATATT3xFfGF0-literal-token
`,
      ),
      problems,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.format()).toBe(
      'playbooks/receivers.yaml:5:15 receivers.soc-jira.apiToken: must be a secret reference like env:NAME (an app setting / Key Vault reference), never a literal secret',
    );
    expect(problems[0]!.format()).not.toContain('ATATT3x');
  });

  it('reports an unknown field and an unknown kind at their own lines', () => {
    const problems: KitError[] = [];
    parseReceiversFile(
      file(
        'r.yaml',
        `receivers:
  a:
    kind: teams
    webhook: env:X
  b:
    kind: telegram
`,
      ),
      problems,
    );
    const lines = problems.map((p) => `${p.where?.line}:${p.where?.field}`);
    expect(lines).toContain('4:receivers.a.webhook');
    expect(problems.some((p) => p.where?.line === 6 && /kind/.test(p.message))).toBe(true);
  });

  it('reports YAML syntax errors with their position', () => {
    const problems: KitError[] = [];
    parseReceiversFile(file('r.yaml', 'receivers:\n  a: { kind: teams\n'), problems);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.format()).toMatch(/^r\.yaml:\d+:\d+ YAML: /);
  });
});

describe('playbooks', () => {
  it('takes its name from the file and applies defaults', () => {
    const problems: KitError[] = [];
    const pb = parsePlaybookFile(file('playbooks/owner-customer.yaml', 'on:\n  ownerChangedTo: Customer\nsteps:\n  - ticket: soc-jira\n'), problems);
    expect(problems).toEqual([]);
    expect(pb).toMatchObject({ name: 'owner-customer', enabled: true, steps: [{ ticket: 'soc-jira', action: 'upsert', template: 'ticket' }] });
  });

  it('needs at least one trigger in on:', () => {
    const problems: KitError[] = [];
    parsePlaybookFile(file('p.yaml', 'on:\n  severityAtLeast: High\nsteps:\n  - ticket: x\n'), problems);
    expect(problems[0]!.format()).toMatch(/^p\.yaml:2:3 on: on: needs at least one trigger/);
  });

  it('rejects an unknown status at its line', () => {
    const problems: KitError[] = [];
    parsePlaybookFile(file('p.yaml', 'on:\n  statusChangedTo: Resolved\nsteps:\n  - ticket: x\n'), problems);
    expect(problems[0]!.where).toMatchObject({ file: 'p.yaml', line: 2, field: 'on.statusChangedTo' });
  });
});

describe('exclusions.yaml', () => {
  it('defaults every list to empty', () => {
    const problems: KitError[] = [];
    expect(parseExclusionsFile(file('e.yaml', 'exclusions:\n  devices: [SRV-DC01]\n'), problems)).toEqual({ devices: ['SRV-DC01'], users: [], groups: [] });
    expect(problems).toEqual([]);
  });
});

describe('cross-file checks', () => {
  const config = (): KitConfig => {
    const problems: KitError[] = [];
    const receivers = parseReceiversFile(
      file('playbooks/receivers.yaml', 'receivers:\n  soc-teams: { kind: teams }\n  soc-jira: { kind: jira, project: SOC, baseUrl: "https://x.atlassian.net" }\n  soc-snow: { kind: servicenow, instanceUrl: "https://x.service-now.com" }\n'),
      problems,
    );
    const pb = parsePlaybookFile(
      file('playbooks/p.yaml', 'on:\n  ownerChangedTo: Customer\nsteps:\n  - notify: [soc-teams, nobody]\n    template: incident-change\n  - ticket: soc-teams\n  - notify: soc-jira\n    template: x\n'),
      problems,
    );
    expect(problems).toEqual([]);
    return { receivers, playbooks: [pb!], exclusions: { devices: [], users: [], groups: [] } };
  };

  it('names unknown receivers, wrong step kinds, missing templates and outbox-only kinds with an endpoint', () => {
    const problems = crossCheck(config(), {
      hasTemplate: (kind, name) => kind === 'teams' && name === 'incident-change',
      liveKinds: new Set(['teams', 'jira']),
    }).map((p) => p.format());
    expect(problems).toContain('playbooks/p.yaml:4:25 unknown receiver "nobody" (receivers: soc-jira, soc-snow, soc-teams)');
    expect(problems.some((p) => p.startsWith('playbooks/p.yaml:6:13 receiver "soc-teams" is a teams receiver; ticket steps need'))).toBe(true);
    expect(problems.some((p) => p.startsWith('playbooks/p.yaml:7:13 receiver "soc-jira" is a jira ticket receiver'))).toBe(true);
    expect(problems).toContainEqual(expect.stringMatching(/^playbooks\/receivers\.yaml:4:3 receiver "soc-snow": the servicenow connector can only write to the outbox/));
  });
});

describe('loadKit: templates', () => {
  const shipped = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'playbooks');

  async function kitWith(edit: (dir: string) => Promise<void>) {
    const dir = await mkdtemp(join(tmpdir(), 'spk-templates-'));
    await cp(shipped, dir, { recursive: true });
    await edit(dir);
    return { dir, kit: await loadKit(dir, { cwd: dir }) };
  }

  it('reports an invalid JSON Teams template once, at the template line and column', async () => {
    const { dir, kit } = await kitWith(async (d) => {
      const f = join(d, 'templates', 'teams', 'incident-change.hbs');
      await writeFile(f, (await readFile(f, 'utf8')).replace('"version": "1.5",', '"version": "1.5"'));
    });
    try {
      const lines = kit.problems.map((p) => p.format());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^templates\/teams\/incident-change\.hbs:10:3 part "card" is not valid JSON: expected "," or "\}"/);
      expect(kit.templates).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports every unknown field with a did-you-mean, in templates and partials', async () => {
    const { dir, kit } = await kitWith(async (d) => {
      const f = join(d, 'templates', 'pagerduty', 'ticket.hbs');
      await writeFile(f, (await readFile(f, 'utf8')).replace('{{truncate incident.title 300}}', '{{truncate incident.titel 300}}'));
      const p = join(d, 'templates', 'partials', 'footer-text.hbs');
      await writeFile(p, (await readFile(p, 'utf8')).replace('{{playbook}}', '{{playbok}}'));
    });
    try {
      const lines = kit.problems.map((p) => p.format());
      expect(lines).toContainEqual(expect.stringMatching(/^templates\/pagerduty\/ticket\.hbs:3:\d+ unknown field incident\.titel — did you mean incident\.title\?$/));
      expect(lines).toContainEqual(expect.stringMatching(/^templates\/partials\/footer-text\.hbs:1:\d+ unknown field playbok — did you mean playbook\?$/));
      expect(lines).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('loads the shipped playbooks without a problem', async () => {
    const kit = await loadKit(shipped, { cwd: shipped });
    expect(kit.problems.map((p) => p.format())).toEqual([]);
    expect(kit.templates).not.toBeNull();
  });
});
