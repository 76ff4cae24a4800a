/**
 * A small reader for the .eml the email kind writes (RFC 5322 headers, MIME multiparts, base64 and
 * quoted-printable, RFC 2047 encoded words): the outbox file is the exact message the mail server gets,
 * and the preview page also reads files written by earlier versions, so the preview reads the wire format.
 */
import { KitError } from '../../core/errors.js';
import type { PreviewEntry } from '../outbox/preview/entry.js';
import { malformed } from '../outbox/preview/malformed.js';
import { clip } from '../outbox/preview/markup.js';

export interface MimeHeaders {
  list: Array<[string, string]>;
  get(name: string): string | undefined;
}

/** a part that is not multipart, decoded to text */
export interface MimeLeaf {
  type: string;
  charset: string;
  text: string;
  filename: string | null;
  attachment: boolean;
}

function splitHeaderBlock(entry: PreviewEntry, raw: string, where: string): { headers: MimeHeaders; body: string } {
  const sep = /\r?\n\r?\n/.exec(raw);
  let headerText: string;
  let body: string;
  if (raw.startsWith('\n') || raw.startsWith('\r\n')) {
    headerText = '';
    body = raw.replace(/^\r?\n/, '');
  } else if (sep) {
    headerText = raw.slice(0, sep.index);
    body = raw.slice(sep.index + sep[0].length);
  } else {
    headerText = raw.replace(/\r?\n$/, '');
    body = '';
  }
  const list: Array<[string, string]> = [];
  const lines = headerText === '' ? [] : headerText.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (/^[ \t]/.test(line)) {
      const prev = list[list.length - 1];
      if (!prev) throw malformed(entry, `${where} line ${i + 1} continues a header that does not exist`);
      prev[1] += ` ${line.trim()}`;
      return;
    }
    const m = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (!m) throw malformed(entry, `${where} line ${i + 1} is not a "Name: value" header: ${clip(line, 80)}`);
    list.push([m[1] ?? '', m[2] ?? '']);
  });
  return {
    headers: {
      list,
      get: (name) => list.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1],
    },
    body,
  };
}

function parseHeaderParams(value: string): { value: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  const semi = value.indexOf(';');
  const main = (semi >= 0 ? value.slice(0, semi) : value).trim().toLowerCase();
  const rest = semi >= 0 ? value.slice(semi + 1) : '';
  for (const m of rest.matchAll(/([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g)) {
    const key = (m[1] ?? '').toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { value: main, params };
}

function decodeBytes(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function base64Bytes(entry: PreviewEntry, text: string, where: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text.replace(/[\r\n\t ]/g, '')), (c) => c.charCodeAt(0));
  } catch (e) {
    throw new KitError(`${entry.path}: ${where} is not valid base64`, { kind: 'validation', where: { file: entry.path }, cause: e });
  }
}

const utf8 = new TextEncoder();

function quotedPrintableBytes(text: string, underscoreIsSpace: boolean): Uint8Array {
  const bytes: number[] = [];
  const src = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < src.length; i++) {
    const c = src[i] ?? '';
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      bytes.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '_' && underscoreIsSpace) {
      bytes.push(0x20);
    } else {
      const code = src.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(code);
      bytes.push(...utf8.encode(ch));
      i += ch.length - 1;
    }
  }
  return Uint8Array.from(bytes);
}

/** RFC 2047 encoded words (=?charset?B|Q?…?=) in header values. */
export function decodeHeaderValue(entry: PreviewEntry, value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (_, charset: string, enc: string, data: string) => {
      const cs = charset.split('*')[0] ?? 'utf-8';
      const bytes = enc.toUpperCase() === 'B' ? base64Bytes(entry, data, 'an encoded header word') : quotedPrintableBytes(data, true);
      return decodeBytes(bytes, cs);
    });
}

function collectLeaves(entry: PreviewEntry, raw: string, depth: number, out: MimeLeaf[], isRoot: boolean): MimeHeaders {
  if (depth > 8) throw malformed(entry, 'MIME parts nested deeper than 8 levels');
  const where = isRoot ? 'header' : `part header (depth ${depth})`;
  const { headers, body } = splitHeaderBlock(entry, raw, where);
  const ct = parseHeaderParams(headers.get('Content-Type') ?? 'text/plain; charset=us-ascii');
  if (ct.value.startsWith('multipart/')) {
    const boundary = ct.params.boundary;
    if (!boundary) throw malformed(entry, `${ct.value} without a boundary parameter`, 'Content-Type');
    const lines = body.split(/\r?\n/);
    const delimiter = `--${boundary}`;
    const parts: string[][] = [];
    let current: string[] | null = null;
    let closed = false;
    for (const line of lines) {
      const trimmed = line.replace(/[ \t]+$/, '');
      if (trimmed === `${delimiter}--`) {
        if (current) parts.push(current);
        current = null;
        closed = true;
        break;
      }
      if (trimmed === delimiter) {
        if (current) parts.push(current);
        current = [];
        continue;
      }
      current?.push(line);
    }
    if (current) parts.push(current);
    if (parts.length === 0) throw malformed(entry, `boundary "${clip(boundary, 70)}" never appears in the body`, 'Content-Type');
    if (!closed) throw malformed(entry, `the closing boundary "--${clip(boundary, 70)}--" is missing`);
    for (const part of parts) collectLeaves(entry, part.join('\n'), depth + 1, out, false);
    return headers;
  }
  const cte = (headers.get('Content-Transfer-Encoding') ?? '7bit').trim().toLowerCase();
  const charset = (ct.params.charset ?? 'utf-8').toLowerCase();
  let text: string;
  if (cte === 'base64') text = decodeBytes(base64Bytes(entry, body, `the ${ct.value} part`), charset);
  else if (cte === 'quoted-printable') text = decodeBytes(quotedPrintableBytes(body, false), charset);
  else text = body;
  const disposition = parseHeaderParams(headers.get('Content-Disposition') ?? '');
  const filename = disposition.params.filename ?? ct.params.name ?? null;
  out.push({
    type: ct.value,
    charset,
    text,
    filename: filename === null ? null : decodeHeaderValue(entry, filename),
    attachment: disposition.value === 'attachment',
  });
  return headers;
}

/** The message's top-level headers and every non-multipart part, in order. */
export function readMime(entry: PreviewEntry): { headers: MimeHeaders; leaves: MimeLeaf[] } {
  const leaves: MimeLeaf[] = [];
  const headers = collectLeaves(entry, entry.body, 0, leaves, true);
  return { headers, leaves };
}
