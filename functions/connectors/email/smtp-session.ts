/**
 * One SMTP conversation (RFC 5321) over a socket the kit owns: connect (plain or implicit TLS), read
 * replies (multi-line "250-…" up to "250 …"), send a command line, upgrade in place after STARTTLS
 * (RFC 3207), and write the DATA body dot-stuffed. It knows nothing of mail or of what a reply means;
 * smtp.ts does. Every wait is bounded by `timeoutMs` and by the delivery's abort signal, and a socket
 * error ends every pending wait, so a silent or vanished server can never hold a delivery.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface SmtpReply {
  code: number;
  /** the text of each line, without the code and separator */
  lines: string[];
}

/** Why the conversation ended before a reply came: smtp.ts turns this into a KitError. */
export class SmtpWireError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'closed' | 'socket' | 'tls' | 'protocol' | 'aborted',
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface SmtpConnectOptions {
  host: string;
  port: number;
  /** implicit TLS from the first byte (port 465) instead of plain TCP */
  implicitTls: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  /** extra TLS options (a test's own CA); the server name and certificate checks stay on */
  tls?: tls.ConnectionOptions;
}

/** the most a reply may hold: a server that sends more is not an SMTP server */
const MAX_REPLY_BYTES = 64 * 1024;
const REPLY_LINE = /^(\d{3})([ -])(.*)$/;

/** The certificate error codes Node gives for a server the kit must not trust. */
const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_)/;

export class SmtpSession {
  private socket: net.Socket;
  private buffer = '';
  private pending: SmtpReply[] = [];
  private partial: string[] = [];
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: SmtpWireError) => void } | undefined;
  private failure: SmtpWireError | undefined;
  private readonly onAbort = () => this.fail(new SmtpWireError('the delivery was cancelled', 'aborted'));

  private constructor(
    socket: net.Socket,
    private readonly options: SmtpConnectOptions,
  ) {
    this.socket = socket;
    this.attach(socket);
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Opens the connection; resolves once it is up (and, with implicit TLS, the handshake done). */
  static connect(options: SmtpConnectOptions): Promise<SmtpSession> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(new SmtpWireError('the delivery was cancelled', 'aborted'));
      const socket = options.implicitTls
        ? tls.connect({ ...options.tls, host: options.host, port: options.port, ...serverName(options.host) })
        : net.connect({ host: options.host, port: options.port });
      const session = new SmtpSession(socket, options);
      const timer = setTimeout(() => session.fail(new SmtpWireError(`no connection within ${options.timeoutMs} ms`, 'timeout')), options.timeoutMs);
      const ready = () => {
        clearTimeout(timer);
        if (session.failure) return reject(session.failure);
        resolve(session);
      };
      session.whenFailed = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once(options.implicitTls ? 'secureConnect' : 'connect', ready);
    });
  }

  private whenFailed: ((err: SmtpWireError) => void) | undefined;

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      this.fail(new SmtpWireError(`${err.message}`, TLS_CODES.test(code) ? 'tls' : 'socket', code || undefined));
    });
    socket.on('close', () => this.fail(new SmtpWireError('the server closed the connection', 'closed')));
  }

  private receive(text: string): void {
    this.buffer += text;
    if (this.buffer.length > MAX_REPLY_BYTES) return this.fail(new SmtpWireError('the server sent more than an SMTP reply can hold', 'protocol'));
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      const m = REPLY_LINE.exec(line);
      if (!m) return this.fail(new SmtpWireError('the server\'s answer is not an SMTP reply', 'protocol'));
      this.partial.push(m[3]!);
      if (m[2] === ' ') {
        const reply = { code: Number(m[1]), lines: this.partial };
        this.partial = [];
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = undefined;
          w.resolve(reply);
        } else this.pending.push(reply);
      }
    }
  }

  private fail(err: SmtpWireError): void {
    if (this.failure) return;
    this.failure = err;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
    this.whenFailed?.(err);
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  /** the next reply, within the timeout */
  read(): Promise<SmtpReply> {
    const queued = this.pending.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new SmtpWireError(`no reply within ${this.options.timeoutMs} ms`, 'timeout')), this.options.timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** writes one command line and reads its reply */
  async command(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  /** the DATA body: dot-stuffed (RFC 5321 4.5.2), ended by CRLF.CRLF; resolves with the final reply */
  async data(message: string): Promise<SmtpReply> {
    const body = message.replace(/\r?\n/g, '\r\n').replace(/(^|\r\n)\./g, '$1..');
    this.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    return this.read();
  }

  /** STARTTLS accepted: the rest of the conversation runs inside TLS on the same connection. */
  upgrade(): Promise<void> {
    const plain = this.socket;
    // TLS reads the raw bytes from here on; the plain socket's error and close still end the session
    plain.removeAllListeners('data');
    // a plain-text reply sent before the handshake would be a STARTTLS injection (CVE-2011-0411 class)
    if (this.buffer !== '' || this.pending.length > 0) {
      this.fail(new SmtpWireError('the server sent data after accepting STARTTLS', 'protocol'));
      return Promise.reject(this.failure);
    }
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ ...this.options.tls, socket: plain, ...serverName(this.options.host) });
      this.socket = secure;
      this.attach(secure);
      const timer = setTimeout(() => this.fail(new SmtpWireError(`no TLS handshake within ${this.options.timeoutMs} ms`, 'timeout')), this.options.timeoutMs);
      this.whenFailed = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        this.whenFailed = undefined;
        resolve();
      });
    });
  }

  private write(text: string): void {
    if (this.failure) return;
    this.socket.write(text, 'utf8');
  }

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket && this.socket.encrypted;
  }

  /** QUIT politely, without waiting for more than a moment, then drop the connection either way. */
  async close(): Promise<void> {
    if (this.failure) return;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.write('QUIT\r\n');
    await Promise.race([this.read().catch(() => undefined), new Promise((r) => setTimeout(r, 200).unref())]);
    this.failure ??= new SmtpWireError('closed by the kit', 'closed');
    this.socket.destroy();
  }
}

/** SNI and the certificate's name check need a host name; for an IP address Node checks the IP SAN. */
function serverName(host: string): { servername?: string } {
  return net.isIP(host) ? {} : { servername: host };
}
