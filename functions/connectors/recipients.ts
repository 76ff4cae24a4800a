/**
 * One text or call per recipient, each its own unit: a step to three phones is three sends, and what
 * became of each is kept apart. The transports (sms/acs.ts, twilio/rest.ts for SMS and voice) report an
 * outcome per recipient; this file keeps those outcomes across the tries of one step (in this process) and
 * turns them into the step's one result.
 *
 * Why in memory and not in the ledger: the pipeline records a step as a whole, after the connector
 * returns, so a connector has nowhere durable to note "recipient 1 has it" when recipient 2 fails. ACS
 * needs no note (its repeatability id drops a repeat); Twilio has no such id, so this memory is what keeps
 * a retry in the same process from texting or calling recipient 1 again. A retry on another instance, or
 * after a restart, has no memory: docs/RECEIVERS.md "SMS" and "Voice call" state that window.
 */
import { KitError, type KitErrorKind } from '../core/errors.js';

export type RecipientOutcome =
  /** messageId: the target's id of what it took (an ACS message id, a Twilio Message or Call SID) */
  | { to: string; sent: true; messageId: string | null }
  | { to: string; sent: false; error: KitError };

/** How a recipient is named in messages: its place in `to` and its last four digits, not the whole number. */
export function recipientLabel(to: string, index: number): string {
  return `to[${index}] (…${to.slice(-4)})`;
}

const DEFAULT_MAX_STEPS = 1000;
/** a step is retried for minutes, at most hours (Retry-After); a day covers every try of it */
const DEFAULT_TTL_MS = 24 * 60 * 60_000;

interface StepProgress {
  at: number;
  outcomes: Map<string, RecipientOutcome>;
}

/**
 * What each recipient of a step got, per step idempotency key: texts sent or calls placed, and refusals
 * that sending again cannot change (terminal). Retryable failures are not kept: the next try sends to them.
 * Bounded (oldest step out first) so a long-lived worker does not grow without end.
 */
export class RecipientProgress {
  private readonly steps = new Map<string, StepProgress>();

  constructor(
    private readonly options: { maxSteps?: number; ttlMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** the outcomes kept for this step's recipients (sent, or refused for good) */
  settled(stepKey: string): Map<string, RecipientOutcome> {
    const entry = this.steps.get(stepKey);
    if (!entry) return new Map();
    if (this.now() - entry.at > (this.options.ttlMs ?? DEFAULT_TTL_MS)) {
      this.steps.delete(stepKey);
      return new Map();
    }
    return new Map(entry.outcomes);
  }

  /** keeps what this try settled; called after every try, whatever its result */
  keep(stepKey: string, outcomes: ReadonlyArray<RecipientOutcome>): void {
    const settled = outcomes.filter((o) => o.sent || !o.error.retryable);
    if (settled.length === 0) return;
    const entry = this.steps.get(stepKey) ?? { at: this.now(), outcomes: new Map<string, RecipientOutcome>() };
    for (const o of settled) entry.outcomes.set(o.to, o);
    // re-inserted last, so the Map's order is oldest first
    this.steps.delete(stepKey);
    this.steps.set(stepKey, entry);
    const max = this.options.maxSteps ?? DEFAULT_MAX_STEPS;
    while (this.steps.size > max) this.steps.delete(this.steps.keys().next().value as string);
  }

  /** the step is done (every recipient sent, or given up): nothing more to remember */
  forget(stepKey: string): void {
    this.steps.delete(stepKey);
  }
}

/** auth first (nothing works until a person fixes it), then waiting, then trying again, then giving up */
const PRECEDENCE: KitErrorKind[] = ['auth', 'config', 'rate-limited', 'retryable', 'terminal'];

function rank(kind: KitErrorKind): number {
  const i = PRECEDENCE.indexOf(kind);
  return i === -1 ? PRECEDENCE.length : i;
}

const MAX_LISTED = 5;

/**
 * The step's one error from its recipients' outcomes, or null when every recipient has the text (or the
 * call). A retryable failure of one recipient makes the whole step retryable (the retry sends only to it);
 * a refusal that is final fails the step even when the others got it, so a wrong number is seen.
 *
 * `what` opens the message ("sms (acs)", "voice (twilio)"), `verb` says what reached the others ("sent to", "called").
 */
export function combinedError(what: string, recipients: ReadonlyArray<string>, outcomes: ReadonlyMap<string, RecipientOutcome>, verb = 'sent to'): KitError | null {
  const failed: Array<{ index: number; error: KitError }> = [];
  recipients.forEach((to, index) => {
    const o = outcomes.get(to);
    if (!o) failed.push({ index, error: new KitError('not tried', { kind: 'retryable' }) });
    else if (!o.sent) failed.push({ index, error: o.error });
  });
  if (failed.length === 0) return null;
  const worst = failed.reduce((a, b) => (rank(b.error.kind) < rank(a.error.kind) ? b : a)).error;
  const sent = recipients.length - failed.length;
  const listed = failed
    .slice(0, MAX_LISTED)
    .map((f) => `${recipientLabel(recipients[f.index]!, f.index)}: ${f.error.message}`)
    .join('; ');
  const more = failed.length > MAX_LISTED ? `; and ${failed.length - MAX_LISTED} more` : '';
  const retryAfters = failed.map((f) => f.error.retryAfterMs).filter((ms): ms is number => typeof ms === 'number');
  const retryAfterMs = retryAfters.length > 0 && (worst.kind === 'rate-limited' || worst.kind === 'retryable') ? Math.max(...retryAfters) : undefined;
  const statusCode = failed.length === 1 || failed.every((f) => f.error.statusCode === worst.statusCode) ? worst.statusCode : undefined;
  return new KitError(`${what}: ${verb} ${sent} of ${recipients.length} recipients; ${listed}${more}`, {
    kind: worst.kind,
    ...(statusCode !== undefined ? { statusCode } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    cause: worst,
  });
}

export interface RecipientRound {
  progress: RecipientProgress;
  stepKey: string;
  /** the receiver's `to`: one send per number, even when a number is listed twice */
  to: ReadonlyArray<string>;
  /** opens the step's error, e.g. "sms (acs)" */
  what: string;
  /** what reached the others, e.g. "sent to", "called" */
  verb?: string;
  /** sends to the recipients this step has not settled yet, and says what became of each */
  send: (pending: string[]) => Promise<RecipientOutcome[]>;
}

/**
 * One try of a step, recipient by recipient: those already settled in this process are skipped, the rest
 * go to `send`, what it settled is kept for the next try, and the outcomes become the step's one result
 * (resolves when every recipient has it, else throws combinedError). An error `send` throws (a
 * configuration problem found before any request) is the step's, and nothing is kept.
 */
export async function deliverToEach(round: RecipientRound): Promise<void> {
  const recipients = [...new Set(round.to)];
  const known = round.progress.settled(round.stepKey);
  const pending = recipients.filter((to) => !known.has(to));
  const outcomes = pending.length === 0 ? [] : await round.send(pending);
  round.progress.keep(round.stepKey, outcomes);
  const all = new Map(known);
  for (const o of outcomes) all.set(o.to, o);
  const error = combinedError(round.what, recipients, all, round.verb);
  if (error) throw error;
  round.progress.forget(round.stepKey);
}
