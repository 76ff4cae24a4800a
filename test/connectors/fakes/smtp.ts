/**
 * A real SMTP server for the email tests (npm smtp-server, the server half of Nodemailer), not a
 * hand-rolled fake: STARTTLS, implicit TLS or plain; AUTH PLAIN/LOGIN against a user table; SIZE;
 * every accepted message parsed with mailparser. Faults are injected the way a real relay fails: a
 * reply code with an enhanced status text at a stage, a reset, a silent server, or a reset right
 * after the message was taken (the reply the kit never hears).
 *
 * The certificate below is for 127.0.0.1, ::1 and localhost, self-signed, and trusted only by the
 * tests that pass it as their CA: it is a test fixture, never a credential.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export const SMTP_TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBrjCCAVSgAwIBAgIUIlXt+n9MZH+eQlHLX6RmGM4ddPUwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMjIwMTAxMFoYDzIxMjYxMTA4
MjAxMDEwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARD9zYLJ5b+gGEfvk9LnK4jof0cZh22HcxcpN+F9GfsJw3ugIePOr0T
NLSi2QU8ODQdkcovTmUYqGHqgosUdX3Fo4GBMH8wHQYDVR0OBBYEFFAIIgR/HIsZ
hbxZaP8DN05uc9O4MB8GA1UdIwQYMBaAFFAIIgR/HIsZhbxZaP8DN05uc9O4MA8G
A1UdEwEB/wQFMAMBAf8wLAYDVR0RBCUwI4IJbG9jYWxob3N0hwR/AAABhxAAAAAA
AAAAAAAAAAAAAAABMAoGCCqGSM49BAMCA0gAMEUCIQD8qg4Xlnw4nYCWxBmENTVW
5zAXZnmqFN27xqiRQ49ufwIgNSBjYdXwRbNuAMMCCHbJgq15lrKruMf/byVQYtJD
tVY=
-----END CERTIFICATE-----
`;
const SMTP_TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgR6oKiL+pTez+bvBT
N3GezPUeo13HpDZglGK2yo8MaQGhRANCAARD9zYLJ5b+gGEfvk9LnK4jof0cZh22
HcxcpN+F9GfsJw3ugIePOr0TNLSi2QU8ODQdkcovTmUYqGHqgosUdX3F
-----END PRIVATE KEY-----
`;

export type SmtpStage = 'connect' | 'AUTH' | 'MAIL FROM' | 'RCPT TO' | 'DATA';
/** reply: answer with this code and text; reset: drop the connection; hang: never answer; accept-then-reset: take the message, then drop the connection instead of saying 250 */
export type SmtpFault = { code: number; text: string } | 'reset' | 'hang' | 'accept-then-reset';

export interface FakeSmtpOptions {
  tls: 'starttls' | 'implicit' | 'none';
  /** user name → password; absent: no AUTH offered, mail taken without it */
  users?: Record<string, string>;
  authMethods?: Array<'PLAIN' | 'LOGIN'>;
  /** SIZE the server advertises and enforces */
  size?: number;
  /** recipients the server knows; others get 550 5.1.1; absent: any */
  mailboxes?: string[];
}

export interface AcceptedMail {
  raw: string;
  parsed: ParsedMail;
  envelope: { from: string; to: string[] };
  /** the user the session signed in as, if any */
  user: string | undefined;
  /** the session ran inside TLS */
  secure: boolean;
}

export interface FakeSmtp {
  host: string;
  port: number;
  accepted: AcceptedMail[];
  /** connections accepted so far */
  readonly sessions: number;
  /** the next `times` sessions that reach `stage` get `fault` there */
  inject(stage: SmtpStage, fault: SmtpFault, times?: number): void;
  close(): Promise<void>;
}

function smtpError(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startFakeSmtp(options: FakeSmtpOptions): Promise<FakeSmtp> {
  const accepted: AcceptedMail[] = [];
  const faults: Array<{ stage: SmtpStage; fault: SmtpFault; left: number }> = [];
  let sessions = 0;
  const faultAt = (stage: SmtpStage): SmtpFault | undefined => {
    const f = faults.find((x) => x.stage === stage && x.left > 0);
    if (!f) return undefined;
    f.left--;
    return f.fault;
  };
  const socketOf = (session: SMTPServerSession) => [...server.connections].find((c) => c.id === session.id)?._socket;
  /** applies a fault; true when it answered (the handler must not go on) */
  const apply = (stage: SmtpStage, session: SMTPServerSession, callback: (err?: Error | null) => void): boolean => {
    const fault = faultAt(stage);
    if (fault === undefined || fault === 'accept-then-reset') return false;
    if (fault === 'hang') return true;
    if (fault === 'reset') {
      socketOf(session)?.destroy();
      return true;
    }
    callback(smtpError(fault.code, fault.text));
    return true;
  };
  const users = options.users;
  const serverOptions: SMTPServerOptions = {
    secure: options.tls === 'implicit',
    key: SMTP_TEST_KEY,
    cert: SMTP_TEST_CERT,
    hideSTARTTLS: options.tls !== 'starttls',
    disableReverseLookup: true,
    logger: false,
    banner: 'fake relay for the kit\'s tests',
    authMethods: options.authMethods ?? ['PLAIN', 'LOGIN'],
    authOptional: users === undefined,
    ...(users === undefined ? { disabledCommands: ['AUTH'] } : {}),
    allowInsecureAuth: options.tls === 'none',
    ...(options.size !== undefined ? { size: options.size } : {}),
    onConnect(session, callback) {
      sessions++;
      if (!apply('connect', session, callback)) callback();
    },
    onAuth(auth, session, callback) {
      if (apply('AUTH', session, callback)) return;
      if (users && auth.username !== undefined && users[auth.username] === auth.password) return callback(null, { user: auth.username });
      callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
    },
    onMailFrom(_address, session, callback) {
      if (!apply('MAIL FROM', session, callback)) callback();
    },
    onRcptTo(address, session, callback) {
      if (apply('RCPT TO', session, callback)) return;
      if (options.mailboxes && !options.mailboxes.includes(address.address)) return callback(smtpError(550, `5.1.1 <${address.address}>: no such mailbox`));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, '5.3.4 Message size exceeds fixed maximum message size'));
        const fault = faultAt('DATA');
        if (fault === 'hang') return;
        if (fault === 'reset') return void socketOf(session)?.destroy();
        if (fault !== undefined && fault !== 'accept-then-reset') return callback(smtpError(fault.code, fault.text));
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            accepted.push({
              raw,
              parsed,
              envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
              user: typeof session.user === 'string' ? session.user : undefined,
              secure: session.secure,
            });
            if (fault === 'accept-then-reset') socketOf(session)?.destroy();
            else callback();
          },
          (err: unknown) => callback(smtpError(554, `5.6.0 unreadable message: ${String(err)}`)),
        );
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    accepted,
    get sessions() {
      return sessions;
    },
    inject: (stage, fault, times = 1) => void faults.push({ stage, fault, left: times }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.connections) c._socket.destroy();
        server.close(() => resolve());
      }),
  };
}
