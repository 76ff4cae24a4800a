/**
 * Email over SMTP against a real SMTP server (fakes/smtp.ts: npm smtp-server, messages parsed with
 * mailparser): the .eml arrives whole with its threading headers, over STARTTLS or implicit TLS with
 * AUTH PLAIN or LOGIN, or plain to a loopback relay; every reply code and wire fault is classified as
 * the notifier contract classifies HTTP answers; a refused step sends nothing, and the one duplicate
 * window (the 250 lost after the server took the message) keeps the Message-ID; credentials never
 * reach an error; the hostile corpus adds no recipient or header.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { receiverSchema } from '../../functions/config/schema.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import { createEmailConnector, transportOf } from '../../functions/connectors/email/email.js';
import { emailMessage, emlText } from '../../functions/connectors/email/payload.js';
import type { EmailReceiver } from '../../functions/connectors/email/schema.js';
import { SMTP_THROTTLE_MS, smtpReplyError } from '../../functions/connectors/email/smtp.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { HOSTILE } from '../fixtures/hostile.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { htmlTagShapes, strayAngleBrackets } from '../render/markup.js';
import { loadShippedTemplates, seedStep } from '../render/shipped.js';
import { renderedEmail } from './fakes/email.js';
import { SMTP_TEST_CERT, startFakeSmtp, type FakeSmtp, type FakeSmtpOptions } from './fakes/smtp.js';

const USER = 'sentinel-kit@contoso.example';
const PASSWORD = 'smtp-test-password-7c1f9e0d5b';
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the delivery to fail'); }, (e: unknown) => e as KitError);

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function setup(fake: FakeSmtpOptions, fields: Partial<EmailReceiver> = {}, opts: { trust?: boolean; timeoutMs?: number; env?: Record<string, string> } = {}) {
  const smtp = await startFakeSmtp(fake);
  open.push(smtp);
  const receiver: EmailReceiver = {
    kind: 'email',
    to: ['soc@contoso.example', 'lead@contoso.example'],
    from: USER,
    fromName: 'Sentinel Playbook Kit',
    smtpHost: smtp.host,
    smtpPort: smtp.port,
    ...(fake.tls === 'starttls' ? {} : { smtpTls: fake.tls }),
    ...(fake.users ? { smtpUsername: 'env:SMTP_USERNAME', smtpPassword: 'env:SMTP_PASSWORD' } : {}),
    ...fields,
  };
  const connector = createEmailConnector({
    receiverName: 'soc-email',
    receiver,
    env: opts.env ?? { SMTP_USERNAME: USER, SMTP_PASSWORD: PASSWORD },
    fetchTimeoutMs: opts.timeoutMs ?? 2_000,
    ...(opts.trust === false ? {} : { smtpTlsOptions: { ca: SMTP_TEST_CERT } }),
  });
  const deliver = (step: DeliveryStep = makeStep({ kind: 'email', receiver: 'soc-email' }), rendered: RenderedMessage = renderedEmail(step.incident)) =>
    connector.execute({ step, receiverName: 'soc-email', receiver, rendered, existingTicket: null, attempt: 1 });
  return { smtp, receiver, deliver };
}

const secureSmtp = (extra: Partial<FakeSmtpOptions> = {}): FakeSmtpOptions => ({ tls: 'starttls', users: { [USER]: PASSWORD }, ...extra });

describe('email over SMTP: what arrives', () => {
  it('the step\'s .eml arrives whole over STARTTLS after AUTH PLAIN, to the configured recipients only', async () => {
    const { smtp, receiver, deliver } = await setup(secureSmtp({ authMethods: ['PLAIN'] }));
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const rendered = renderedEmail(step.incident);
    await expect(deliver(step, rendered)).resolves.toMatchObject({ action: 'sent', ticket: null });
    expect(smtp.accepted).toHaveLength(1);
    const [mail] = smtp.accepted;
    expect(mail!.secure).toBe(true);
    expect(mail!.user).toBe(USER);
    expect(mail!.envelope).toEqual({ from: USER, to: ['soc@contoso.example', 'lead@contoso.example'] });
    const expected = emailMessage({ step, receiverName: 'soc-email', receiver, rendered, operation: 'send', ticket: null });
    // the bytes are the outbox file's: one message, whatever the transport
    expect(mail!.raw.replace(/\r\n/g, '\n')).toBe(emlText(expected).replace(/\r\n/g, '\n'));
    const p = mail!.parsed;
    expect(p.subject).toBe(expected.subject);
    expect(p.messageId).toBe(expected.messageId);
    expect(p.inReplyTo).toBe(expected.thread);
    expect(p.references).toBe(expected.thread);
    expect(p.text?.trim()).toBe(rendered.parts.text);
    expect(p.html).toBe(rendered.parts.html);
    expect(p.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('implicit TLS with AUTH LOGIN, and plain text to a loopback relay without AUTH', async () => {
    const implicit = await setup(secureSmtp({ tls: 'implicit', authMethods: ['LOGIN'] }));
    await implicit.deliver();
    expect(implicit.smtp.accepted.map((m) => [m.secure, m.user])).toEqual([[true, USER]]);
    const local = await setup({ tls: 'none' }, {}, { env: {} });
    await local.deliver();
    expect(local.smtp.accepted.map((m) => [m.secure, m.user])).toEqual([[false, undefined]]);
  });

  it('every moment of one incident threads under the same first message; each has its own Message-ID', async () => {
    const { smtp, deliver } = await setup(secureSmtp());
    const incident = makeIncident();
    await deliver(makeStep({ kind: 'email', receiver: 'soc-email', incident, idempotencyKey: 'a'.repeat(64) }));
    await deliver(makeStep({ kind: 'email', receiver: 'soc-email', incident, idempotencyKey: 'b'.repeat(64) }));
    const [first, second] = smtp.accepted.map((m) => m.parsed);
    expect(second!.references).toBe(first!.references);
    expect(second!.inReplyTo).toBe(first!.inReplyTo);
    expect(second!.messageId).not.toBe(first!.messageId);
  });

  it('lines that begin with a dot arrive as written (dot-stuffing)', async () => {
    const { smtp, deliver } = await setup({ tls: 'none' }, {}, { env: {} });
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const text = 'before\n.\n..two dots\n.hidden line\nafter';
    await deliver(step, renderedEmail(step.incident, { text }));
    expect(smtp.accepted[0]!.parsed.text?.replace(/\r\n/g, '\n').trim()).toBe(text);
  });

  it('a message over the server\'s SIZE is cut to it and sent; a server that still refuses the size is terminal', async () => {
    const size = 64 * 1024;
    const { smtp, deliver } = await setup(secureSmtp({ size }));
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    const big = 'Raspberry Robin worm spread. '.repeat(10_000);
    await deliver(step, renderedEmail(step.incident, { html: `<p>${big}</p>`, text: big }));
    expect(smtp.accepted).toHaveLength(1);
    expect(Buffer.byteLength(smtp.accepted[0]!.raw)).toBeLessThanOrEqual(size);
    expect(smtp.accepted[0]!.parsed.html).toMatch(/^<p>Raspberry Robin/);
    smtp.inject('DATA', { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' });
    expect(await failure(deliver())).toMatchObject({ kind: 'terminal', message: expect.stringMatching(/552 .*larger than the server takes/) });
  });
});

describe('email over SMTP: failures, classified as the notifier contract classifies HTTP', () => {
  it('4xx replies at any stage are retryable, throttles rate-limited for a minute; the retry sends once', async () => {
    const { smtp, deliver } = await setup(secureSmtp());
    for (const [stage, code, text] of [
      ['connect', 421, '4.3.2 Service not available, closing transmission channel'],
      ['MAIL FROM', 451, '4.3.0 Temporary server error'],
      ['RCPT TO', 450, '4.2.0 Mailbox busy'],
      ['DATA', 452, '4.3.1 Insufficient system storage'],
      ['AUTH', 454, '4.7.0 Temporary authentication failure'],
    ] as const) {
      smtp.inject(stage, { code, text });
      const err = await failure(deliver());
      expect(err.kind, `${stage} ${code}`).toBe(stage === 'AUTH' ? 'rate-limited' : 'retryable');
    }
    for (const text of ['4.7.0 Too many messages, slow down', '4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages']) {
      smtp.inject('RCPT TO', { code: 450, text });
      expect(await failure(deliver())).toMatchObject({ kind: 'rate-limited', retryAfterMs: SMTP_THROTTLE_MS });
    }
    expect(smtp.accepted).toHaveLength(0);
    await deliver();
    expect(smtp.accepted).toHaveLength(1);
  });

  it('a reset before the message was taken, a silent server and a refused connection are retryable; nothing was sent', async () => {
    const { smtp, deliver } = await setup(secureSmtp(), {}, { timeoutMs: 300 });
    for (const [stage, fault] of [['MAIL FROM', 'reset'], ['DATA', 'reset'], ['connect', 'hang'], ['RCPT TO', 'hang'], ['DATA', 'hang']] as const) {
      smtp.inject(stage, fault);
      expect((await failure(deliver())).kind, `${stage} ${fault}`).toBe('retryable');
    }
    expect(smtp.accepted).toHaveLength(0);
    await deliver();
    expect(smtp.accepted).toHaveLength(1);
    const closed = await freePort();
    const refused = await setup(secureSmtp(), { smtpPort: closed });
    expect(await failure(refused.deliver())).toMatchObject({ kind: 'retryable', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('bad credentials, a missing sign-in and a refused relay are auth; an unknown recipient is terminal and nobody gets the mail', async () => {
    const wrong = await setup(secureSmtp(), {}, { env: { SMTP_USERNAME: USER, SMTP_PASSWORD: 'not-the-password' } });
    expect(await failure(wrong.deliver())).toMatchObject({ kind: 'auth', message: expect.stringMatching(/AUTH answered 535/) });
    const anonymous = await setup(secureSmtp(), { smtpUsername: undefined, smtpPassword: undefined });
    expect(await failure(anonymous.deliver())).toMatchObject({ kind: 'auth', message: expect.stringMatching(/530 .*set smtpUsername and smtpPassword/) });
    const relay = await setup(secureSmtp());
    relay.smtp.inject('RCPT TO', { code: 550, text: '5.7.1 Relaying denied' });
    expect(await failure(relay.deliver())).toMatchObject({ kind: 'auth', message: expect.stringMatching(/will not relay/) });
    const unknown = await setup(secureSmtp({ mailboxes: ['soc@contoso.example'] }));
    const err = await failure(unknown.deliver());
    expect(err).toMatchObject({ kind: 'terminal', message: expect.stringMatching(/RCPT TO answered 550 5\.1\.1 <lead@contoso\.example>/) });
    expect(unknown.smtp.accepted).toHaveLength(0);
  });

  it('an untrusted certificate, a server without STARTTLS and a port that is not SMTP are terminal', async () => {
    const untrusted = await setup(secureSmtp(), {}, { trust: false });
    expect(await failure(untrusted.deliver())).toMatchObject({ kind: 'terminal', message: expect.stringMatching(/certificate is not trusted/) });
    const plainOnly = await setup({ tls: 'none', users: { [USER]: PASSWORD } }, { smtpTls: 'starttls' });
    expect(await failure(plainOnly.deliver())).toMatchObject({ kind: 'terminal', message: expect.stringMatching(/does not offer STARTTLS/) });
    const web = await listen((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    const notSmtp = await setup(secureSmtp(), { smtpPort: web });
    expect(await failure(notSmtp.deliver())).toMatchObject({ kind: 'terminal', message: expect.stringMatching(/not an SMTP reply/) });
    const banned = await setup(secureSmtp());
    banned.smtp.inject('connect', { code: 554, text: '5.7.1 Your address is on a block list' });
    expect((await failure(banned.deliver())).kind).toBe('terminal');
  });

  it('the one duplicate window: a 250 lost after the server took the message; the retry\'s copy has the same Message-ID', async () => {
    const { smtp, deliver } = await setup(secureSmtp());
    const step = makeStep({ kind: 'email', receiver: 'soc-email' });
    smtp.inject('DATA', 'accept-then-reset');
    expect((await failure(deliver(step))).kind).toBe('retryable');
    await deliver(step);
    expect(smtp.accepted).toHaveLength(2);
    expect(smtp.accepted[1]!.parsed.messageId).toBe(smtp.accepted[0]!.parsed.messageId);
  });

  it('no error carries the user name or password, even when the server echoes them back', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const secrets = [PASSWORD, USER, b64(PASSWORD), b64(USER), b64(`\u0000${USER}\u0000${PASSWORD}`)];
    const { smtp, deliver } = await setup(secureSmtp());
    for (const stage of ['AUTH', 'MAIL FROM', 'RCPT TO', 'DATA'] as const) {
      smtp.inject(stage, { code: 535, text: `5.7.8 rejected ${secrets.join(' ')}` });
      const err = await failure(deliver());
      const text = `${err.message}\n${err.stack}\n${JSON.stringify({ ...err })}`;
      for (const s of secrets) expect(text, stage).not.toContain(s);
    }
  });

  it('classifies a reply by its code and enhanced status, never by who sent it', () => {
    const kind = (stage: string, code: number, text: string) => smtpReplyError(stage, { code, lines: [text] }, []).kind;
    expect(kind('MAIL FROM', 530, '5.7.0 Authentication required')).toBe('auth');
    expect(kind('DATA', 554, '5.7.1 Message rejected as spam')).toBe('terminal');
    expect(kind('RCPT TO', 550, '5.7.1 Sender not allowed')).toBe('auth');
    expect(kind('RCPT TO', 551, '5.1.6 User has moved')).toBe('terminal');
    expect(kind('DATA', 451, '4.4.2 Connection dropped')).toBe('retryable');
    expect(kind('greeting', 220, 'ok, but said at the wrong time')).toBe('terminal');
  });
});

describe('email over SMTP: configuration', () => {
  const base = { kind: 'email', to: ['soc@contoso.example'], from: USER } as const;
  const transport = (fields: Record<string, unknown>) => () => transportOf(receiverSchema.parse({ ...base, ...fields }) as EmailReceiver, 'soc-email');

  it('smtpHost alone chooses SMTP; the schema takes a host name or an address, never a URL', () => {
    expect(transport({ smtpHost: 'smtp-relay.contoso.example' })()).toBe('smtp');
    expect(transport({ smtpHost: '10.0.0.25', transport: 'smtp' })()).toBe('smtp');
    for (const host of ['smtp://smtp.contoso.example', 'smtp.contoso.example:587', 'smtp .contoso.example', '']) {
      expect(receiverSchema.safeParse({ ...base, smtpHost: host }).success, host).toBe(false);
    }
    expect(receiverSchema.safeParse({ ...base, smtpHost: 'smtp.contoso.example', smtpPassword: 'hunter2' }).success).toBe(false);
  });

  it('refuses plain text to a remote relay, half a credential and SMTP fields on another transport', () => {
    expect(transport({ smtpHost: 'smtp.contoso.example', smtpTls: 'none' })).toThrow(/smtpTls: none is only for a relay on this machine/);
    expect(transport({ smtpHost: 'smtp.contoso.example', smtpUsername: 'env:SMTP_USERNAME' })).toThrow(/smtpPassword is required/);
    expect(transport({ acsEndpoint: 'https://contoso-acs.communication.azure.com', smtpPort: 587 })).toThrow(/smtpPort is for transport: smtp/);
    expect(transport({ transport: 'smtp' })).toThrow(/smtpHost is required with transport: smtp/);
    expect(transport({ smtpHost: 'localhost', smtpTls: 'none' })()).toBe('smtp');
  });
});

describe('the hostile corpus, through the shipped template, over SMTP', () => {
  it('adds no recipient, header or HTML element, and keeps the subject one line', async () => {
    const set = compileTemplates(loadShippedTemplates());
    const render = (text: string) => {
      const seed = seedStep('email', 'owner-customer');
      const step = seedStep('email', 'owner-customer', {
        incident: { ...seed.incident, title: text, description: text, devices: [{ name: text, id: null }], users: [{ name: text, userPrincipalName: null, objectId: null }], tags: [text] },
      });
      return { step, rendered: renderStep(set, step, { receiverName: 'soc-email', ticket: null }) };
    };
    const { smtp, deliver } = await setup({ tls: 'none' }, {}, { env: {} });
    const baseline = render('Multi-stage incident');
    await deliver(baseline.step, baseline.rendered);
    for (const [i, text] of HOSTILE.entries()) {
      const { step, rendered } = render(text);
      await deliver({ ...step, idempotencyKey: `${i}`.padStart(64, 'h') }, rendered);
    }
    expect(smtp.accepted).toHaveLength(HOSTILE.length + 1);
    const [base0, ...rest] = smtp.accepted;
    const headerNames = (m: typeof base0) => [...m!.parsed.headers.keys()].sort();
    const tags = (html: string) => htmlTagShapes(html).filter((t) => t !== 'br');
    for (const m of rest) {
      expect(m.envelope).toEqual(base0!.envelope);
      expect(headerNames(m)).toEqual(headerNames(base0));
      expect(m.parsed.bcc).toBeUndefined();
      // eslint-disable-next-line no-control-regex
      expect(m.parsed.subject).not.toMatch(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/);
      expect(m.parsed.references).toBe(base0!.parsed.references);
      const html = m.parsed.html || '';
      expect(tags(html)).toEqual(tags(base0!.parsed.html || ''));
      expect(html).not.toMatch(/<script|<img|<svg|<a href="https:\/\/evil|=\s*["']?\s*javascript:/i);
      expect(strayAngleBrackets(html)).toBe(0);
    }
  });
});

async function listen(onConnection: (socket: import('node:net').Socket) => void): Promise<number> {
  const server: Server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise((r) => server.close(() => r())) });
  return (server.address() as import('node:net').AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
