/**
 * The one place an outbox file's JSON is parsed: the kind's preview (render-one.ts) and the page's
 * facts (facts.ts) both read the document parsed here, so a body is read once, the same way for both.
 */
import { KitError } from '../../../core/errors.js';
import type { PreviewEntry } from './entry.js';

export interface ParsedEntry {
  entry: PreviewEntry;
  /** the body's JSON document, for a JSON format whose body parses; undefined otherwise */
  document: unknown;
  /** why a JSON format's body did not parse; null when it did, or when the format is text */
  invalidJson: KitError | null;
}

/** Every JSON file the kit writes says so in its extension (teams.json, ado.json, failed.json…). */
export function isJsonFormat(format: string): boolean {
  return format.endsWith('.json');
}

export function parseEntry(entry: PreviewEntry): ParsedEntry {
  if (!isJsonFormat(entry.format)) return { entry, document: undefined, invalidJson: null };
  try {
    return { entry, document: JSON.parse(entry.body) as unknown, invalidJson: null };
  } catch (e) {
    const invalidJson = new KitError(`${entry.path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, {
      kind: 'validation',
      where: { file: entry.path },
      cause: e,
    });
    return { entry, document: undefined, invalidJson };
  }
}

/** The document a JSON preview renders; throws why the body did not parse, for the error box. */
export function documentOf(parsed: ParsedEntry): unknown {
  if (parsed.invalidJson) throw parsed.invalidJson;
  return parsed.document;
}
