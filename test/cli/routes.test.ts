/** `spk routes test` prints what the pipeline plans: the same function ingest runs, merged steps included. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/index.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { harness, sampleLines } from '../pipeline/harness.js';
import { spk, tempDir } from './cli-helpers.js';

const DAY = 'samples/defender-experts-day.jsonl';

interface Delivery {
  playbook: string;
  playbooks: string[];
  receiver: string;
  channel: string;
  step: string;
  action: string | null;
  template: string;
  changes: string[];
}
interface Plan {
  incidentKey: string;
  playbooks: Array<{ name: string }>;
  deliveries: Delivery[];
  replay: boolean;
}

describe('spk routes test: every receiver of every planned step', () => {
  it.each([
    [1, ['owner-defender-experts', 'status-active']],
    [5, ['awaiting-customer-action', 'owner-customer']],
  ])('line %i of the sample day: two playbooks fire, and their one merged step lists every receiver', async (line, playbooks) => {
    const r = await spk(['routes', 'test', '--event', DAY, '--line', String(line)]);
    expect(r.code, r.stderr).toBe(0);
    for (const p of playbooks) expect(r.stdout).toContain(`  ${p} (playbooks/${p}.yaml) ← `);
    const stepLines = r.stdout.split('\n').filter((l) => /^ {4}(notify|ticket)/.test(l));
    expect(stepLines).toHaveLength(12);
    for (const receiver of ['soc-teams', 'soc-slack', 'soc-email', 'soc-lead-sms', 'soc-lead-call', 'soc-jira', 'soc-servicenow', 'soc-ado', 'soc-zendesk', 'soc-freshservice', 'soc-pagerduty']) {
      expect(stepLines).toContainEqual(expect.stringMatching(new RegExp(`^ {4}(notify|ticket upsert)\\s+${receiver} \\(.*for ${playbooks.join(' \\+ ')}$`)));
    }
  });

  it('plans exactly what ingest enqueues for the same event (same steps, same idempotency-relevant fields)', async () => {
    const lines = await sampleLines();
    const h = await harness(createMemoryStores());
    const ingested = await ingest(lines[4], h.runtime.ingestDeps);
    const r = await spk(['routes', 'test', '--event', DAY, '--line', '5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as Plan;
    const view = (s: { playbook: string; receiver: string; template: string; changes: Array<{ id: string }> | string[] }) => ({
      playbook: s.playbook,
      receiver: s.receiver,
      template: s.template,
      changes: s.changes.map((c) => (typeof c === 'string' ? c : c.id)),
    });
    expect(plan.deliveries.map(view)).toEqual(ingested.steps.map(view));
    expect(plan.deliveries[0]!.playbook).toBe('awaiting-customer-action+owner-customer');
    expect(plan.deliveries[0]!.playbooks).toEqual(['awaiting-customer-action', 'owner-customer']);
  });

  it('without --line, tests every line in order against the state the earlier lines left, like simulate', async () => {
    const r = await spk(['routes', 'test', '--event', DAY, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { events } = JSON.parse(r.stdout) as { events: Array<Plan & { line: number }> };
    expect(events.map((e) => e.line)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    // line 12 re-sends line 11: the pipeline re-plans it with the same keys and the ledger drops it
    expect(events[11]!.replay).toBe(true);
    expect(events[11]!.deliveries).toEqual(events[10]!.deliveries);
    // line 7 changes nothing the kit has not already seen from line 6
    expect(events[6]!.deliveries).toEqual([]);
    const text = await spk(['routes', 'test', '--event', DAY]);
    expect(text.stdout).toMatch(/^line 5: incident 3101: Owner changed from Defender Experts to Customer/m);
    expect(text.stdout).toMatch(/^line 12: .*an exact replay/m);
  });

  it('refuses a line that is not there, or --change over a whole JSON-lines file, as usage errors', async () => {
    const missing = await spk(['routes', 'test', '--event', DAY, '--line', '99']);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain(`spk routes test: --line 99: ${DAY} has only 17 line(s)`);
    const notNumber = await spk(['routes', 'test', '--event', DAY, '--line', 'five']);
    expect(notNumber.code).toBe(64);
    const whatIf = await spk(['routes', 'test', '--event', DAY, '--change', 'owner=Customer']);
    expect(whatIf.code).toBe(64);
    expect(whatIf.stderr).toMatch(/--change with a JSON-lines file needs --line N/);
    const unknown = await spk(['routes', 'test', '--frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('--frobnicate');
  });

  it('reads a binary or broken file as a clear error without echoing control bytes', async () => {
    const dir = await tempDir();
    const file = join(dir, 'binary.json');
    await writeFile(file, Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xff, 0x07, 0x0a]));
    const r = await spk(['routes', 'test', '--event', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not valid JSON/);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const empty = join(dir, 'empty.json');
    await writeFile(empty, '\n');
    const e = await spk(['routes', 'test', '--event', empty]);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/empty/);
  });

  it('documents --line and the JSON-lines behaviour in --help', async () => {
    const r = await spk(['routes', 'test', '--help']);
    expect(r.code).toBe(0);
    for (const option of ['--event', '--line', '--change', '--severity', '--device', '--user', '--config', '--json']) expect(r.stdout).toContain(option);
    expect(r.stdout).toMatch(/Without --line, every line is tested in order/);
  });
});
