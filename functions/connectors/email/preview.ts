/** An email (.eml) as a mail client shows it: the headers people read, the HTML part sandboxed, attachments listed. */
import { escapeHtml } from '../../render/escape.js';
import type { KindPreview, PreviewFile } from '../outbox/preview/entry.js';
import { sandboxedHtml } from '../outbox/preview/frame.js';
import { malformed } from '../outbox/preview/malformed.js';
import { decodeHeaderValue, readMime } from './mime-reader.js';

export function emailPreview({ entry }: PreviewFile): KindPreview {
  if (entry.body.trim() === '') throw malformed(entry, 'the message is empty');
  const { headers, leaves } = readMime(entry);
  const inline = leaves.filter((l) => !l.attachment);
  const html = inline.find((l) => l.type === 'text/html');
  const text = inline.find((l) => l.type === 'text/plain');
  if (!html && !text) throw malformed(entry, 'the message has neither a text/plain nor a text/html part');
  const rows = ['From', 'To', 'Cc', 'Reply-To', 'Subject', 'Date']
    .map((name) => {
      const v = headers.get(name);
      return v === undefined ? '' : `<tr><th>${name}</th><td>${escapeHtml(decodeHeaderValue(entry, v))}</td></tr>`;
    })
    .join('');
  const subject = headers.get('Subject');
  const others = leaves.filter((l) => l !== html && l !== text);
  const attachmentsHtml = others.length
    ? `<ul class="email-attachments">${others
        .map((l) => `<li>Attachment: ${escapeHtml(l.filename ?? '(unnamed)')} <span class="muted">${escapeHtml(l.type)}</span></li>`)
        .join('')}</ul>`
    : '';
  let content: string;
  if (html) {
    content = sandboxedHtml(html.text, `HTML part of ${subject ?? entry.path}`);
    if (text) {
      content += `<details class="email-text"><summary>Plain-text part</summary><pre class="wrap">${escapeHtml(text.text)}</pre></details>`;
    }
  } else {
    content = `<pre class="wrap email-plain">${escapeHtml(text?.text ?? '')}</pre>`;
  }
  return { html: `<div class="email"><table class="email-headers"><tbody>${rows}</tbody></table>${content}${attachmentsHtml}</div>` };
}
