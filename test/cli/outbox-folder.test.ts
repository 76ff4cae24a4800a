// `spk simulate --out DIR [--fresh]`: the kit writes and empties only a folder it owns, and says so up front.
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spk, tempDir, REPO } from './cli-helpers.js';

const SAMPLE = join(REPO, 'samples/defender-experts-day.jsonl');

/** a throwaway project folder (playbooks + a two-event file) to run spk in, so a refusal that fails cannot touch the repository */
async function project(): Promise<string> {
  const dir = await tempDir('spk-outbox-');
  await cp(join(REPO, 'playbooks'), join(dir, 'playbooks'), { recursive: true });
  const lines = (await readFile(SAMPLE, 'utf8')).trim().split('\n');
  await writeFile(join(dir, 'events.jsonl'), `${lines.slice(0, 2).join('\n')}\n`);
  await writeFile(join(dir, 'notes.txt'), 'mine\n');
  return dir;
}

function simulate(cwd: string, ...args: string[]) {
  return spk(['simulate', '--events', 'events.jsonl', '--memory', ...args], {}, cwd);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** nothing ran: no progress line, no summary */
function expectNothingRan(r: { stdout: string }): void {
  expect(r.stdout).not.toMatch(/\[1\/2\]|outbox preview/);
}

describe('spk simulate --fresh removes only what spk wrote', () => {
  it('marks the outbox it creates, and a --fresh run clears the previous run but nothing else', async () => {
    const dir = await project();
    const first = await simulate(dir, '--out', 'outbox', '--fresh');
    expect(first.code).toBe(0);
    expect(await readFile(join(dir, 'outbox', '.spk-outbox'), 'utf8')).toMatch(/written by spk simulate/);
    // a file of an earlier run that this run would not write again
    await writeFile(join(dir, 'outbox', 'soc-teams', 'old-incident-1.teams.json'), '{}');
    await writeFile(join(dir, 'outbox', 'index.html.tmp'), 'left over');
    const second = await simulate(dir, '--out', 'outbox', '--fresh');
    expect(second.code).toBe(0);
    expect(await exists(join(dir, 'outbox', 'soc-teams', 'old-incident-1.teams.json'))).toBe(false);
    expect(await exists(join(dir, 'outbox', 'index.html.tmp'))).toBe(false);
    expect(await exists(join(dir, 'outbox', 'soc-teams', '3101-1.teams.json'))).toBe(true);
    expect(await exists(join(dir, 'outbox', '.spk-outbox'))).toBe(true);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');
  });

  it('refuses to empty a folder spk did not write (no marker), deletes nothing and runs nothing', async () => {
    const dir = await project();
    await mkdir(join(dir, 'photos'));
    await writeFile(join(dir, 'photos', 'cat.jpg'), 'meow');
    for (const fresh of [['--fresh'], []]) {
      const r = await simulate(dir, '--out', 'photos', ...fresh);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/refusing to (empty|write into) \.\/photos: it was not written by spk \(no \.spk-outbox marker\); choose another --out or empty it yourself/);
      expectNothingRan(r);
      expect(await readdir(join(dir, 'photos'))).toEqual(['cat.jpg']);
    }
  });

  it('refuses to empty a marked outbox that holds a file spk would not write, naming it', async () => {
    const dir = await project();
    expect((await simulate(dir, '--out', 'outbox')).code).toBe(0);
    for (const foreign of ['my-notes.md', 'soc-teams/photo.jpg', 'soc-teams/3101-1.teams.json.bak']) {
      await writeFile(join(dir, 'outbox', foreign), 'precious');
      const before = (await readdir(join(dir, 'outbox'), { recursive: true })).sort();
      const r = await simulate(dir, '--out', 'outbox', '--fresh');
      expect(r.code, foreign).toBe(1);
      expect(r.stderr).toContain(`refusing to empty ./outbox: ./outbox/${foreign} was not written by spk`);
      expectNothingRan(r);
      expect((await readdir(join(dir, 'outbox'), { recursive: true })).sort()).toEqual(before);
      await import('node:fs/promises').then((fs) => fs.rm(join(dir, 'outbox', foreign)));
    }
  });

  it('refuses the current folder, a parent of it and the config folder as --out, with or without --fresh', async () => {
    const dir = await project();
    const work = join(dir, 'work');
    await mkdir(work);
    await cp(join(dir, 'playbooks'), join(work, 'playbooks'), { recursive: true });
    await cp(join(dir, 'events.jsonl'), join(work, 'events.jsonl'));
    for (const out of ['.', work, '..', dir, 'playbooks', 'playbooks/outbox']) {
      for (const fresh of [['--fresh'], []]) {
        const r = await simulate(work, '--out', out, ...fresh);
        expect(r.code, out).toBe(1);
        expect(r.stderr).toMatch(/refusing --out .*: it (is the current folder|is a parent of the current folder|overlaps the config folder \.\/playbooks)/);
        expectNothingRan(r);
      }
    }
    expect((await readdir(work)).sort()).toEqual(['events.jsonl', 'playbooks']);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');
  });

  it('refuses a --state that --fresh would delete with the project in it', async () => {
    const dir = await project();
    for (const state of ['.', 'playbooks', 'outbox/..']) {
      const r = await simulate(dir, '--out', 'outbox', '--fresh', '--state', state);
      expect(r.code, state).toBe(1);
      expect(r.stderr).toMatch(/refusing --fresh with --state/);
      expectNothingRan(r);
    }
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(await exists(join(dir, 'playbooks', 'receivers.yaml'))).toBe(true);
  });
});

describe('spk simulate --out is checked before anything runs', () => {
  it('refuses a plain file, and a path under a plain file, leaving the file as it was', async () => {
    const dir = await project();
    for (const out of ['notes.txt', 'notes.txt/outbox']) {
      for (const fresh of [['--fresh'], []]) {
        const r = await simulate(dir, '--out', out, ...fresh);
        expect(r.code, out).toBe(1);
        expect(r.stderr).toMatch(/--out .*notes\.txt is a file, not a folder|\.\/notes\.txt is a file, not a folder/);
        expectNothingRan(r);
        expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');
      }
    }
  });

  it('refuses a place it cannot write', async () => {
    const dir = await project();
    const r = await simulate(dir, '--out', '/proc/self/spk-outbox');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot (create --out|write the outbox) \/proc\/self\/spk-outbox/);
    expectNothingRan(r);
  });

  it('writes the preview page into a new outbox that receives no file', async () => {
    const dir = await project();
    await writeFile(join(dir, 'empty.jsonl'), '\n// nothing today\n\n');
    const r = await spk(['simulate', '--events', 'empty.jsonl', '--memory', '--out', 'new/outbox'], {}, dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outbox preview: new\/outbox\/index\.html/);
    expect(await readFile(join(dir, 'new', 'outbox', 'index.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(await exists(join(dir, 'new', 'outbox', '.spk-outbox'))).toBe(true);
  });
});
