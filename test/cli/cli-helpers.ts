import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../functions/cli/spk.js';

export const REPO = resolve(import.meta.dirname, '../..');

export async function tempDir(prefix = 'spk-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** runs `spk <argv>` in-process (from the repository root unless `cwd` says otherwise), capturing output */
export async function spk(argv: string[], env: NodeJS.ProcessEnv = {}, cwd: string = REPO): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => (stdout += s.endsWith('\n') ? s : `${s}\n`),
    stderr: (s) => (stderr += s.endsWith('\n') ? s : `${s}\n`),
    cwd,
    env,
  });
  return { code, stdout, stderr };
}
