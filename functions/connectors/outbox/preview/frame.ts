/**
 * HTML that came in a message (an email's HTML part, an Azure DevOps description, a Freshservice note)
 * is shown only inside a frame sandboxed without scripts, with its own copy of the page's CSP.
 */
import { escapeHtml, escapeQuotedAttribute } from '../../../render/escape.js';

/** What a message body (an iframe's srcdoc) may do: show inline styles and data: images, nothing else. */
export const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export const FRAME_CSS = 'body{font:14px/1.45 Segoe UI,Helvetica,Arial,sans-serif;margin:8px;color:#222;background:#fff;overflow-wrap:anywhere}img{max-width:100%}';

/**
 * HTML from the message shown as the target would: in a sandbox without scripts, with its own copy of
 * the page's CSP. `allow-same-origin` (never with `allow-scripts`) only lets the page's one hashed script
 * read the frame's height, so the body is shown at full height instead of in a scrolling box; nothing in
 * the frame can run to make use of it.
 */
export function sandboxedHtml(html: string, title: string): string {
  const doc = `<meta http-equiv="Content-Security-Policy" content="${PREVIEW_CSP}"><style>${FRAME_CSS}</style>${html}`;
  // escapeQuotedAttribute, not escapeHtml: inside double quotes only & and " matter, and escaping more would
  // triple the size of every HTML body on the page
  return `<iframe class="html-frame" sandbox="allow-same-origin" referrerpolicy="no-referrer" loading="eager" title="${escapeHtml(title)}" srcdoc="${escapeQuotedAttribute(doc)}"></iframe>`;
}
