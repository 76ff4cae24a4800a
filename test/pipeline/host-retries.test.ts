/**
 * The Functions host's own retries: a try that throws is handed over again as the same message with a
 * higher dequeueCount. Each host retry counts as an attempt, so maxAttempts bounds the work, and the host's
 * last try marks the step failed with a poison record instead of leaving the host to poison it silently.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStores } from '../../functions/state/index.js';
import type { Ledger, LedgerEntry } from '../../functions/state/ports.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { attemptOf, processDelivery, laneKey } from '../../functions/pipeline/process-delivery.js';
import { drainQueue } from '../../functions/pipeline/drain.js';
import { KitError } from '../../functions/core/errors.js';
import type { LogFields, Logger } from '../../functions/core/log.js';
import { createFakeTeams, serverError, startFakeServer } from '../helpers/fake-server.js';
import { harness, sampleLines } from './harness.js';

/** a ledger that refuses some writes with a non-retryable error (a role assignment gone, say) */
function refusingLedger(ledger: Ledger, refuses: (entry: LedgerEntry) => boolean): Ledger {
  return {
    get: (k) => ledger.get(k),
    list: () => ledger.list(),
    record: async (entry) => {
      if (refuses(entry)) throw new KitError('table service 403: AuthorizationPermissionMismatch', { kind: 'auth', statusCode: 403 });
      return ledger.record(entry);
    },
  };
}

function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields: LogFields | undefined }> } {
  const lines: Array<{ level: string; message: string; fields: LogFields | undefined }> = [];
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

describe('attemptOf', () => {
  it('adds one attempt per earlier host try of the same message, and is never below the message attempt', () => {
    const message = { step: {} as never, attempt: 3 };
    expect(attemptOf(message)).toBe(3);
    expect(attemptOf(message, { dequeueCount: 1 })).toBe(3);
    expect(attemptOf(message, { dequeueCount: 4 })).toBe(6);
    // nonsense from the host counts as a first delivery, not as fewer attempts
    for (const dequeueCount of [0, -2, 1.5, Number.NaN]) expect(attemptOf(message, { dequeueCount })).toBe(3);
  });
});

describe('a handler that throws, retried by the host', () => {
  it('counts each host retry as an attempt, so maxAttempts still ends it: failed, poisoned, reported', async () => {
    let clock = Date.parse('2026-11-26T10:00:00Z');
    const stores = createMemoryStores({ now: () => clock });
    const teams = createFakeTeams();
    // Teams is down, and recording the retry is refused: every try throws out of deliver
    const server = await startFakeServer((req, params) => (req.method === 'POST' ? serverError(503) : teams.handler(req, params)));
    try {
      const h = await harness(stores, { teamsWebhookUrl: `${server.url}${teams.path}` }, { now: () => new Date(clock) });
      const [first] = await sampleLines();
      const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-teams')!;
      const log = recordingLogger();
      const deps = { ...h.runtime.deliveryDeps, maxAttempts: 3, log, stores: { ...stores, ledger: refusingLedger(stores.ledger, (e) => e.status === 'pending') } };

      for (const dequeueCount of [1, 2]) {
        await expect(processDelivery({ step, attempt: 1 }, deps, { dequeueCount })).rejects.toThrow(/403/);
        clock += 30_000; // the host's visibility timeout
      }
      const last = await processDelivery({ step, attempt: 1 }, deps, { dequeueCount: 3 });
      expect(last).toMatchObject({ action: 'failed', attempt: 3 });
      expect(await stores.ledger.get(step.idempotencyKey)).toMatchObject({ status: 'failed', attempts: 3 });
      const poisoned = await stores.queue.peekPoison(10);
      expect(poisoned.map((p) => [p.delivery.step.idempotencyKey, p.delivery.attempt])).toEqual([[step.idempotencyKey, 3]]);
      // three tries, three calls: the host's retries did not run past maxAttempts
      expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
      expect(log.lines.filter((l) => l.message.startsWith('delivery try threw')).map((l) => l.fields?.attempt)).toEqual([1, 2]);
      expect(log.lines.find((l) => l.level === 'error')?.fields).toMatchObject({ idempotencyKey: step.idempotencyKey, attempt: 3 });
      // the lane was not left held by a try that threw before the target accepted
      expect(await stores.leases.get(laneKey(step))).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('on the host\'s last try gives the step up instead of trying again: failed + poison record, never a second send', async () => {
    let clock = Date.parse('2026-11-26T10:00:00Z');
    const stores = createMemoryStores({ now: () => clock });
    const teams = createFakeTeams();
    const server = await startFakeServer(teams.handler);
    try {
      const h = await harness(stores, { teamsWebhookUrl: `${server.url}${teams.path}` }, { now: () => new Date(clock) });
      const [first] = await sampleLines();
      const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-teams')!;
      // the ledger refuses every write from the moment Teams accepted until the operator fixes it
      let broken = true;
      const ledger: Ledger = {
        get: async (k) => {
          if (broken && teams.messages.length > 0) throw new KitError('table service 403', { kind: 'auth', statusCode: 403 });
          return stores.ledger.get(k);
        },
        list: () => stores.ledger.list(),
        record: async (e) => {
          if (broken && teams.messages.length > 0) throw new KitError('table service 403', { kind: 'auth', statusCode: 403 });
          return stores.ledger.record(e);
        },
      };
      const log = recordingLogger();
      const deps = { ...h.runtime.deliveryDeps, log, stores: { ...stores, ledger } };

      for (const dequeueCount of [1, 2, 3, 4]) {
        await expect(processDelivery({ step, attempt: 1 }, deps, { dequeueCount, maxDequeueCount: 5 })).rejects.toThrow(/403/);
        clock += 30_000;
      }
      expect(teams.messages).toHaveLength(1);
      broken = false;
      const last = await processDelivery({ step, attempt: 1 }, deps, { dequeueCount: 5, maxDequeueCount: 5 });
      expect(last).toMatchObject({ action: 'failed', attempt: 5 });
      expect(teams.messages).toHaveLength(1);
      const entry = await stores.ledger.get(step.idempotencyKey);
      expect(entry).toMatchObject({ status: 'failed', attempts: 5 });
      expect(entry?.error).toMatch(/Functions host handed this message over 5 time\(s\)/);
      const [poisoned] = await stores.queue.peekPoison(10);
      expect(poisoned?.delivery).toEqual({ step, attempt: 5 });
      expect(poisoned?.reason).toBe(entry?.error);
      const reported = log.lines.filter((l) => l.level === 'error' && l.fields?.idempotencyKey === step.idempotencyKey);
      expect(reported.map((l) => l.message)).toContain('delivery failed for good after the Functions host retried it to its limit; moved to the poison queue');
      // the first try's lane is still held: no other worker re-sends before it lapses
      expect((await stores.leases.get(laneKey(step)))?.until).toBeGreaterThan(clock);
      expect((await processDelivery({ step, attempt: 1 }, h.runtime.deliveryDeps)).action).toBe('failed');
      expect(teams.messages).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('leaves a step that an earlier try delivered and recorded as done on the last try', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const [first] = await sampleLines();
    const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-email')!;
    // delivered and recorded, then the comment back or the message delete failed the invocation
    expect((await processDelivery({ step, attempt: 1 }, h.runtime.deliveryDeps)).action).toBe('sent');
    const last = await processDelivery({ step, attempt: 1 }, h.runtime.deliveryDeps, { dequeueCount: 5 });
    expect(last.action).toBe('skipped-duplicate');
    expect((await stores.ledger.get(step.idempotencyKey))?.status).toBe('done');
    expect(await stores.queue.peekPoison(10)).toEqual([]);
  });

  it('tries once and still records failure when the first try is also the host\'s last (maxDequeueCount 1)', async () => {
    const stores = createMemoryStores();
    const h = await harness(stores);
    const [first] = await sampleLines();
    const step = (await ingest(first, h.runtime.ingestDeps)).steps.find((s) => s.receiver === 'soc-email')!;
    const deps = { ...h.runtime.deliveryDeps, stores: { ...stores, ledger: refusingLedger(stores.ledger, (e) => e.status === 'done') } };
    const o = await processDelivery({ step, attempt: 1 }, deps, { dequeueCount: 1, maxDequeueCount: 1 });
    expect(o.action).toBe('failed');
    expect(await h.outboxFiles()).toHaveLength(1);
    expect(await stores.ledger.get(step.idempotencyKey)).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await stores.queue.peekPoison(10)).map((p) => p.delivery.step.idempotencyKey)).toEqual([step.idempotencyKey]);
  });
});

describe('render throwing unexpectedly', () => {
  it('is an ordinary failed try: re-queued with a rising attempt, then poisoned and failed, never sent', async () => {
    let clock = Date.parse('2026-11-26T10:00:00Z');
    const stores = createMemoryStores({ now: () => clock });
    const h = await harness(stores, {}, { now: () => new Date(clock) });
    const [first] = await sampleLines();
    const steps = (await ingest(first, h.runtime.ingestDeps)).steps;
    const email = steps.find((s) => s.receiver === 'soc-email')!;
    const deps = {
      ...h.runtime.deliveryDeps,
      render: (s: typeof email, t: Parameters<typeof h.runtime.deliveryDeps.render>[1]) => {
        if (s.receiver === 'soc-email') throw new TypeError("Cannot read properties of undefined (reading 'title')");
        return h.runtime.deliveryDeps.render(s, t);
      },
    };
    const attempts: number[] = [];
    for (let spins = 0; spins < 200 && (await stores.queue.approximateCount()) > 0; spins++) {
      for (const m of await stores.queue.receive(16, 60_000)) {
        const o = await processDelivery(m.delivery, deps, { dequeueCount: m.dequeueCount });
        if (o.receiver === 'soc-email') attempts.push(o.attempt);
        await stores.queue.delete(m);
      }
      clock += 60_000;
    }
    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    expect(await stores.ledger.get(email.idempotencyKey)).toMatchObject({ status: 'failed', attempts: 5 });
    expect((await stores.ledger.get(email.idempotencyKey))?.error).toMatch(/^retryable: Cannot read properties/);
    expect((await stores.queue.peekPoison(10)).map((p) => p.delivery.step.idempotencyKey)).toEqual([email.idempotencyKey]);
    expect((await h.outboxFiles()).filter((f) => f.startsWith('soc-email/'))).toEqual([]);
    // the others went out once each
    expect((await h.outboxFiles()).length).toBe(steps.length - 1);
  });
});

describe('drain', () => {
  it('hands the message\'s dequeueCount to deliver: a message back after a crash is the next attempt', async () => {
    let clock = Date.parse('2026-11-26T10:00:00Z');
    const stores = createMemoryStores({ now: () => clock });
    const h = await harness(stores, {}, { now: () => new Date(clock) });
    const [first] = await sampleLines();
    const steps = (await ingest(first, h.runtime.ingestDeps)).steps;
    // a worker took every message and died before deliver ran
    expect(await stores.queue.receive(32, 30_000)).toHaveLength(steps.length);
    clock += 30_000;
    const outcomes = await drainQueue(h.runtime.deliveryDeps);
    expect(outcomes.map((o) => o.attempt)).toEqual(steps.map(() => 2));
    expect(outcomes.filter((o) => ['requeued', 'failed', 'skipped-duplicate'].includes(o.action))).toEqual([]);
    for (const s of steps) expect(await stores.ledger.get(s.idempotencyKey)).toMatchObject({ status: 'done', attempts: 2 });
  });
});
