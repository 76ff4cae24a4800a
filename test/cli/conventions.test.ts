// CLI conventions: --version, help <command>, usage errors exit 64, and no raw control bytes on the terminal.
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { processIo, terminalSafe } from '../../functions/cli/io.js';
import { spk, tempDir, REPO } from './cli-helpers.js';

const VERSION = (JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const SAMPLE = join(REPO, 'samples/defender-experts-day.jsonl');
/** ESC CSI (clear screen), BEL, DEL, a C1 CSI, a bidi override and a lone surrogate */
const HOSTILE = '\u001b[2J\u0007\u007f\u009b31m\u202e\ud800';

describe('spk --version', () => {
  it('prints the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await spk([flag]);
      expect(r.code, flag).toBe(0);
      expect(r.stdout).toBe(`spk ${VERSION}\n`);
    }
  });
});

describe('spk help', () => {
  it('spk help COMMAND prints what COMMAND --help prints', async () => {
    const pairs: Array<[string, string[]]> = [
      ['simulate', ['simulate', '--help']],
      ['validate', ['validate', '--help']],
      ['render', ['render', '--help']],
      ['routes', ['routes', 'test', '--help']],
      ['rules', ['rules', 'test', '--help']],
    ];
    const top = (await spk(['help'])).stdout;
    for (const [topic, argv] of pairs) {
      const viaHelp = await spk(['help', topic]);
      const direct = await spk(argv);
      expect(viaHelp.code, topic).toBe(0);
      expect(direct.code, topic).toBe(0);
      expect(viaHelp.stdout, topic).toBe(direct.stdout);
      expect(viaHelp.stdout, topic).not.toBe(top);
      expect(viaHelp.stdout, topic).toMatch(/usage: spk /);
    }
    expect((await spk(['routes', '--help'])).stdout).toBe((await spk(['routes', 'test', '--help'])).stdout);
    expect((await spk(['rules', '--help'])).stdout).toBe((await spk(['rules', 'test', '--help'])).stdout);
  });

  it('the top-level help names every command, help and --version', async () => {
    const r = await spk(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['validate', 'routes test', 'render', 'simulate', 'rules test', 'help COMMAND', '--version']) expect(r.stdout).toContain(`spk ${c}`);
  });

  it('simulate --help lists every option it accepts', async () => {
    const r = await spk(['simulate', '--help']);
    for (const option of ['--events', '--json', '--out', '--fresh', '--config', '--memory', '--state', '--repeat', '--verbose', '--help']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+(-\\w, )?${option}\\b`, 'm'));
    }
    expect(r.stdout).toMatch(/^exit: .*64 usage error/ms);
  });

  it('help for something that is not a command is a usage error', async () => {
    const r = await spk(['help', 'frobnicate']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/no help for "frobnicate" \(commands: validate, routes, render, simulate, rules\)/);
  });
});

describe('usage errors exit 64', () => {
  it('spk alone prints the help and exits 64', async () => {
    const r = await spk([]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('spk simulate --events FILE.jsonl');
    expect(r.stdout).toBe('');
  });

  it('an unknown option exits 64 for every command', async () => {
    for (const argv of [['validate'], ['routes', 'test'], ['render', '--receiver', 'soc-teams'], ['simulate', '--events', SAMPLE], ['rules', 'test'], ['--version']]) {
      const r = await spk([...argv, '--no-such-flag']);
      expect(r.code, argv.join(' ')).toBe(64);
      expect(r.stderr, argv.join(' ')).toMatch(/no-such-flag|takes no arguments/);
    }
  });
});

describe('untrusted bytes never reach the terminal raw', () => {
  const writes: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    writes.length = 0;
  });
  function capture(): void {
    const keep = (chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(keep);
    vi.spyOn(process.stderr, 'write').mockImplementation(keep);
  }

  it('processIo writes control characters, bidi overrides and lone surrogates as visible escapes', () => {
    capture();
    const io = processIo();
    io.stdout(`title: ${HOSTILE} 🛡 ünïcode\tok`);
    io.stderr(`bad\r\u0085line`);
    expect(writes).toEqual([
      'title: \\u001b[2J\\u0007\\u007f\\u009b31m\\u202e\\ud800 🛡 ünïcode\tok\n',
      'bad\\u000d\\u0085line\n',
    ]);
  });

  it('keeps JSON valid and meaning the same', () => {
    const value = { title: `x${HOSTILE}y`, nested: [`\u0000\u001f\u0080\u009f\udc00z`, '🛡\n\t'] };
    for (const json of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
      const safe = terminalSafe(json);
      expect(safe).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
      expect(JSON.parse(safe)).toEqual(value);
    }
  });
});

describe('spk simulate warns about an events file that has no events or is not text', () => {
  async function simulateFile(content: string | Buffer) {
    const dir = await tempDir();
    await writeFile(join(dir, 'events.jsonl'), content);
    return spk(['simulate', '--events', join(dir, 'events.jsonl'), '--memory', '--out', join(dir, 'outbox')]);
  }

  it('an empty file, or one with only blank and comment lines', async () => {
    for (const content of ['', '\n\n  \n', '// nothing yet\n\n']) {
      const r = await simulateFile(content);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^warning: .*events\.jsonl has no events \(it is empty, or only blank and \/\/ comment lines\)/m);
    }
  });

  it('a binary file (NUL bytes, or not UTF-8)', async () => {
    const nul = await simulateFile(Buffer.from([0x7b, 0x00, 0x01, 0x1b, 0x5b, 0x32, 0x4a, 0x0a]));
    expect(nul.stderr).toMatch(/^warning: .*events\.jsonl looks like a binary file \(it has NUL bytes\)/m);
    const latin1 = await simulateFile(Buffer.from('{"title": "caf\xe9"}\n', 'latin1'));
    expect(latin1.stderr).toMatch(/^warning: .*events\.jsonl looks like a binary file \(it is not UTF-8 text\)/m);
    // a good file gets no warning
    const good = await spk(['simulate', '--events', SAMPLE, '--memory', '--out', join(await tempDir(), 'outbox')]);
    expect(good.stderr).toBe('');
  });
});

describe('the built command (dist/cli/spk.js)', () => {
  let project = '';
  const run = (args: string[], cwd = project) => spawnSync(process.execPath, [join(project, 'dist', 'cli', 'spk.js'), ...args], { cwd, encoding: 'utf8' });

  beforeAll(async () => {
    // a copy of the sources, built by the real build script, so the repository's own dist/ is left alone
    project = await tempDir('spk-dist-');
    await cp(join(REPO, 'functions'), join(project, 'functions'), { recursive: true });
    await mkdir(join(project, 'scripts'));
    await cp(join(REPO, 'scripts', 'build.mjs'), join(project, 'scripts', 'build.mjs'));
    await cp(join(REPO, 'package.json'), join(project, 'package.json'));
    await cp(join(REPO, 'playbooks'), join(project, 'playbooks'), { recursive: true });
    await symlink(join(REPO, 'node_modules'), join(project, 'node_modules'), 'dir');
    const built = spawnSync(process.execPath, [join(project, 'scripts', 'build.mjs')], { cwd: project, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
  }, 180_000);

  it('prints the package version beside the bundle', () => {
    const r = run(['--version'], REPO);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`spk ${VERSION}\n`);
  });

  it('exits 64 with the help when run without a command', () => {
    const r = run([]);
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('spk help COMMAND');
  });

  it('echoes no raw control bytes from hostile incident text, and its --json stays valid', async () => {
    const event = JSON.parse((await readFile(SAMPLE, 'utf8')).split('\n')[0]!) as { object: { properties: { owner: { assignedTo: string } } } };
    event.object.properties.owner.assignedTo = `Eve ${HOSTILE}`;
    await writeFile(join(project, 'hostile.jsonl'), `${JSON.stringify(event)}\n`);
    const human = run(['simulate', '--events', 'hostile.jsonl', '--memory', '--out', 'outbox']);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^\[1\/1\] line 1 incident 3101: Owner changed to Eve \\u001b\[2J.*\\u202e/m);
    const json = run(['simulate', '--events', 'hostile.jsonl', '--memory', '--out', 'outbox', '--json']);
    expect(json.status, json.stderr).toBe(0);
    for (const out of [human.stdout, human.stderr, json.stdout, json.stderr]) expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    const report = JSON.parse(json.stdout) as { events: Array<{ changes: Array<{ to: string }> }> };
    expect(report.events[0]!.changes[0]!.to).toMatch(/^Eve \u001b\[2J.*\u202e/);
  }, 60_000);
});
