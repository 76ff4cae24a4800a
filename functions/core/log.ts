/**
 * Structured logging port. Every line carries the fields an on-call engineer filters by
 * (incidentKey, playbook, receiver, idempotencyKey, attempt). Values are scrubbed defensively:
 * URLs lose their query and path beyond the first segment (webhook URLs carry their secret there)
 * and strings that look like credentials are masked, so a careless caller still cannot leak one.
 */
export interface LogFields {
  incidentKey?: string;
  playbook?: string;
  receiver?: string;
  idempotencyKey?: string;
  attempt?: number;
  [key: string]: unknown;
}

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const URL_RE = /\bhttps?:\/\/[^\s"'<>]+/gi;
const SECRETISH_RE = /\b(xox[abposr]-[0-9A-Za-z-]{6,}|sig=[^&\s"']+|(?:api[_-]?key|token|password|secret|code)=[^&\s"']+)/gi;

export function scrub(text: string): string {
  return text
    .replace(URL_RE, (u) => {
      try {
        const url = new URL(u);
        const first = url.pathname.split('/').filter(Boolean)[0];
        return `${url.protocol}//${url.host}${first ? `/${first}/…` : ''}`;
      } catch {
        return '[url]';
      }
    })
    .replace(SECRETISH_RE, (m) => `${m.split(/[=-]/)[0]}=[redacted]`);
}

function scrubValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return scrub(v);
  if (depth > 3 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubValue(x, depth + 1)]));
}

export function scrubFields(fields: LogFields | undefined): LogFields | undefined {
  return fields ? (scrubValue(fields) as LogFields) : undefined;
}

/** JSON lines to a sink (stderr for the CLI, context.log in Functions). */
export function createJsonLogger(write: (line: string) => void, base: LogFields = {}): Logger {
  const emit = (level: string, message: string, fields?: LogFields) =>
    write(JSON.stringify({ level, message: scrub(message), ...scrubFields(base), ...scrubFields(fields) }));
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
