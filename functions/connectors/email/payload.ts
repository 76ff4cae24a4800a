/**
 * The email of one step, once, as data (`emailMessage`), and that message as RFC 5322 bytes
 * (`emlText`, multipart/alternative: text, then HTML), which is the outbox .eml. The live transports
 * send the same message in their own shapes (acs.ts, graph.ts). Headers are built only from kit
 * values, the receiver's validated addresses and the one-line subject, each stripped of CR/LF, so
 * incident text can never add a header. Bodies are quoted-printable: every line stays short (RFC
 * 5322's 998 limit) and the "=_" boundary can never occur inside them.
 */
import { createHash } from 'node:crypto';
import type { EmailReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';

/** RFC 5322 puts no limit on a subject; 255 is what mail clients and ACS show without trouble. */
export const EMAIL_MAX_SUBJECT_CHARS = 255;
const CRLF = '\r\n';
const DEFAULT_FROM_NAME = 'Sentinel Playbook Kit';

function textPart(parts: Record<string, unknown>, name: string): string {
  const v = parts[name];
  if (typeof v !== 'string') {
    throw new KitError(`email: the template must produce a "${name}" part (text)`, { kind: 'template', where: { field: name } });
  }
  return v;
}

function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function checkAddress(address: string, field: string): string {
  if (!/^[^\s<>(),;:"\\@]+@[A-Za-z0-9.-]+$/.test(address)) {
    throw new KitError(`email: ${field} "${oneLine(address)}" is not a plain address`, { kind: 'validation', where: { field } });
  }
  return address;
}

const isAsciiPrintable = (s: string) => /^[\x20-\x7e]*$/.test(s);

/** RFC 2047 B encoded-words, each at most 75 characters, split on code point boundaries. */
function encodedWords(s: string): string[] {
  const words: string[] = [];
  let chunk = '';
  for (const ch of s) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 45) {
      words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
  return words;
}

/** Folds at spaces so each physical line stays near 78 characters (RFC 5322 2.2.3). */
function foldHeader(name: string, value: string): string {
  const words = value.split(' ');
  const lines: string[] = [];
  let line = `${name}:`;
  for (const w of words) {
    if (line.length + 1 + w.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = ` ${w}`;
    } else line += ` ${w}`;
  }
  lines.push(line);
  return lines.join(CRLF);
}

function unstructuredHeader(name: string, value: string): string {
  const clean = oneLine(value);
  // "=?" in plain text would be read as the start of an encoded-word
  if (isAsciiPrintable(clean) && !clean.includes('=?')) return foldHeader(name, clean);
  return `${name}: ${encodedWords(clean).join(`${CRLF} `)}`;
}

function mailbox(name: string | undefined, address: string): string {
  const display = oneLine(name ?? '');
  if (!display) return address;
  if (isAsciiPrintable(display)) return `"${display.replace(/["\\]/g, '\\$&')}" <${address}>`;
  return `${encodedWords(display).join(' ')} <${address}>`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date-time in UTC, e.g. "Thu, 26 Nov 2026 09:36:00 +0000" */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** quoted-printable (RFC 2045 6.7) of UTF-8 text, CRLF line ends, lines at most 76 characters */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const bytes = Buffer.from(line, 'utf8');
    let current = '';
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      const token = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (current.length + token.length > 75) {
        out.push(`${current}=`);
        current = '';
      }
      current += token;
    });
    out.push(current);
  }
  return out.join(CRLF);
}

function domainOf(address: string): string {
  return address.split('@')[1]?.replace(/[^A-Za-z0-9.-]/g, '') || 'sentinel-playbook-kit.invalid';
}

/** a Message-ID local part from anything: kept when already safe and short, else hashed */
function idPart(value: string): string {
  return /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : createHash('sha256').update(value).digest('hex').slice(0, 40);
}

/** Every message about one incident points at the same (virtual) first message, so clients thread them. */
export function threadId(incidentKey: string, from: string): string {
  return `<sentinel-incident-${idPart(incidentKey)}@${domainOf(from)}>`;
}

/**
 * One email as data: what every transport sends. The .eml (the outbox file, and the message a raw-MIME
 * sender would send) is this serialised as RFC 5322; ACS emails:send and Graph sendMail take the same
 * subject, text and HTML, the same recipients, and whatever of the threading headers their API allows.
 * Every value here comes from the receiver's config or from kit values, except subject/text/html (the
 * template's output): so no incident text can choose a recipient or add a header.
 */
export interface EmailMessage {
  from: string;
  /** display name in the .eml From; ACS and Graph show the sender's own configured name instead */
  fromName: string;
  to: string[];
  replyTo: string[];
  /** one line, at most EMAIL_MAX_SUBJECT_CHARS, never empty */
  subject: string;
  text: string;
  html: string;
  /** the step's plannedAt: the same on every retry */
  date: Date;
  /** this message's Message-ID, `<…@sender-domain>`, from the step's idempotency key */
  messageId: string;
  /** the incident's (virtual) first message, `<sentinel-incident-…@sender-domain>`: In-Reply-To and References */
  thread: string;
  /** X-Sentinel-Incident */
  incident: string;
  /** the step's idempotency key, for the transports' own repeat protection */
  stepKey: string;
  /** fields cut to a limit, for OutboundRequest.truncated */
  truncated: string[];
}

export function emailMessage(input: PayloadInput<EmailReceiver>): EmailMessage {
  const { receiver, step, rendered } = input;
  const truncated: string[] = [];
  const from = checkAddress(receiver.from, 'from');
  const to = receiver.to.map((a, i) => checkAddress(a, `to[${i}]`));
  const replyTo = (receiver.replyTo ?? []).map((a, i) => checkAddress(a, `replyTo[${i}]`));
  const subject = limitField('subject', oneLine(textPart(rendered.parts, 'subject')), EMAIL_MAX_SUBJECT_CHARS, truncated, { unit: 'runes' });
  const planned = new Date(step.plannedAt);
  return {
    from,
    fromName: receiver.fromName ?? DEFAULT_FROM_NAME,
    to,
    replyTo,
    // oneLine is idempotent, so the .eml header built from this is what it always was
    subject: oneLine(subject || `Microsoft Sentinel incident ${step.incidentKey}`),
    text: textPart(rendered.parts, 'text'),
    html: textPart(rendered.parts, 'html'),
    date: Number.isNaN(planned.getTime()) ? new Date(0) : planned,
    messageId: `<${idPart(step.idempotencyKey)}@${domainOf(from)}>`,
    thread: threadId(step.incidentKey, from),
    incident: idPart(step.incidentKey),
    stepKey: step.idempotencyKey,
    truncated,
  };
}

/** The message as RFC 5322 bytes (multipart/alternative: text, then HTML): the outbox .eml. */
export function emlText(m: EmailMessage): string {
  const boundary = `=_spk_${createHash('sha256').update(m.stepKey).digest('hex').slice(0, 24)}`;
  const headers = [
    `From: ${mailbox(m.fromName, m.from)}`,
    foldHeader('To', m.to.join(', ')),
    ...(m.replyTo.length > 0 ? [foldHeader('Reply-To', m.replyTo.join(', '))] : []),
    unstructuredHeader('Subject', m.subject),
    `Date: ${rfc5322Date(m.date)}`,
    `Message-ID: ${m.messageId}`,
    `In-Reply-To: ${m.thread}`,
    `References: ${m.thread}`,
    `X-Sentinel-Incident: ${m.incident}`,
    'Auto-Submitted: auto-generated',
    'X-Auto-Response-Suppress: All',
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ];
  const part = (type: string, body: string) =>
    [`--${boundary}`, `Content-Type: ${type}; charset=utf-8`, 'Content-Transfer-Encoding: quoted-printable', '', quotedPrintable(body)].join(CRLF);
  return [headers.join(CRLF), '', part('text/plain', m.text), part('text/html', m.html), `--${boundary}--`, ''].join(CRLF);
}

export const buildEmailPayload: PayloadBuilder<EmailReceiver> = (input): OutboundRequest => {
  const message = emailMessage(input);
  // the outbox file; the live transports (acs.ts, graph.ts) send `message` in their own shapes
  return { format: 'eml', method: 'POST', path: '', headers: {}, contentType: 'message/rfc822', body: { text: emlText(message) }, truncated: message.truncated };
};
