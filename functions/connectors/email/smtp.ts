/**
 * SMTP submission (RFC 5321 / RFC 6409): the step's .eml — the outbox file's exact bytes, so its
 * Message-ID, In-Reply-To and References thread every update under the incident's first mail — sent
 * to the receiver's relay. One connection per delivery: EHLO, STARTTLS (RFC 3207) or implicit TLS,
 * AUTH PLAIN or LOGIN when credentials are configured, MAIL FROM (with SIZE), one RCPT TO per
 * configured recipient, DATA, QUIT. Credentials are only ever sent inside TLS; plain text is allowed
 * only to a loopback relay (a local MTA or a test server).
 *
 * SMTP has no idempotency key. A retry after a refused or failed step sends nothing twice; the one
 * window is a reply lost after the server took the whole message (the server accepted it, the kit
 * did not hear "250"): the retry sends it again with the same Message-ID, which most mail stores
 * fold into one (RFC 1047 describes the window). docs/RECEIVERS.md says so.
 *
 * Replies are classified by their code and enhanced status code (RFC 3463): 4xx transient (4.2.1 /
 * 4.7.x rate and policy throttles are rate-limited for a minute), 530/534/535/538 and a 5.7.x refusal
 * of the sender or a recipient are auth (credentials or relay permission), other 5xx terminal.
 */
import os from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { KitError, type KitErrorKind } from '../../core/errors.js';
import { redactSecrets } from '../redact.js';
import { fitMessage } from './fit.js';
import { emlText, type EmailMessage } from './payload.js';
import { SmtpSession, SmtpWireError, type SmtpReply } from './smtp-session.js';

export type SmtpTls = 'starttls' | 'implicit' | 'none';
export const SMTP_DEFAULT_PORT: Record<SmtpTls, number> = { starttls: 587, implicit: 465, none: 25 };
/** the size the kit holds a message to when the server names no SIZE (Exchange Online and Gmail take 25+ MB) */
export const SMTP_MAX_BYTES = 10 * 1024 * 1024;
/** how long a rate or policy throttle (4.2.1, 4.7.x) keeps the receiver waiting: SMTP names no time */
export const SMTP_THROTTLE_MS = 60_000;

export interface SmtpTarget {
  host: string;
  port: number;
  tls: SmtpTls;
  credentials?: { username: string; password: string };
  timeoutMs: number;
  signal?: AbortSignal;
  /** extra TLS options (a test's own CA) */
  tlsOptions?: ConnectionOptions;
  /** the EHLO name; default this machine's host name when it is a domain, else an address literal */
  heloName?: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;
export const isLoopbackHost = (host: string) => LOOPBACK.test(host);

export function heloName(): string {
  const name = os.hostname();
  return /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(name) ? name : '[127.0.0.1]';
}

interface Extensions {
  starttls: boolean;
  auth: Set<string>;
  /** 0: none named */
  size: number;
  smtputf8: boolean;
}

function extensionsOf(reply: SmtpReply): Extensions {
  const ext: Extensions = { starttls: false, auth: new Set(), size: 0, smtputf8: false };
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.trim().toUpperCase().split(/[\s=]+/);
    if (keyword === 'STARTTLS') ext.starttls = true;
    else if (keyword === 'AUTH') params.forEach((p) => ext.auth.add(p));
    else if (keyword === 'SIZE') ext.size = Number(params[0]) > 0 ? Number(params[0]) : 0;
    else if (keyword === 'SMTPUTF8') ext.smtputf8 = true;
  }
  return ext;
}

const AUTH_CODES = new Set([530, 534, 535, 538]);
const THROTTLE_TEXT = /\b(rate|too many|throttl|limit exceeded|try again later)/i;

/** What an SMTP reply other than the expected one means for the delivery. */
export function smtpReplyError(stage: string, reply: SmtpReply, secrets: ReadonlyArray<string | undefined>): KitError {
  const text = redactSecrets(reply.lines.join(' ').replace(/[^\x20-\x7e]/g, '?'), secrets).slice(0, 300);
  const enhanced = /^([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(reply.lines[0] ?? '');
  const subject = enhanced ? Number(enhanced[2]) : undefined;
  let kind: KitErrorKind;
  let hint = '';
  if (AUTH_CODES.has(reply.code) || (stage === 'AUTH' && reply.code >= 500)) {
    kind = 'auth';
    hint = reply.code === 530 ? ': the server wants authentication, set smtpUsername and smtpPassword' : ': check smtpUsername and smtpPassword';
  } else if (reply.code >= 400 && reply.code < 500) {
    const throttled = (enhanced !== null && ((subject === 2 && enhanced[3] === '1') || subject === 7)) || THROTTLE_TEXT.test(text);
    kind = throttled ? 'rate-limited' : 'retryable';
  } else if (reply.code >= 500 && subject === 7 && (stage === 'MAIL FROM' || stage === 'RCPT TO')) {
    kind = 'auth';
    hint = ': the server will not relay for this sender; authenticate, or allow the Function App\'s outbound addresses on the relay';
  } else if (reply.code >= 500 && (reply.code === 552 || (subject === 3 && enhanced?.[3] === '4'))) {
    kind = 'terminal';
    hint = ': the message is larger than the server takes';
  } else kind = 'terminal';
  return new KitError(`smtp: ${stage} answered ${reply.code} ${text}${hint}`, { kind, ...(kind === 'rate-limited' ? { retryAfterMs: SMTP_THROTTLE_MS } : {}) });
}

function wireError(err: unknown, target: SmtpTarget, stage: string): unknown {
  if (!(err instanceof SmtpWireError)) return err;
  const at = `smtp: ${target.host}:${target.port} (${stage})`;
  switch (err.reason) {
    case 'tls':
      return new KitError(`${at}: the server's TLS certificate is not trusted (${err.code ?? 'TLS error'}); the kit does not send mail to an unverified server`, { kind: 'terminal' });
    case 'protocol':
      return new KitError(`${at}: ${err.message}; is smtpHost/smtpPort an SMTP server (and smtpTls right for that port)?`, { kind: 'terminal' });
    default:
      // refused, reset, closed, silent: the server or the network is down for now
      return new KitError(`${at}: ${err.message}${err.code ? ` (${err.code})` : ''}`, { kind: 'retryable' });
  }
}

/** the address inside <>: validated by the schema, stripped of anything SMTP would read as syntax */
const path = (address: string) => `<${address.replace(/[<>\s]/g, '')}>`;
const nonAscii = (s: string) => /[^\x00-\x7f]/.test(s);

/** Sends one message; resolves once the server has said 250 to the whole of it. */
export async function sendWithSmtp(target: SmtpTarget, message: EmailMessage): Promise<EmailMessage> {
  const c = target.credentials;
  const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
  // AUTH sends them base64-encoded: a server echoing a command back must not carry them into an error
  const secrets = c ? [c.password, c.username, b64(c.password), b64(c.username), b64(`\u0000${c.username}\u0000${c.password}`)] : [];
  let stage = 'connect';
  let session: SmtpSession | undefined;
  const expect = async (reply: SmtpReply, ok: (code: number) => boolean) => {
    if (!ok(reply.code)) throw smtpReplyError(stage, reply, secrets);
    return reply;
  };
  try {
    session = await SmtpSession.connect({
      host: target.host,
      port: target.port,
      implicitTls: target.tls === 'implicit',
      timeoutMs: target.timeoutMs,
      ...(target.signal ? { signal: target.signal } : {}),
      ...(target.tlsOptions ? { tls: target.tlsOptions } : {}),
    });
    stage = 'greeting';
    await expect(await session.read(), (c) => c === 220);
    stage = 'EHLO';
    const helo = target.heloName ?? heloName();
    let ext = extensionsOf(await expect(await session.command(`EHLO ${helo}`), (c) => c === 250));
    if (target.tls === 'starttls') {
      if (!ext.starttls) throw new KitError(`smtp: ${target.host}:${target.port} does not offer STARTTLS; use smtpTls: implicit for a port-465 server`, { kind: 'terminal' });
      stage = 'STARTTLS';
      await expect(await session.command('STARTTLS'), (c) => c === 220);
      await session.upgrade();
      stage = 'EHLO';
      // what the server offered before TLS is forgotten (RFC 3207 4.2)
      ext = extensionsOf(await expect(await session.command(`EHLO ${helo}`), (c) => c === 250));
    }
    if (target.credentials) {
      stage = 'AUTH';
      if (!session.encrypted && !isLoopbackHost(target.host)) throw new KitError('smtp: credentials are only sent inside TLS', { kind: 'config' });
      await authenticate(session, ext, target.credentials, expect, target);
    }
    const bytes = (m: EmailMessage) => Buffer.byteLength(emlText(m), 'utf8');
    const fitted = fitMessage(message, ext.size > 0 ? Math.min(ext.size, SMTP_MAX_BYTES) : SMTP_MAX_BYTES, bytes, 'smtp');
    const eml = emlText(fitted);
    const utf8 = [fitted.from, ...fitted.to].some(nonAscii);
    if (utf8 && !ext.smtputf8) throw new KitError('smtp: an address is not ASCII and the server does not offer SMTPUTF8', { kind: 'terminal' });
    stage = 'MAIL FROM';
    const params = [ext.size > 0 ? ` SIZE=${Buffer.byteLength(eml, 'utf8')}` : '', utf8 ? ' SMTPUTF8' : ''].join('');
    await expect(await session.command(`MAIL FROM:${path(fitted.from)}${params}`), (c) => c === 250);
    // every configured recipient or none: a partial send could not be completed by a retry without a duplicate
    stage = 'RCPT TO';
    for (const to of fitted.to) await expect(await session.command(`RCPT TO:${path(to)}`), (c) => c === 250 || c === 251);
    stage = 'DATA';
    await expect(await session.command('DATA'), (c) => c === 354);
    stage = 'end of DATA';
    await expect(await session.data(eml), (c) => c === 250);
    await session.close();
    return fitted;
  } catch (err) {
    await session?.close().catch(() => undefined);
    throw wireError(err, target, stage);
  }
}

async function authenticate(
  session: SmtpSession,
  ext: Extensions,
  { username, password }: { username: string; password: string },
  expect: (reply: SmtpReply, ok: (code: number) => boolean) => Promise<SmtpReply>,
  target: SmtpTarget,
): Promise<void> {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  if (ext.auth.has('PLAIN')) {
    await expect(await session.command(`AUTH PLAIN ${b64(`\u0000${username}\u0000${password}`)}`), (c) => c === 235);
  } else if (ext.auth.has('LOGIN')) {
    await expect(await session.command('AUTH LOGIN'), (c) => c === 334);
    await expect(await session.command(b64(username)), (c) => c === 334);
    await expect(await session.command(b64(password)), (c) => c === 235);
  } else {
    const offered = [...ext.auth].join(' ') || 'no AUTH at all';
    throw new KitError(`smtp: ${target.host}:${target.port} offers ${offered}; the kit signs in with AUTH PLAIN or LOGIN (for OAuth-only Exchange Online, use transport: graph)`, { kind: 'terminal' });
  }
}
