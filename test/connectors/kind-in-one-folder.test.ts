/**
 * "Add a connector in one folder" (docs/CONNECTORS.md), proven: a copy of the project gets the echo kind
 * (test/fixtures/kind-in-one-folder/echo/) as functions/connectors/echo/ plus its import and one entry in
 * the list in functions/connectors/kinds.ts — nothing else — and then typechecks, validates a config that
 * uses it, writes and previews its outbox files, refuses to deploy it without an endpoint (it has a live
 * connector, so LIVE_KINDS knows it) and delivers live to a loopback webhook.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../bicep/arm.js';
import { startFakeServer, type FakeServer } from '../helpers/fake-server.js';

const run = promisify(execFile);
const FIXTURE = path.join(projectRoot, 'test', 'fixtures', 'kind-in-one-folder', 'echo');
let root: string;
let server: FakeServer;

async function spk(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = path.join(projectRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  try {
    const r = await run(process.execPath, [cli, path.join(root, 'functions', 'cli', 'spk.ts'), ...args], { cwd: root, env: { ...process.env, ...env }, maxBuffer: 32 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** the registry change a kind needs: its import, and its entry in the list */
function registerEcho(kinds: string): string {
  // after the last kind's import, and as the last entry of the list, whichever kind is last today
  const withImport = kinds.replace(/(import \{ \w+Kind \} from '\.\/[\w-]+\/index\.js';\n)(?!import \{ \w+Kind \})/, `$1import { echoKind } from './echo/index.js';\n`);
  const withEntry = withImport.replace(/(\n {2}\w+Kind,\n)(\] as const;)/, `$1  echoKind,\n$2`);
  if (withEntry === kinds || withImport === kinds || withEntry === withImport) throw new Error('kinds.ts no longer has the shape this test edits');
  return withEntry;
}

async function writeConfig(dir: string, receiver: string): Promise<void> {
  await cp(path.join(projectRoot, 'playbooks'), dir, { recursive: true });
  const receivers = await readFile(path.join(dir, 'receivers.yaml'), 'utf8');
  await writeFile(path.join(dir, 'receivers.yaml'), `${receivers.trimEnd()}\n  soc-echo:\n    kind: echo\n${receiver}`);
  await writeFile(
    path.join(dir, 'echo-owner.yaml'),
    'on:\n  ownerChangedTo: Defender Experts\nsteps:\n  - notify: soc-echo\n    template: hello\n',
  );
  await mkdir(path.join(dir, 'templates', 'echo'), { recursive: true });
  await writeFile(
    path.join(dir, 'templates', 'echo', 'hello.hbs'),
    '{{#*inline "text"}}Defender Experts took incident {{incident.number}}: {{incident.title}}{{/inline}}\n',
  );
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'spk-one-folder-'));
  for (const part of ['functions', 'samples', 'package.json']) await cp(path.join(projectRoot, part), path.join(root, part), { recursive: true });
  await symlink(path.join(projectRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  const tsconfig = JSON.parse(await readFile(path.join(projectRoot, 'tsconfig.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(root, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['functions/**/*.ts'], exclude: [] }));

  // the whole change: one folder, one registry entry
  await cp(FIXTURE, path.join(root, 'functions', 'connectors', 'echo'), { recursive: true });
  const kindsFile = path.join(root, 'functions', 'connectors', 'kinds.ts');
  await writeFile(kindsFile, registerEcho(await readFile(kindsFile, 'utf8')));

  await writeConfig(path.join(root, 'outbox-config'), '    description: outbox only\n');
  await writeConfig(path.join(root, 'live-config'), '    url: env:ECHO_URL\n');
  server = await startFakeServer(() => ({ status: 204 }));
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a kind added as one folder plus one registry entry', () => {
  it('typechecks: no other table in the kit needs the new kind', async () => {
    const tsc = path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '--noEmit', '-p', path.join(root, 'tsconfig.json')], { cwd: root }).then(
      (x) => ({ ok: true, out: x.stdout }),
      (e: { stdout?: string }) => ({ ok: false, out: e.stdout ?? String(e) }),
    );
    expect(r.out).toBe('');
    expect(r.ok).toBe(true);
  }, 180_000);

  it('is validated like any kind: its schema, its template parts, and the deploy check that knows it is live', async () => {
    const ok = await spk(['validate', '--config', 'outbox-config', '--rules', path.join(projectRoot, 'rules')]);
    expect(ok.stderr + ok.stdout).not.toMatch(/problem|unknown/i);
    expect(ok.code).toBe(0);

    const deploy = await spk(['validate', '--deploy', '--config', 'outbox-config', '--rules', path.join(projectRoot, 'rules')]);
    expect(deploy.code).toBe(1);
    expect(deploy.stdout + deploy.stderr).toContain('receiver "soc-echo" has no endpoint');
    expect(deploy.stdout + deploy.stderr).toContain('give it an endpoint (url) or mark it dryRun: true');

    await writeFile(path.join(root, 'outbox-config', 'receivers.yaml'), `${await readFile(path.join(root, 'outbox-config', 'receivers.yaml'), 'utf8')}    colour: blue\n`);
    const bad = await spk(['validate', '--config', 'outbox-config', '--rules', path.join(projectRoot, 'rules')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/receivers\.yaml:\d+:\d+.*receivers\.soc-echo\.colour: unknown field "colour"/);
    const receivers = await readFile(path.join(root, 'outbox-config', 'receivers.yaml'), 'utf8');
    await writeFile(path.join(root, 'outbox-config', 'receivers.yaml'), receivers.replace('    colour: blue\n', ''));
  }, 120_000);

  it('writes its outbox files and the preview page shows them through its own preview', async () => {
    const r = await spk(['simulate', '--memory', '--config', 'outbox-config', '--events', 'samples/defender-experts-day.jsonl', '--out', 'outbox', '--fresh']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = (await readdir(path.join(root, 'outbox', 'soc-echo'))).filter((f) => !f.startsWith('.'));
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => /^[\w.-]+-\d+\.echo\.json$/.test(f))).toBe(true);
    const body = JSON.parse(await readFile(path.join(root, 'outbox', 'soc-echo', files[0]!), 'utf8')) as { incident: string; text: string };
    expect(body.text).toMatch(/^Defender Experts took incident \d+: \S/);
    const page = await readFile(path.join(root, 'outbox', 'index.html'), 'utf8');
    expect(page).toContain('<div class="echo">Defender Experts took incident');
    expect(page).not.toContain('Could not render this');

    // --fresh knows the new format is the kit's own: it empties the folder again without refusing
    const again = await spk(['simulate', '--memory', '--config', 'outbox-config', '--events', 'samples/defender-experts-day.jsonl', '--out', 'outbox', '--fresh']);
    expect(again.code).toBe(0);
    expect((await readdir(path.join(root, 'outbox', 'soc-echo'))).filter((f) => !f.startsWith('.'))).toEqual(files);
  }, 120_000);

  it('delivers live through its connector when the receiver has its endpoint', async () => {
    const before = server.requests.length;
    const r = await spk(['simulate', '--memory', '--config', 'live-config', '--events', 'samples/defender-experts-day.jsonl', '--out', 'outbox-live', '--fresh'], {
      ECHO_URL: `${server.url}/hook`,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const sent = server.requests.slice(before).filter((q) => q.path === '/hook');
    expect(sent.length).toBeGreaterThan(0);
    for (const q of sent) {
      expect(q.method).toBe('POST');
      expect(q.headers['content-type']).toBe('application/json');
      expect(q.headers['user-agent']).toMatch(/^sentinel-playbook-kit\//);
      expect((JSON.parse(q.body) as { text: string }).text).toMatch(/^Defender Experts took incident \d+: /);
    }
    await expect(readdir(path.join(root, 'outbox-live', 'soc-echo'))).rejects.toThrow();
  }, 120_000);
});
