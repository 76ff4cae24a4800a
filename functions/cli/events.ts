/** Reading the events file: JSON lines, each a raw Sentinel trigger body or a raw Graph incident. */
import { readFile } from 'node:fs/promises';
import { KitError } from '../core/errors.js';

export interface EventLine {
  line: number;
  raw?: unknown;
  /** JSON syntax error on this line */
  error?: string;
}

export async function readEventsFile(path: string): Promise<EventLine[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new KitError(`cannot read the events file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { kind: 'validation', where: { file: path } });
  }
  const out: EventLine[] = [];
  text.split(/\r?\n/).forEach((content, i) => {
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('//')) return;
    try {
      out.push({ line: i + 1, raw: JSON.parse(trimmed) });
    } catch (e) {
      out.push({ line: i + 1, error: `not valid JSON: ${(e as Error).message}` });
    }
  });
  return out;
}
