/**
 * Fuzzing dispatch (POST /api/dispatch), the way the Functions host calls it: N seeded fuzzed bodies
 * (test/soak/fuzz-bodies.ts; SPK_SOAK_N, default 400; the soak run sets 10000; SPK_SOAK_SEED picks another
 * day) on the real runtime (shipped playbooks, templates) over in-memory stores.
 *
 * For every body: an answer, never a throw; 2xx or 4xx, never a 5xx for a caller's mistake; a 4xx that says
 * what is wrong (the field, the JSON error, the content type, the size) and leaves every store exactly as it
 * was; a 2xx whose planned steps are what reached the queue. Some bodies must be accepted, and afterwards the
 * sample day's bodies still dispatch and a brand-new incident plans the same steps as on fresh stores.
 * Every violation is collected and reported together, each with its seed, index and label.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { dispatchHandler } from '../../functions/app/dispatch.js';
import { setAppRuntimeForTests, type AppRuntime } from '../../functions/app/runtime.js';
import { KitError } from '../../functions/core/errors.js';
import { parseEvent } from '../../functions/core/parse-event.js';
import { createMemoryStores, type MemoryStateStores } from '../../functions/state/memory.js';
import { harness } from '../pipeline/harness.js';
import { FUZZ_KINDS, fuzzedBodies, kindOf, sampleBodies, type FuzzedBody, type FuzzKind } from './fuzz-bodies.js';

const N = Number(process.env.SPK_SOAK_N ?? 400);
const SEED = Number(process.env.SPK_SOAK_SEED ?? 20261126);

/** memory stores whose every successful write (any port) is journaled, and the incident keys snapshots were written for */
function journaled(inner: MemoryStateStores) {
  const writes: string[] = [];
  const snapshotKeys = new Set<string>();
  const last = { snapshotKey: null as string | null };
  const note = <A extends unknown[], R>(what: string, f: (...a: A) => Promise<R>, after?: (a: A) => void) =>
    async (...a: A): Promise<R> => {
      const r = await f(...a);
      writes.push(what);
      after?.(a);
      return r;
    };
  const { snapshots, ledger, leases, tickets, watermarks, acknowledgements, queue } = inner;
  const stores: MemoryStateStores = {
    snapshots: { ...snapshots, put: note('snapshots.put', snapshots.put, ([key]) => { snapshotKeys.add(key); last.snapshotKey = key; }) },
    ledger: { ...ledger, record: note('ledger.record', ledger.record) },
    leases: { ...leases, claim: note('leases.claim', leases.claim), renew: note('leases.renew', leases.renew), release: note('leases.release', leases.release) },
    tickets: { ...tickets, put: note('tickets.put', tickets.put) },
    watermarks: { ...watermarks, set: note('watermarks.set', watermarks.set) },
    acknowledgements: { ...acknowledgements, add: note('acknowledgements.add', acknowledgements.add) },
    queue: {
      ...queue,
      enqueue: note('queue.enqueue', queue.enqueue),
      sendRaw: note('queue.sendRaw', queue.sendRaw),
      receive: note('queue.receive', queue.receive),
      delete: note('queue.delete', queue.delete),
      poison: note('queue.poison', queue.poison),
      poisonRaw: note('queue.poisonRaw', queue.poisonRaw),
    },
  };
  return { stores, writes, snapshotKeys, last };
}

/** the incident ids a body names, when they are ids the stores can be asked about */
function idsNamedBy(body: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return [];
  }
  const at = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((x, k) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>)[k] : undefined), o);
  return [at(v, 'object', 'name'), at(v, 'object', 'properties', 'providerIncidentId'), at(v, 'id')].filter((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 1024 && !/[\ud800-\udfff]/.test(x));
}

interface World {
  inner: MemoryStateStores;
  writes: string[];
  snapshotKeys: Set<string>;
  last: { snapshotKey: string | null };
  runtime: AppRuntime;
  outboxDir: string;
}

async function world(): Promise<World> {
  const inner = createMemoryStores();
  const { stores, writes, snapshotKeys, last } = journaled(inner);
  const h = await harness(stores);
  return { inner, writes, snapshotKeys, last, runtime: { ...h.runtime, stores }, outboxDir: h.outboxDir };
}

/**
 * What the stores hold, read through the unwrapped memory stores: the queue's size and poison entries, the whole
 * ledger, and the snapshot (ETag and content) of every sample incident, of every incident the body names and of
 * the last one written. With the write journal beside it, a rejected body that changed anything is caught.
 */
async function stateOf(w: World, body: string): Promise<string> {
  const keys = new Set([...SAMPLE_KEYS, ...idsNamedBy(body), ...(w.last.snapshotKey === null ? [] : [w.last.snapshotKey])]);
  const snapshots = await Promise.all([...keys].sort().map(async (k) => [k, await w.inner.snapshots.get(k)] as const));
  return JSON.stringify({
    writes: w.writes.length,
    snapshotKeys: w.snapshotKeys.size,
    queue: await w.inner.queue.approximateCount(),
    poison: await w.inner.queue.peekPoisonEntries(32),
    ledger: await w.inner.ledger.list(),
    snapshots,
  });
}

let SAMPLE_KEYS: string[] = [];
const worlds: World[] = [];
let current: World | null = null;
const logLines: string[] = [];

const context = () =>
  new InvocationContext({ functionName: 'dispatch', invocationId: `fuzz-${Math.random().toString(36).slice(2)}`, logHandler: (_level, ...args) => logLines.push(args.map(String).join(' ')) });

function request(f: FuzzedBody, index: number): HttpRequest {
  const headers: Record<string, string> = {};
  const type = f.contentType ?? 'application/json';
  if (type !== '') headers['content-type'] = type;
  // the host passes content-length; every other body comes without it, so the handler's own size check is fuzzed too
  if (index % 2 === 0) headers['content-length'] = String(Buffer.byteLength(f.body, 'utf8'));
  // bytes, as the host hands them over (a string body would make undici add content-type: text/plain)
  return new HttpRequest({ method: 'POST', url: 'http://127.0.0.1:7071/api/dispatch', body: { bytes: Buffer.from(f.body, 'utf8') }, headers });
}

async function dispatch(f: FuzzedBody, index: number): Promise<{ res: HttpResponseInit | null; threw: unknown; log: string[] }> {
  logLines.length = 0;
  try {
    const res = await dispatchHandler(request(f, index), context());
    return { res, threw: null, log: [...logLines] };
  } catch (e) {
    return { res: null, threw: e, log: [...logLines] };
  }
}

const errorOf = (res: HttpResponseInit) => res.jsonBody as { error?: unknown; field?: unknown } | undefined;

/** what the HTTP layer hands the handler as text: UTF-8 decoding drops a leading byte-order mark */
const asReceived = (body: string) => Buffer.from(body, 'utf8').toString('utf8').replace(/^\ufeff/, '');

/** what must be true of a 4xx's body, by an oracle that does not read dispatch.ts; null when it is fine */
function whyTheRejectionIsUnclear(f: FuzzedBody, status: number, res: HttpResponseInit): string | null {
  const body = errorOf(res);
  const error = body?.error;
  if (typeof error !== 'string' || error.trim().length < 10) return `the ${status} says nothing useful: ${JSON.stringify(res.jsonBody)}`;
  const kind = kindOf(f.label);
  if (kind === 'content-type') return status === 415 && error.includes(f.contentType!) ? null : `a ${f.contentType} body answered ${status} "${error}", not 415 naming the type`;
  if (status === 413) return /\d+ bytes/.test(error) ? null : `413 without the size: "${error}"`;
  const text = asReceived(f.body);
  if (text.trim() === '') return status === 400 && /empty body/i.test(error) ? null : `an empty body answered ${status} "${error}"`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return status === 400 && /not valid JSON/i.test(error) ? null : `a body that is not JSON answered ${status} "${error}"`;
  }
  if (status !== 400) return `valid JSON answered ${status} "${error}" (expected 202 or 400)`;
  const field = body?.field;
  if (typeof field !== 'string' || field === '') return `a 400 for a JSON body names no field: "${error}"`;
  if (!error.includes(field)) return `the 400's message does not name its field ${field}: "${error}"`;
  if ((parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) && field !== 'body') return `a top-level ${Array.isArray(parsed) ? 'array' : typeof parsed} was blamed on ${field}, not the body`;
  return null;
}

/** kinds built to be accepted: a 4xx for them is a violation */
const MUST_ACCEPT: ReadonlySet<FuzzKind> = new Set(['original', 'new-incident', 'over-1mb']);
/** kinds that can never be accepted */
const MUST_REJECT: ReadonlyMap<FuzzKind, number> = new Map([
  ['content-type', 415],
  ['over-limit', 413],
  ['empty', 400],
  ['truncated', 400],
  ['trailing-garbage', 400],
  ['top-level', 400],
]);

beforeAll(async () => {
  SAMPLE_KEYS = [...new Set(sampleBodies().map((t) => parseEvent(JSON.parse(t)).incident.key))];
});

afterAll(async () => {
  setAppRuntimeForTests(null);
  await Promise.all(worlds.map((w) => rm(w.outboxDir, { recursive: true, force: true })));
});

async function use(): Promise<World> {
  const w = await world();
  worlds.push(w);
  current = w;
  setAppRuntimeForTests(async () => current!.runtime);
  return w;
}

describe(`dispatch under ${N} fuzzed bodies (seed ${SEED})`, () => {
  it('the generator is deterministic for a seed and covers every kind', () => {
    const a = [...fuzzedBodies(SEED, 60)];
    const b = [...fuzzedBodies(SEED, 60)];
    expect(b).toEqual(a);
    expect([...fuzzedBodies(SEED + 1, 60)]).not.toEqual(a);
    expect(new Set(a.map((f) => kindOf(f.label)))).toEqual(new Set(FUZZ_KINDS));
  });

  it(
    'answers every body with a 2xx or a 4xx that says what is wrong and changes nothing; the runtime works afterwards',
    async () => {
      const w = await use();
      const statuses = new Map<number, number>();
      const byKind = new Map<FuzzKind, Map<number, number>>();
      const violations: string[] = [];
      let index = 0;
      for (const f of fuzzedBodies(SEED, N)) {
        const i = index++;
        const kind = kindOf(f.label);
        const where = `#${i} [${f.label.slice(0, 160)}]`;
        const before = await stateOf(w, f.body);
        const queueBefore = await w.inner.queue.approximateCount();
        const { res, threw, log } = await dispatch(f, i);
        if (!res) {
          violations.push(`${where}: threw ${threw instanceof Error ? threw.stack?.split('\n').slice(0, 2).join(' ') : String(threw)}`);
          continue;
        }
        const status = res.status ?? 200;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const perKind = byKind.get(kind) ?? new Map<number, number>();
        perKind.set(status, (perKind.get(status) ?? 0) + 1);
        byKind.set(kind, perKind);

        if (status >= 500 || status < 200 || (status >= 300 && status < 400)) {
          violations.push(`${where}: ${status} ${JSON.stringify(res.jsonBody)}; log: ${log.filter((l) => /fail|error/i.test(l)).join(' | ').slice(0, 300)}`);
          continue;
        }
        if (status < 300) {
          if (MUST_REJECT.has(kind)) violations.push(`${where}: accepted (${status}) a body that must be refused with ${MUST_REJECT.get(kind)}`);
          const planned = res.jsonBody as { incidentKey?: unknown; steps?: unknown[] };
          if (typeof planned?.incidentKey !== 'string' || !Array.isArray(planned.steps)) {
            violations.push(`${where}: ${status} without incidentKey and steps: ${JSON.stringify(res.jsonBody).slice(0, 200)}`);
            continue;
          }
          const queued = (await w.inner.queue.approximateCount()) - queueBefore;
          if (queued !== planned.steps.length) violations.push(`${where}: answered ${planned.steps.length} steps but ${queued} reached the queue`);
          continue;
        }
        // 4xx
        if (MUST_ACCEPT.has(kind)) violations.push(`${where}: refused a body that must be accepted: ${status} ${JSON.stringify(res.jsonBody).slice(0, 300)}`);
        const expected = MUST_REJECT.get(kind);
        if (expected !== undefined && expected !== status) violations.push(`${where}: ${status}, expected ${expected}: ${JSON.stringify(res.jsonBody).slice(0, 200)}`);
        const unclear = whyTheRejectionIsUnclear(f, status, res);
        if (unclear) violations.push(`${where}: ${unclear.slice(0, 400)}`);
        const after = await stateOf(w, f.body);
        if (after !== before) violations.push(`${where}: the rejected body (${status}) changed state: writes ${w.writes.slice(JSON.parse(before).writes).join(', ') || '(none journaled; contents differ)'}`);
      }

      const histogram = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
      const kinds = Object.fromEntries([...byKind].map(([k, m]) => [k, Object.fromEntries([...m].sort(([a], [b]) => a - b))]));
      console.log(`dispatch fuzz, seed ${SEED}, N ${N}: statuses ${JSON.stringify(histogram)}\nby kind ${JSON.stringify(kinds)}`);

      expect(violations.slice(0, 40), `${violations.length} violations (seed ${SEED}, N ${N}); reproduce with SPK_SOAK_SEED=${SEED} SPK_SOAK_N=${N}`).toEqual([]);
      const accepted = [...statuses].filter(([s]) => s >= 200 && s < 300).reduce((n, [, c]) => n + c, 0);
      const rejected = [...statuses].filter(([s]) => s >= 400 && s < 500).reduce((n, [, c]) => n + c, 0);
      expect(accepted + rejected).toBe(N);
      // neither side may be empty: a dispatch that refused everything (or took everything) fails here
      expect(accepted).toBeGreaterThanOrEqual(Math.ceil(N * 0.1));
      expect(rejected).toBeGreaterThanOrEqual(Math.ceil(N * 0.1));
      // every kind was sent (the generator starts with one of each)
      expect(new Set(byKind.keys())).toEqual(new Set(FUZZ_KINDS));

      // the runtime is not broken: every sample body still dispatches, as the incident it names
      for (const [i, text] of sampleBodies().entries()) {
        const { res } = await dispatch({ body: text, label: `original: sample line ${i + 1}` }, 0);
        expect(res?.status, `sample line ${i + 1} after the fuzz: ${JSON.stringify(res?.jsonBody)}`).toBe(202);
        expect((res!.jsonBody as { incidentKey: string }).incidentKey).toBe(parseEvent(JSON.parse(text)).incident.key);
      }
      // and a brand-new incident plans the very steps it plans on fresh stores
      const fresh = JSON.parse(sampleBodies()[0]!) as { object: { name: string; properties: { providerIncidentId: string } }; eventUniqueId: string };
      fresh.object.name = fresh.object.properties.providerIncidentId = `after-fuzz-${SEED}`;
      fresh.eventUniqueId = `after-fuzz-${SEED}-event`;
      const probe: FuzzedBody = { body: JSON.stringify(fresh), label: 'original: a new incident after the fuzz' };
      const queueBefore = await w.inner.queue.approximateCount();
      const afterFuzz = (await dispatch(probe, 0)).res!;
      expect(afterFuzz.status).toBe(202);
      const planned = afterFuzz.jsonBody as { steps: Array<{ receiver: string; playbook: string }> };
      expect(planned.steps.length).toBeGreaterThan(0);
      expect((await w.inner.queue.approximateCount()) - queueBefore).toBe(planned.steps.length);
      await use();
      const onFresh = (await dispatch(probe, 0)).res!;
      expect(onFresh.status).toBe(202);
      const strip = (r: HttpResponseInit) => (r.jsonBody as { steps: Array<{ receiver: string; playbook: string }> }).steps.map((s) => `${s.playbook}→${s.receiver}`).sort();
      expect(strip(afterFuzz)).toEqual(strip(onFresh));
    },
    Math.max(60_000, N * 50),
  );

  it('the state check sees a rejected body that wrote something (so "changes nothing" can fail)', async () => {
    // stores that refuse the snapshot write as invalid input, after ingest has enqueued the steps
    const w = await use();
    const put = w.runtime.stores.snapshots.put;
    w.runtime.stores.snapshots.put = async () => {
      throw new KitError('snapshot refused for this check', { kind: 'validation', statusCode: 400, where: { field: 'snapshot' } });
    };
    const trigger = JSON.parse(sampleBodies()[0]!) as { object: { name: string; properties: { providerIncidentId: string } } };
    trigger.object.name = trigger.object.properties.providerIncidentId = `state-check-${SEED}`;
    const body = JSON.stringify(trigger);
    const before = await stateOf(w, body);
    const { res } = await dispatch({ body, label: 'original: refused by its stores' }, 0);
    w.runtime.stores.snapshots.put = put;
    expect(res?.status).toBe(400);
    expect(w.writes).toContain('queue.enqueue');
    expect(await stateOf(w, body)).not.toBe(before);
  });

  it('a trigger body with a field nested 10,000 levels deep is answered 2xx or 4xx, not 500, and a 4xx changes nothing', async () => {
    // the minimal repro of the fuzz's first finding (see /work/drafts/dispatch-fuzz-findings.md)
    const w = await use();
    const trigger = JSON.parse(sampleBodies()[0]!) as { object: { properties: Record<string, unknown> } };
    const body = JSON.stringify(trigger).replace('"properties":{', `"properties":{"extra":${'['.repeat(10_000)}${']'.repeat(10_000)},`);
    const f: FuzzedBody = { body, label: 'deep-nesting: 10000 levels ([) in object.properties.extra' };
    const before = await stateOf(w, body);
    const { res, threw } = await dispatch(f, 0);
    expect(threw).toBeNull();
    const status = res?.status ?? 200;
    expect([2, 4], `${status} ${JSON.stringify(res?.jsonBody)}`).toContain(Math.floor(status / 100));
    if (status >= 400) {
      expect(whyTheRejectionIsUnclear(f, status, res!)).toBeNull();
      expect(await stateOf(w, body)).toBe(before);
    }
  });
});
