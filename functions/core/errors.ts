/**
 * One error type for the whole kit, in the spirit of the Azure SDK's RestError:
 * a kind that tells callers what to do next, an optional HTTP status code, and the cause.
 *
 * kinds:
 *  - validation    the caller's input is not what it should be (HTTP 400 at the edge)
 *  - config        playbooks / receivers / exclusions / templates are wrong (file:line:col in `where`)
 *  - template      a template failed to compile or render
 *  - retryable     a transient failure (5xx, timeout, reset): try again later
 *  - rate-limited  the target said 429 / throttled; `retryAfterMs` says when to come back
 *  - terminal      the target refused for good (4xx other than auth/429): do not retry
 *  - auth          401/403: a credential is wrong or missing; do not retry until fixed
 *  - conflict      an optimistic-concurrency write lost a race (ETag); re-read and retry
 */
export type KitErrorKind =
  | 'validation'
  | 'config'
  | 'template'
  | 'retryable'
  | 'rate-limited'
  | 'terminal'
  | 'auth'
  | 'conflict';

export interface SourceLocation {
  file?: string;
  line?: number;
  column?: number;
  /** dotted path of the offending field, e.g. `object.properties.severity` or `receivers.soc-jira.apiToken` */
  field?: string;
}

export interface KitErrorOptions {
  kind: KitErrorKind;
  statusCode?: number;
  cause?: unknown;
  retryAfterMs?: number;
  where?: SourceLocation;
}

export class KitError extends Error {
  override readonly name = 'KitError';
  readonly kind: KitErrorKind;
  readonly statusCode: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly where: SourceLocation | undefined;

  constructor(message: string, options: KitErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.statusCode = options.statusCode;
    this.retryAfterMs = options.retryAfterMs;
    this.where = options.where;
  }

  /** True when trying the same thing again later may succeed. */
  get retryable(): boolean {
    return this.kind === 'retryable' || this.kind === 'rate-limited' || this.kind === 'conflict';
  }

  /** `file:line:col message` when the location is known, as editors and CI annotators expect. */
  format(): string {
    const w = this.where;
    if (w?.file) {
      const pos = w.line ? `:${w.line}${w.column ? `:${w.column}` : ''}` : '';
      return `${w.file}${pos} ${this.message}`;
    }
    return this.message;
  }
}

export function isKitError(e: unknown): e is KitError {
  return e instanceof KitError;
}

/** A validation error about one field of the caller's input. */
export function invalid(field: string, message: string): KitError {
  return new KitError(`${field}: ${message}`, { kind: 'validation', statusCode: 400, where: { field } });
}
