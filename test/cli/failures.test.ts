// A failed delivery is visible: its reason on the progress line and in the summary, a failure record in the
// outbox for the preview page, and exit code 3.
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SimulateReport } from '../../functions/cli/simulate.js';
import type { FailedDeliveryRecord } from '../../functions/connectors/outbox/outbox.js';
import { spk, tempDir, REPO } from './cli-helpers.js';

const UNSET = 'SPK_TEST_TEAMS_HOOK_NEVER_SET';

/** the shipped config with soc-teams pointed at an app setting that is not set: every Teams delivery fails */
async function brokenTeams(): Promise<{ dir: string; config: string; events: string }> {
  const dir = await tempDir('spk-fail-');
  const config = join(dir, 'playbooks');
  await cp(join(REPO, 'playbooks'), config, { recursive: true });
  const receivers = await readFile(join(config, 'receivers.yaml'), 'utf8');
  await writeFile(join(config, 'receivers.yaml'), receivers.replace('# webhookUrl: env:TEAMS_SOC_WEBHOOK_URL', `webhookUrl: env:${UNSET}`));
  const lines = (await readFile(join(REPO, 'samples/defender-experts-day.jsonl'), 'utf8')).trim().split('\n');
  const events = join(dir, 'events.jsonl');
  await writeFile(events, `${lines.slice(0, 2).join('\n')}\n`);
  return { dir, config, events };
}


async function failedRecords(outbox: string): Promise<FailedDeliveryRecord[]> {
  const names = (await readdir(join(outbox, 'soc-teams'))).filter((n) => n.endsWith('.failed.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(outbox, 'soc-teams', n), 'utf8')) as FailedDeliveryRecord));
}

describe('spk simulate with a failing receiver', () => {
  it('shows the reason on the progress line and under "failed deliveries", and exits 3', async () => {
    const { dir, config, events } = await brokenTeams();
    const r = await spk(['simulate', '--events', events, '--config', config, '--memory', '--out', join(dir, 'outbox')]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`^\\[1/2\\] line 1 incident 3101: .*→ \\d+ deliveries \\([^)]*\\b1 failed\\b[^)]*\\) — failed: soc-teams: .*${UNSET}.* is not set`, 'm'));
    const section = r.stdout.slice(r.stdout.indexOf('failed deliveries ('));
    expect(section).toMatch(/^failed deliveries \(\d+\):\nreceiver\s+incident\s+reason\n/);
    expect(section).toMatch(new RegExp(`^soc-teams\\s+3101\\s+.*${UNSET}`, 'm'));
    expect(r.stdout).toMatch(/\d+ deliveries \(\d+ failed\)/);
  });

  it('writes a failure record per failed delivery for the preview page, once even when the failure is reported again', async () => {
    const { dir, config, events } = await brokenTeams();
    const outbox = join(dir, 'outbox');
    const r = await spk(['simulate', '--json', '--events', events, '--config', config, '--memory', '--repeat', '2', '--out', outbox]);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as SimulateReport;
    const failed = report.events.flatMap((e) => e.deliveries.filter((d) => d.action === 'failed'));
    const keys = [...new Set(failed.map((d) => d.idempotencyKey))];
    expect(keys.length).toBeGreaterThan(0);
    // the second pass reports the same failures again (the ledger remembers them)
    expect(failed.length).toBe(keys.length * 2);
    expect(report.summary.failed).toBe(failed.length);
    expect(failed.every((d) => d.receiver === 'soc-teams' && d.channel === 'teams' && d.error?.includes(UNSET))).toBe(true);

    const records = await failedRecords(outbox);
    expect(records.map((x) => x.idempotencyKey).sort()).toEqual([...keys].sort());
    const first = records.find((x) => x.incidentKey === '3101')!;
    expect(first).toMatchObject({ receiver: 'soc-teams', channel: 'teams', action: 'failed' });
    expect(first.error).toContain(UNSET);
    expect(typeof first.title).toBe('string');
    expect(first.title!.length).toBeGreaterThan(0);
    expect(first.incidentNumber === null || Number.isInteger(first.incidentNumber)).toBe(true);
    expect(Number.isNaN(Date.parse(first.at))).toBe(false);
  });

  it('names a Sentinel-only incident (a GUID key) by its number in the summary', async () => {
    const { dir, config, events } = await brokenTeams();
    const sentinelOnly = (await readFile(join(REPO, 'samples/defender-experts-day.jsonl'), 'utf8')).split('\n')[3]!;
    await writeFile(events, `${sentinelOnly}\n`);
    const r = await spk(['simulate', '--events', events, '--config', config, '--memory', '--out', join(dir, 'outbox')]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`^soc-teams\\s+#3104\\s+.*${UNSET}`, 'm'));
    const [record] = await failedRecords(join(dir, 'outbox'));
    expect(record).toMatchObject({ incidentKey: '0b7d0c1e-3104-4c7d-9e10-2b4f6a8c3104', incidentNumber: 3104 });
  });

  it('exits 3 rather than 2 when lines were rejected too', async () => {
    const { dir, config, events } = await brokenTeams();
    await writeFile(events, `${await readFile(events, 'utf8')}{broken json\n`);
    const r = await spk(['simulate', '--json', '--events', events, '--config', config, '--memory', '--out', join(dir, 'outbox')]);
    expect(r.code).toBe(3);
    expect((JSON.parse(r.stdout) as SimulateReport).summary.rejected).toBe(1);
  });

  it('says what exit 3 means in its help', async () => {
    const r = await spk(['simulate', '--help']);
    expect(r.stdout).toMatch(/3 some deliveries failed/);
  });
});
