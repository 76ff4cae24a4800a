/** The error a preview throws for a body it cannot show; render-one.ts turns it into an error box. */
import { KitError } from '../../../core/errors.js';
import type { PreviewEntry } from './entry.js';

export function malformed(entry: PreviewEntry, message: string, field?: string): KitError {
  return new KitError(`${entry.path}: ${message}`, {
    kind: 'validation',
    where: field ? { file: entry.path, field } : { file: entry.path },
  });
}

