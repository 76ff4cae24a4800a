/**
 * Reading events: a file is either one JSON document (a raw Sentinel trigger body or Graph incident) or
 * JSON lines, one event a line (`//` comments and blank lines skipped). Line numbers are the file's own,
 * so `--line N` and the line numbers simulate prints point at the same event.
 */
import { readFile } from 'node:fs/promises';
import { KitError } from '../core/errors.js';
import { UsageError } from './io.js';
import { terminalSafe } from './terminal-text.js';

export interface EventLine {
  line: number;
  raw?: unknown;
  /** JSON syntax error on this line */
  error?: string;
}

/**
 * An error message may quote a file's bytes (JSON.parse quotes the text around the error): keep control
 * characters out so a hostile or binary file cannot drive the terminal or forge a line of output.
 */

function eventLines(text: string): { lines: EventLine[]; total: number } {
  const all = text.split(/\r?\n/);
  const lines: EventLine[] = [];
  all.forEach((content, i) => {
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('//')) return;
    try {
      lines.push({ line: i + 1, raw: JSON.parse(trimmed) });
    } catch (e) {
      lines.push({ line: i + 1, error: `not valid JSON: ${terminalSafe((e as Error).message)}` });
    }
  });
  // a final line break ends the last line; it does not start another
  return { lines, total: all.at(-1) === '' ? all.length - 1 : all.length };
}

export async function readEventsFile(path: string): Promise<EventLine[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new KitError(`cannot read the events file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { kind: 'validation', where: { file: path } });
  }
  return eventLines(text).lines;
}

/** What an `--event FILE` holds: one document, or the events of a JSON-lines file. */
export type EventSource =
  /** `onLine`: the line the document sits on when it fills one line (a JSON-lines file of one event) */
  | { kind: 'document'; raw: unknown; onLine: number | null }
  | { kind: 'lines'; lines: EventLine[]; total: number };

/** `label` is how messages name the file (the path as the user typed it). */
export async function readEventSource(path: string, label: string = path): Promise<EventSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new KitError(`cannot read the event: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { kind: 'validation', where: { file: label } });
  }
  if (text.trim() === '') throw new KitError('the event file is empty: no event to read', { kind: 'validation', where: { file: label } });
  let documentError: string;
  try {
    const raw: unknown = JSON.parse(text);
    const filled = text.split(/\r?\n/).flatMap((l, i) => (l.trim() === '' ? [] : [i + 1]));
    return { kind: 'document', raw, onLine: filled.length === 1 ? filled[0]! : null };
  } catch (e) {
    documentError = terminalSafe((e as Error).message);
  }
  const { lines, total } = eventLines(text);
  // a JSON-lines file starts with a line that is JSON on its own; anything else is a broken document
  if (lines[0]?.error === undefined && lines.length > 0) return { kind: 'lines', lines, total };
  throw new KitError(`not valid JSON (neither one JSON document nor JSON lines): ${documentError}`, { kind: 'validation', where: { file: label } });
}

const listLines = (lines: EventLine[]) => {
  const shown = lines.slice(0, 12).map((l) => l.line).join(', ');
  return lines.length > 12 ? `${shown}, …` : shown;
};

/** The `--line` value as a line number, or a usage error. */
export function lineNumber(line: string): number {
  const n = Number(line);
  if (!/^\d+$/.test(line.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--line takes a line number (1, 2, …), got "${terminalSafe(line)}"`);
  return n;
}

/**
 * One event out of a source: a document as it is, a JSON-lines file's event at `--line N`. A JSON-lines file
 * with several events and no `--line` is a usage error naming how many events it has, never a JSON error.
 */
export function pickEvent(source: EventSource, line: string | undefined, label: string): { raw: unknown; line: number | null } {
  if (source.kind === 'document') {
    if (line === undefined) return { raw: source.raw, line: null };
    const n = lineNumber(line);
    if (n === source.onLine) return { raw: source.raw, line: n };
    throw new UsageError(`--line ${n}: ${label} is one JSON document, not JSON lines; drop --line`);
  }
  const { lines, total } = source;
  if (line === undefined) {
    if (lines.length === 1) return pickEvent(source, String(lines[0]!.line), label);
    throw new UsageError(`${label} has ${lines.length} events (JSON lines, on lines ${listLines(lines)}); pick one with --line N`);
  }
  const n = lineNumber(line);
  const found = lines.find((l) => l.line === n);
  if (!found) {
    if (n > total) throw new UsageError(`--line ${n}: ${label} has only ${total} line(s); events are on lines ${listLines(lines)}`);
    throw new UsageError(`--line ${n}: line ${n} of ${label} is blank or a comment; events are on lines ${listLines(lines)}`);
  }
  if (found.error !== undefined) throw new KitError(found.error, { kind: 'validation', where: { file: label, line: n } });
  return { raw: found.raw, line: n };
}

/** Reads `--event FILE [--line N]`: one JSON document, or one event of a JSON-lines file. */
export async function readEventArg(path: string, line: string | undefined, label: string = path): Promise<unknown> {
  return pickEvent(await readEventSource(path, label), line, label).raw;
}
