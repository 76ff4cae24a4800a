/** What a command gets from the process, so commands can be called directly in tests. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Incident titles, comments, event files and error messages quote bytes from outside: written raw, an
 * ESC or CSI can repaint the terminal, retitle the window or hide a line. C0 and C1 controls (but
 * newline and tab), DEL, bidirectional overrides (they reorder what is shown) and lone surrogates become
 * visible `\u001b` escapes. That is also how JSON writes them inside a string, and JSON has them nowhere
 * else, so `--json` output stays valid JSON meaning the same thing.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function processIo(): CliIo {
  const line = (s: string) => terminalSafe(s.endsWith('\n') ? s : `${s}\n`);
  return {
    stdout: (s) => process.stdout.write(line(s)),
    stderr: (s) => process.stderr.write(line(s)),
    cwd: process.cwd(),
    env: process.env,
  };
}

export class UsageError extends Error {}

/** a fixed-width table for terminal summaries */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
