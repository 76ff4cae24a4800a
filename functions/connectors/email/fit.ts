/**
 * Holding one email request under its API's size limit (ACS 10 MB, Graph 4 MB) by cutting the text
 * and HTML parts, never the subject, recipients or headers. A rendered notification is far below
 * either limit; this is for a template that loops over something unbounded.
 */
import { KitError } from '../../core/errors.js';
import { truncate } from '../truncate.js';
import type { EmailMessage } from './payload.js';

/** `measure` gives the request's size in bytes as it will be sent (JSON-escaped) */
export function fitMessage(m: EmailMessage, maxBytes: number, measure: (m: EmailMessage) => number, target: string): EmailMessage {
  if (measure(m) <= maxBytes) return m;
  const room = maxBytes - measure({ ...m, text: '', html: '' });
  if (room < 64) throw new KitError(`${target}: the email is over ${maxBytes} bytes even without its text and HTML`, { kind: 'terminal' });
  const textBytes = Buffer.byteLength(m.text, 'utf8');
  const htmlBytes = Buffer.byteLength(m.html, 'utf8');
  // each part keeps its share of the room; escaping (\" \\u0000 …) makes the JSON larger than the text, so shrink until it fits
  let budget = room;
  for (let round = 0; round < 8; round++) {
    const textBudget = Math.floor((budget * textBytes) / (textBytes + htmlBytes));
    const text = truncate(m.text, textBudget, { unit: 'bytes' });
    const html = truncate(m.html, budget - textBudget, { unit: 'bytes', markup: 'html' });
    const cut: EmailMessage = {
      ...m,
      text: text.value,
      html: html.value,
      truncated: [...m.truncated, ...(text.truncated ? ['text'] : []), ...(html.truncated ? ['html'] : [])],
    };
    const over = measure(cut) - maxBytes;
    if (over <= 0) return cut;
    budget -= over + 64;
  }
  throw new KitError(`${target}: the email could not be cut to ${maxBytes} bytes`, { kind: 'terminal' });
}
