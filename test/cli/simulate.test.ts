import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECEIVER_KINDS } from '../../functions/config/schema.js';
import type { SimulateReport } from '../../functions/cli/simulate.js';
import { spk, tempDir, REPO } from './cli-helpers.js';

const SAMPLE = join(REPO, 'samples/defender-experts-day.jsonl');
const DELIVERED = new Set(['sent', 'created', 'updated', 'resolved', 'guidance-only']);

async function simulate(args: string[]): Promise<{ code: number; report: SimulateReport; stderr: string }> {
  const r = await spk(['simulate', '--json', ...args]);
  return { code: r.code, report: JSON.parse(r.stdout) as SimulateReport, stderr: r.stderr };
}

function momentsOf(report: SimulateReport) {
  const moments: Record<string, Set<string>> = {
    'owner→Defender Experts': new Set(),
    'owner→Customer': new Set(),
    'status→Active': new Set(),
    'status→Closed': new Set(),
    'tag+Awaiting Customer Action': new Set(),
  };
  for (const e of report.events) {
    const kinds = new Set(e.deliveries.filter((d) => DELIVERED.has(d.action)).map((d) => d.channel));
    for (const c of e.changes) {
      const name =
        c.kind === 'owner' ? `owner→${c.to}` : c.kind === 'status' ? `status→${c.to}` : c.kind === 'tag-added' ? `tag+${c.to}` : null;
      if (name && moments[name]) for (const k of kinds) moments[name]!.add(k);
    }
  }
  return moments;
}

describe('spk simulate on the sample day', () => {
  it('delivers all five seed moments to every receiver kind, and the outbox matches the report', async () => {
    const dir = await tempDir();
    const { code, report } = await simulate(['--events', SAMPLE, '--memory', '--out', join(dir, 'outbox'), '--state', join(dir, 'state')]);
    expect(code).toBe(0);
    expect(report.summary.rejected).toBe(0);
    for (const [moment, kinds] of Object.entries(momentsOf(report))) {
      expect([...kinds].sort(), moment).toEqual([...RECEIVER_KINDS].sort());
    }
    // every delivery names its outbox file and the file exists
    const files = report.events.flatMap((e) => e.deliveries.filter((d) => d.action !== 'skipped-duplicate').map((d) => d.outbox));
    expect(files.every((f) => typeof f === 'string')).toBe(true);
    for (const f of files.slice(0, 40)) await expect(readFile(join(REPO, f!), 'utf8')).resolves.not.toBe('');
    // the excluded domain controller gets guidance only, on every channel
    const dc = report.events.filter((e) => e.incidentKey === '3103' && e.deliveries.length > 0);
    expect(dc.length).toBeGreaterThan(0);
    expect(dc.flatMap((e) => e.deliveries).every((d) => d.action === 'guidance-only')).toBe(true);
    // the re-fire (another tag while "Awaiting Customer Action" stays) reaches nobody
    const refire = report.events.find((e) => e.changes.some((c) => c.kind === 'tag-added' && c.to === 'USB'))!;
    expect(refire.deliveries).toEqual([]);
    // the Logic App retry of one body is a replay: duplicates only
    const replay = report.events.find((e, i) => i > 0 && JSON.stringify(e.changes) === JSON.stringify(report.events[i - 1]!.changes) && e.incidentKey === report.events[i - 1]!.incidentKey)!;
    expect(replay.deliveries.length).toBeGreaterThan(0);
    expect(replay.deliveries.every((d) => d.action === 'skipped-duplicate')).toBe(true);
    // preview page written
    const page = await readFile(join(dir, 'outbox', 'index.html'), 'utf8');
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('soc-jira/3101-1.jira.json');
  });

  it('replaying the same events twice against the same state gives only skipped-duplicate the second time', async () => {
    const dir = await tempDir();
    const { report } = await simulate(['--events', SAMPLE, '--memory', '--repeat', '2', '--out', join(dir, 'outbox'), '--state', join(dir, 'state')]);
    const half = report.events.length / 2;
    const first = report.events.slice(0, half).flatMap((e) => e.deliveries);
    const second = report.events.slice(half).flatMap((e) => e.deliveries);
    expect(first.filter((d) => d.action !== 'skipped-duplicate').length).toBeGreaterThan(100);
    expect(second.length).toBe(first.length);
    expect(new Set(second.map((d) => d.action))).toEqual(new Set(['skipped-duplicate']));
    expect(second.map((d) => d.idempotencyKey)).toEqual(first.map((d) => d.idempotencyKey));
  });

  it('runs on Azure Tables and Queues (Azurite) by default, and a second run against the same state only skips', async () => {
    const dir = await tempDir();
    const args = ['--events', SAMPLE, '--out', join(dir, 'outbox'), '--state', join(dir, 'state')];
    const one = await simulate(args);
    expect(one.report.summary.state).toMatch(/Azurite/);
    const outboxFiles = async () => (await Promise.all((await readdir(join(dir, 'outbox'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => readdir(join(dir, 'outbox', d.name))))).flat().length;
    const filesAfterFirst = await outboxFiles();
    const two = await simulate(args);
    expect(one.report.summary.deliveries).toBe(two.report.summary.deliveries);
    expect(Object.keys(two.report.summary.byAction)).toEqual(['skipped-duplicate']);
    expect(await outboxFiles()).toBe(filesAfterFirst);
  }, 120_000);

  it('reports a bad line with its number, still runs the rest, and exits 2', async () => {
    const dir = await tempDir();
    const lines = (await readFile(SAMPLE, 'utf8')).trim().split('\n');
    const events = join(dir, 'events.jsonl');
    await writeFile(events, [lines[0], '{"not": "an incident"}', '{broken json', '', lines[1]].join('\n'));
    const { code, report } = await simulate(['--events', events, '--memory', '--out', join(dir, 'outbox'), '--state', join(dir, 'state')]);
    expect(code).toBe(2);
    expect(report.events.map((e) => [e.line, e.error === null])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [5, true],
    ]);
    expect(report.events[1]!.error).toMatch(/incident/i);
    expect(report.events[2]!.error).toMatch(/^not valid JSON/);
    expect(report.events[3]!.deliveries.length).toBeGreaterThan(0);
    expect(report.summary.rejected).toBe(2);
  });

  it('prints a progress line per event and a summary table without --json', async () => {
    const dir = await tempDir();
    const r = await spk(['simulate', '--events', SAMPLE, '--memory', '--out', join(dir, 'outbox'), '--state', join(dir, 'state')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[1\/17\] line 1 incident 3101: Owner changed to Defender Experts/m);
    expect(r.stdout).toMatch(/^channel\s+sent\s+created\s+updated\s+resolved\s+guidance-only\s+skipped-duplicate\s+failed\s+total$/m);
    expect(r.stdout).toMatch(/outbox preview: .*index\.html/);
  });
});
