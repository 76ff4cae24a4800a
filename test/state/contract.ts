/**
 * The behaviour every StateStores adapter must show. memory.test.ts and azure.test.ts run this same
 * suite, so the in-memory stores the other tests rely on cannot drift from what Azure does.
 */
import { describe, expect, it } from 'vitest';
import { KitError } from '../../functions/core/errors.js';
import type { Snapshot } from '../../functions/core/model.js';
import type { TicketRef } from '../../functions/core/delivery.js';
import type { Acknowledgement, LedgerEntry, QueuedDelivery, StateStores } from '../../functions/state/ports.js';
import type { InspectableDeliveryQueue } from '../../functions/state/azure/queue.js';
import { fitsTableEntity, MAX_JSON_CHARS, MAX_JSON_WIRE_CHARS, wireChars } from '../../functions/state/azure/encoding.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';

export interface StateHarness {
  stores: StateStores & { queue: InspectableDeliveryQueue };
  /** let queue time pass: the memory adapter moves its clock, Azure really waits */
  passQueueTime(ms: number): Promise<void>;
  /** move the clock leases are judged by */
  passLeaseTime(ms: number): void;
  /** the lease clock's current reading */
  leaseNow(): number;
  /** the clock queue delays and visibility run on: the memory adapter's own, Azurite's wall clock */
  queueNow(): number;
  /** put text on the deliveries queue as-is (another producer, an operator, a corrupted message) */
  sendRaw(text: string): Promise<void>;
}

export function makeSnapshot(overrides: Partial<Snapshot['incident']> = {}, occurrences: Record<string, number> = {}): Snapshot {
  const incident = makeIncident(overrides);
  return {
    incident,
    tagsBySource: { sentinel: [...incident.tags] },
    seenAt: { sentinel: incident.updatedAt ?? '2026-11-26T09:35:45.113Z' },
    occurrences: { 'owner:defender experts': 1, ...occurrences },
    version: 1,
  };
}

export function makeEntry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    idempotencyKey: 'b'.repeat(64),
    status: 'done',
    incidentKey: '12345',
    receiver: 'soc-jira',
    playbook: 'owner-defender-experts',
    action: 'created',
    ticketId: '10042',
    outbox: null,
    attempts: 1,
    error: null,
    updatedAt: '2026-11-26T09:36:01.000Z',
    ...overrides,
  };
}

function makeTicket(overrides: Partial<TicketRef> = {}): TicketRef {
  return {
    receiver: 'soc-jira',
    incidentKey: '12345',
    id: '10042',
    key: 'SOC-42',
    url: 'https://contoso.atlassian.net/browse/SOC-42',
    state: 'open',
    ...overrides,
  };
}

function delivery(idempotencyKey: string, attempt = 1): QueuedDelivery {
  return { step: makeStep({ idempotencyKey }), attempt };
}

async function rejection(promise: Promise<unknown>): Promise<KitError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(KitError);
  return outcome as KitError;
}

/** Receive until something arrives, letting queue time pass in between; [] if nothing does within `withinMs`. */
async function receiveWithin(harness: StateHarness, withinMs: number, visibilityTimeoutMs = 30_000) {
  const step = 250;
  for (let waited = 0; ; waited += step) {
    const got = await harness.stores.queue.receive(1, visibilityTimeoutMs);
    if (got.length > 0 || waited >= withinMs) return got;
    await harness.passQueueTime(step);
  }
}

/** Ids with every character PartitionKey/RowKey forbid, plus unicode and length. */
export const AWKWARD_IDS = [
  'a/b',
  'a#b',
  'a?b',
  'a\\b',
  'tab\there\nnewline',
  'ctl\u0001\u001f\u007f\u009f',
  'Ünïcødé 🛡️ 事件',
  "quote'and\"double",
  'x'.repeat(1024),
  `${'y'.repeat(1000)}/#?`,
];

export function stateContract(adapter: string, create: () => Promise<StateHarness>): void {
  describe(`${adapter} state stores: snapshots`, () => {
    it('creates with a null etag, reads back the same snapshot and etag, and replaces with the current etag', async () => {
      const { stores } = await create();
      expect(await stores.snapshots.get('12345')).toBeNull();

      const first = makeSnapshot();
      const etag1 = await stores.snapshots.put('12345', first, null);
      expect(await stores.snapshots.get('12345')).toEqual({ snapshot: first, etag: etag1 });

      const second = makeSnapshot({ status: 'Closed', rawStatus: 'Closed' }, { 'status:closed': 1 });
      const etag2 = await stores.snapshots.put('12345', second, etag1);
      expect(etag2).not.toBe(etag1);
      expect(await stores.snapshots.get('12345')).toEqual({ snapshot: second, etag: etag2 });
    });

    it('refuses a second create and a stale etag with a conflict, leaving the stored snapshot alone', async () => {
      const { stores } = await create();
      const original = makeSnapshot();
      const etag1 = await stores.snapshots.put('12345', original, null);

      const doubleCreate = await rejection(stores.snapshots.put('12345', makeSnapshot({ title: 'other' }), null));
      expect(doubleCreate.kind).toBe('conflict');
      expect(doubleCreate.statusCode).toBe(409);

      const etag2 = await stores.snapshots.put('12345', makeSnapshot({ severity: 'Low' }), etag1);
      const stale = await rejection(stores.snapshots.put('12345', makeSnapshot({ title: 'late writer' }), etag1));
      expect(stale.kind).toBe('conflict');
      expect(stale.statusCode).toBe(412);
      expect(stale.retryable).toBe(true);

      const stored = await stores.snapshots.get('12345');
      expect(stored?.etag).toBe(etag2);
      expect(stored?.snapshot.incident.severity).toBe('Low');
    });

    it('refuses a replace of a snapshot that does not exist', async () => {
      const { stores } = await create();
      const other = await stores.snapshots.put('other', makeSnapshot(), null);
      const error = await rejection(stores.snapshots.put('missing', makeSnapshot(), other));
      expect(error.kind).toBe('conflict');
      expect(await stores.snapshots.get('missing')).toBeNull();
    });

    it('lets exactly one of many concurrent writers with the same etag win', async () => {
      const { stores } = await create();
      const etag = await stores.snapshots.put('12345', makeSnapshot(), null);
      const writers = Array.from({ length: 8 }, (_, i) => makeSnapshot({ title: `writer ${i}` }));
      const results = await Promise.allSettled(writers.map((snapshot) => stores.snapshots.put('12345', snapshot, etag)));

      const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [{ i, etag: result.value }] : []));
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect((result.reason as KitError).kind).toBe('conflict');
      }
      const stored = await stores.snapshots.get('12345');
      expect(stored?.etag).toBe(winners[0]?.etag);
      expect(stored?.snapshot.incident.title).toBe(`writer ${winners[0]?.i}`);
    });

    it('lets exactly one of many concurrent creators win', async () => {
      const { stores } = await create();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => stores.snapshots.put('new-incident', makeSnapshot({ title: `creator ${i}` }), null)),
      );
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(
        results.every((result) => result.status === 'fulfilled' || (result.reason as KitError).kind === 'conflict'),
      ).toBe(true);
    });

    it('keeps a snapshot with a very long description intact', async () => {
      const { stores } = await create();
      // several table properties' worth, with astral characters and markup to survive the split
      const description = '🛡️ Raspberry Robin <b>&amp;</b> "USB" '.repeat(6_000);
      const snapshot = makeSnapshot({ description });
      const etag = await stores.snapshots.put('12345', snapshot, null);
      const stored = await stores.snapshots.get('12345');
      expect(stored?.snapshot.incident.description).toBe(description);
      expect(stored).toEqual({ snapshot, etag });

      // and shrinking it again leaves no tail of the longer version behind
      const short = makeSnapshot({ description: 'short now' });
      await stores.snapshots.put('12345', short, etag);
      expect((await stores.snapshots.get('12345'))?.snapshot).toEqual(short);
    });

    it('rejects a snapshot too large for one entity with a validation error that says so', async () => {
      const { stores } = await create();
      const error = await rejection(stores.snapshots.put('12345', makeSnapshot({ description: 'x'.repeat(600_000) }), null));
      expect(error.kind).toBe('validation');
      expect(error.message).toMatch(/snapshot 12345 is \d+ characters .* at most 480000/);
      // fewer characters than that, but each one a 6-character escape in the request body
      const wide = await rejection(stores.snapshots.put('12345', makeSnapshot({ description: '東'.repeat(200_000) }), null));
      expect(wide.kind).toBe('validation');
      expect(wide.message).toMatch(/snapshot 12345 is \d+ characters of JSON once escaped for the request body/);
      expect(await stores.snapshots.get('12345')).toBeNull();
    });

    it('stores the largest snapshot the budget allows, ASCII or not, on create and on replace', async () => {
      const { stores } = await create();
      const base = JSON.stringify(makeSnapshot({ description: '' }));
      const largest = [
        // the stored limit binds ASCII text
        makeSnapshot({ description: 'x'.repeat(MAX_JSON_CHARS - base.length) }),
        // the request body binds text that is all escapes: Azurite refuses a Replace body over 1 MiB
        makeSnapshot({ description: '東'.repeat(Math.floor((MAX_JSON_WIRE_CHARS - wireChars(base)) / 6)) }),
      ];
      for (const [i, snapshot] of largest.entries()) {
        expect(fitsTableEntity(JSON.stringify(snapshot))).toBe(true);
        // the longest id there is, all escapes, beside the value: the budget's reserve has to hold it
        const key = `${i}${'東'.repeat(1_023)}`;
        const etag = await stores.snapshots.put(key, snapshot, null);
        await stores.snapshots.put(key, snapshot, etag);
        expect((await stores.snapshots.get(key))?.snapshot).toEqual(snapshot);
      }
    });
  });

  describe(`${adapter} state stores: ledger`, () => {
    it('records, reads back and lists entries', async () => {
      const { stores } = await create();
      expect(await stores.ledger.get('b'.repeat(64))).toBeNull();
      const entries = ['1', '2', '3'].map((n) => makeEntry({ idempotencyKey: n.repeat(64), ticketId: `1004${n}` }));
      for (const entry of entries) await stores.ledger.record(entry);

      expect(await stores.ledger.get('2'.repeat(64))).toEqual(entries[1]);
      const listed = await stores.ledger.list();
      expect(listed.sort((a, b) => a.idempotencyKey.localeCompare(b.idempotencyKey))).toEqual(entries);
    });

    it('never downgrades done, in any order, also when writes race', async () => {
      const { stores } = await create();
      const done = makeEntry({ status: 'done', attempts: 2 });
      const failed = makeEntry({ status: 'failed', action: null, ticketId: null, attempts: 3, error: 'terminal 400' });
      const released = makeEntry({ status: 'pending', action: null, ticketId: null });

      await stores.ledger.record(done);
      await stores.ledger.record(failed);
      await stores.ledger.record(released);
      expect(await stores.ledger.get(done.idempotencyKey)).toEqual(done);

      const key = 'c'.repeat(64);
      await stores.ledger.record({ ...failed, idempotencyKey: key });
      await stores.ledger.record({ ...done, idempotencyKey: key });
      expect((await stores.ledger.get(key))?.status).toBe('done');

      const raced = 'd'.repeat(64);
      await Promise.all([
        stores.ledger.record({ ...failed, idempotencyKey: raced }),
        stores.ledger.record({ ...done, idempotencyKey: raced }),
        stores.ledger.record({ ...failed, idempotencyKey: raced, attempts: 4 }),
        stores.ledger.record({ ...released, idempotencyKey: raced }),
      ]);
      expect(await stores.ledger.get(raced)).toEqual({ ...done, idempotencyKey: raced });
    });

    it('lets the last writer win among entries that are not done', async () => {
      const { stores } = await create();
      await stores.ledger.record(makeEntry({ status: 'failed', attempts: 1, error: 'first' }));
      await stores.ledger.record(makeEntry({ status: 'failed', attempts: 2, error: 'second' }));
      expect(await stores.ledger.get('b'.repeat(64))).toMatchObject({ attempts: 2, error: 'second' });
    });

    it('rejects an entry with an unknown status', async () => {
      const { stores } = await create();
      const error = await rejection(stores.ledger.record(makeEntry({ status: 'sent' as LedgerEntry['status'] })));
      expect(error.kind).toBe('validation');
      expect(error.where?.field).toBe('ledger.status');
    });
  });

  describe(`${adapter} state stores: leases`, () => {
    it('claims once: busy while the lease lives, claimable when it lapses on the store\'s clock', async () => {
      const harness = await create();
      const { leases } = harness.stores;
      expect(await leases.get('lane-1')).toBeNull();
      expect(await leases.claim('lane-1', 'worker-a', 60_000)).toBe('claimed');
      expect(await leases.get('lane-1')).toEqual({ key: 'lane-1', holder: 'worker-a', until: harness.leaseNow() + 60_000 });
      expect(await leases.claim('lane-1', 'worker-b', 60_000)).toBe('busy');

      harness.passLeaseTime(59_999);
      expect(await leases.claim('lane-1', 'worker-b', 60_000)).toBe('busy');
      harness.passLeaseTime(1);
      // a crashed worker's lease: taken over at the moment it ends
      expect(await leases.claim('lane-1', 'worker-b', 60_000)).toBe('claimed');
      expect(await leases.get('lane-1')).toMatchObject({ holder: 'worker-b', until: harness.leaseNow() + 60_000 });
      // the holder claiming again renews its own lease
      harness.passLeaseTime(30_000);
      expect(await leases.claim('lane-1', 'worker-b', 60_000)).toBe('claimed');
      expect((await leases.get('lane-1'))?.until).toBe(harness.leaseNow() + 60_000);
    });

    it('releases a lease only for the worker that holds it', async () => {
      const harness = await create();
      const { leases } = harness.stores;
      expect(await leases.claim('lane-1', 'worker-a', 60_000)).toBe('claimed');
      expect(await leases.release('lane-1', 'worker-b')).toBe(false);
      expect(await leases.claim('lane-1', 'worker-b', 60_000)).toBe('busy');
      expect(await leases.release('lane-1', 'worker-a')).toBe(true);
      expect(await leases.get('lane-1')).toBeNull();
      expect(await leases.claim('lane-1', 'worker-b', 60_000)).toBe('claimed');
      // a slow worker-a whose lease was taken over cannot free worker-b's
      expect(await leases.release('lane-1', 'worker-a')).toBe(false);
      expect(await leases.get('lane-1')).toMatchObject({ holder: 'worker-b' });
      expect(await leases.release('never-claimed', 'worker-a')).toBe(false);
    });

    it('renews only the holder\'s own lease, longer or shorter', async () => {
      const harness = await create();
      const { leases } = harness.stores;
      expect(await leases.claim('lane-1', 'worker-a', 60_000)).toBe('claimed');
      // kept until a retry 5 s away, then free for the next worker
      expect(await leases.renew('lane-1', 'worker-a', 5_000)).toBe(true);
      harness.passLeaseTime(5_000);
      expect(await leases.claim('lane-1', 'worker-b', 60_000)).toBe('claimed');
      expect(await leases.renew('lane-1', 'worker-a', 600_000)).toBe(false);
      expect(await leases.get('lane-1')).toMatchObject({ holder: 'worker-b', until: harness.leaseNow() + 60_000 });
      expect(await leases.renew('lane-1', 'worker-b', 600_000)).toBe(true);
      expect((await leases.get('lane-1'))?.until).toBe(harness.leaseNow() + 600_000);
      expect(await leases.renew('never-claimed', 'worker-a', 1_000)).toBe(false);
      expect(await leases.get('never-claimed')).toBeNull();
    });

    it('gives a fresh key, and a lapsed lease, to exactly one of many concurrent claimers', async () => {
      const harness = await create();
      const { leases } = harness.stores;
      const fresh = await Promise.all(Array.from({ length: 6 }, (_, i) => leases.claim('lane-1', `worker-${i}`, 60_000)));
      expect(fresh.filter((result) => result === 'claimed')).toHaveLength(1);
      expect(fresh.filter((result) => result === 'busy')).toHaveLength(5);

      harness.passLeaseTime(60_000);
      const lapsed = await Promise.all(Array.from({ length: 6 }, (_, i) => leases.claim('lane-1', `late-${i}`, 60_000)));
      expect(lapsed.filter((result) => result === 'claimed')).toHaveLength(1);
      const winner = `late-${lapsed.indexOf('claimed')}`;
      expect((await leases.get('lane-1'))?.holder).toBe(winner);
    });

    it('keeps every lease apart whatever characters its key has', async () => {
      const harness = await create();
      const { leases } = harness.stores;
      for (const [i, id] of AWKWARD_IDS.entries()) expect(await leases.claim(id, `worker-${i}`, 60_000)).toBe('claimed');
      for (const [i, id] of AWKWARD_IDS.entries()) expect(await leases.get(id)).toMatchObject({ key: id, holder: `worker-${i}` });
      expect(await leases.release(AWKWARD_IDS[0] as string, 'worker-1')).toBe(false);
    });

    it('refuses bad keys, holders and lease times with validation errors, naming the field', async () => {
      const { leases } = (await create()).stores;
      expect((await rejection(leases.claim('', 'worker-a', 1_000))).where?.field).toBe('lease.key');
      expect((await rejection(leases.claim('lane-1', '', 1_000))).where?.field).toBe('lease.holder');
      expect((await rejection(leases.claim('lane-1', 'w'.repeat(201), 1_000))).where?.field).toBe('lease.holder');
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 8 * 24 * 3600 * 1000]) {
        const error = await rejection(leases.claim('lane-1', 'worker-a', bad));
        expect(error.kind).toBe('validation');
        expect(error.where?.field).toBe('lease.leaseMs');
      }
      expect((await rejection(leases.renew('lane-1', 'worker-a', -5))).where?.field).toBe('lease.leaseMs');
      expect(await leases.get('lane-1')).toBeNull();
    });
  });

  describe(`${adapter} state stores: tickets and watermarks`, () => {
    it('stores one ticket per receiver and incident, and updates it in place', async () => {
      const { stores } = await create();
      expect(await stores.tickets.get('soc-jira', '12345')).toBeNull();
      const jira = makeTicket();
      const servicenow = makeTicket({ receiver: 'soc-snow', id: 'a1b2c3', key: null, url: null });
      await stores.tickets.put(jira);
      await stores.tickets.put(servicenow);
      expect(await stores.tickets.get('soc-jira', '12345')).toEqual(jira);
      expect(await stores.tickets.get('soc-snow', '12345')).toEqual(servicenow);
      expect(await stores.tickets.get('soc-jira', '99999')).toBeNull();

      await stores.tickets.put({ ...jira, state: 'resolved' });
      expect(await stores.tickets.get('soc-jira', '12345')).toEqual({ ...jira, state: 'resolved' });
    });

    it('sets, reads and overwrites watermarks, and refuses a value that does not fit', async () => {
      const { stores } = await create();
      expect(await stores.watermarks.get('graph-poll')).toBeNull();
      await stores.watermarks.set('graph-poll', '2026-11-26T09:00:00.000Z');
      await stores.watermarks.set('graph-poll', '2026-11-26T09:01:00.000Z');
      await stores.watermarks.set('other', 'x');
      expect(await stores.watermarks.get('graph-poll')).toBe('2026-11-26T09:01:00.000Z');
      expect(await stores.watermarks.get('other')).toBe('x');

      const error = await rejection(stores.watermarks.set('graph-poll', 'z'.repeat(40_000)));
      expect(error.kind).toBe('validation');
      expect(await stores.watermarks.get('graph-poll')).toBe('2026-11-26T09:01:00.000Z');
    });
  });

  describe(`${adapter} state stores: acknowledgements`, () => {
    const ack = (overrides: Partial<Acknowledgement> = {}): Acknowledgement => ({
      incidentKey: '12345',
      via: 'voice',
      receiver: 'soc-lead-call',
      stepKey: 'a'.repeat(64),
      by: '+14255550123',
      ref: 'CA0123456789abcdef0123456789abcdef',
      at: '2026-11-26T09:30:00.000Z',
      ...overrides,
    });

    it('records each acknowledgement once, however often it is replayed, and lists an incident\'s oldest first', async () => {
      const { stores } = await create();
      expect(await stores.acknowledgements.list('12345')).toEqual([]);
      const later = ack({ ref: 'CAffffffffffffffffffffffffffffffff', at: '2026-11-26T09:45:00.000Z', by: '+14255550199' });
      expect(await stores.acknowledgements.add(later)).toBe('added');
      expect(await stores.acknowledgements.add(ack())).toBe('added');
      // a replay with other details is still the same call: the first record stands
      expect(await stores.acknowledgements.add(ack({ by: '+19995550000', at: '2026-11-26T10:00:00.000Z' }))).toBe('exists');
      await stores.acknowledgements.add(ack({ incidentKey: '99999' }));
      expect(await stores.acknowledgements.list('12345')).toEqual([ack(), later]);
      expect(await stores.acknowledgements.list('99999')).toEqual([ack({ incidentKey: '99999' })]);
      for (const id of AWKWARD_IDS) {
        expect(await stores.acknowledgements.add(ack({ incidentKey: id, ref: id }))).toBe('added');
        expect(await stores.acknowledgements.list(id)).toEqual([ack({ incidentKey: id, ref: id })]);
      }
    });

    it('refuses an acknowledgement it could not hold faithfully, naming the field', async () => {
      const { stores } = await create();
      const error = await rejection(stores.acknowledgements.add(ack({ at: 'yesterday' })));
      expect(error.kind).toBe('validation');
      expect(error.where?.field).toBe('acknowledgement.at');
      expect((await rejection(stores.acknowledgements.add(ack({ ref: '' })))).where?.field).toBe('acknowledgement.ref');
      expect(await stores.acknowledgements.list('12345')).toEqual([]);
    });
  });

  describe(`${adapter} state stores: awkward ids`, () => {
    it('keeps every id apart and intact in every store, whatever characters it has', async () => {
      const { stores } = await create();
      const etags = new Map<string, string>();
      for (const [i, id] of AWKWARD_IDS.entries()) {
        etags.set(id, await stores.snapshots.put(id, makeSnapshot({ key: id, number: i }), null));
        await stores.ledger.record(makeEntry({ idempotencyKey: id, incidentKey: id, attempts: i }));
        await stores.tickets.put(makeTicket({ receiver: id, incidentKey: id, id: `T-${i}` }));
        await stores.watermarks.set(id, `value ${i}`);
      }
      for (const [i, id] of AWKWARD_IDS.entries()) {
        const snapshot = await stores.snapshots.get(id);
        expect(snapshot?.snapshot.incident).toMatchObject({ key: id, number: i });
        expect(snapshot?.etag).toBe(etags.get(id));
        expect(await stores.ledger.get(id)).toMatchObject({ idempotencyKey: id, attempts: i });
        expect(await stores.tickets.get(id, id)).toMatchObject({ id: `T-${i}` });
        expect(await stores.watermarks.get(id)).toBe(`value ${i}`);
      }
      // a receiver/incident pair is not confused with its mirror image
      expect(await stores.tickets.get(AWKWARD_IDS[0] as string, AWKWARD_IDS[1] as string)).toBeNull();
      expect((await stores.ledger.list()).map((entry) => entry.idempotencyKey).sort()).toEqual([...AWKWARD_IDS].sort());
    });

    it('refuses ids that storage cannot hold faithfully, naming the field', async () => {
      const { stores } = await create();
      for (const bad of ['', 'x'.repeat(1025), 'lone \ud83d surrogate']) {
        const error = await rejection(stores.snapshots.get(bad));
        expect(error.kind).toBe('validation');
        expect(error.message).toMatch(/^incidentKey: /);
      }
      const error = await rejection(stores.tickets.put(makeTicket({ receiver: '' })));
      expect(error.where?.field).toBe('ticket.receiver');
    });
  });

  describe(`${adapter} state stores: deliveries queue`, () => {
    it('hands out what was enqueued, hides received messages, and forgets deleted ones', async () => {
      const { stores } = await create();
      const keys = ['1', '2', '3'].map((n) => n.repeat(64));
      for (const key of keys) await stores.queue.enqueue(delivery(key));
      expect(await stores.queue.approximateCount()).toBe(3);

      const firstTwo = await stores.queue.receive(2, 30_000);
      expect(firstTwo).toHaveLength(2);
      const rest = await stores.queue.receive(10, 30_000);
      expect(rest).toHaveLength(1);
      const all = [...firstTwo, ...rest];
      expect(all.map((message) => message.delivery.step.idempotencyKey).sort()).toEqual(keys);
      expect(all.every((message) => message.dequeueCount === 1)).toBe(true);
      expect(all[0]?.delivery).toEqual(delivery(all[0]?.delivery.step.idempotencyKey as string));

      expect(await stores.queue.receive(10, 30_000)).toEqual([]);
      expect(await stores.queue.approximateCount()).toBe(3);
      for (const message of all) await stores.queue.delete(message);
      expect(await stores.queue.approximateCount()).toBe(0);
    });

    it('keeps a delayed message hidden until its delay has passed', async () => {
      const harness = await create();
      await harness.stores.queue.enqueue(delivery('later'.padEnd(64, '0')), { delayMs: 3_600_000 });
      const soonEnqueuedAt = harness.queueNow();
      await harness.stores.queue.enqueue(delivery('soon'.padEnd(64, '0')), { delayMs: 1_000 });
      const early = (await harness.stores.queue.receive(10, 30_000)).map((message) => message.delivery.step.idempotencyKey);
      // Azurite's delay runs on the wall clock: a machine busy enough to take a second to get here may
      // rightly see 'soon' already, but nothing may show before its delay has passed
      const waited = harness.queueNow() - soonEnqueuedAt;
      expect(early).toEqual(waited < 1_000 ? [] : early.filter((key) => key === 'soon'.padEnd(64, '0')));
      expect(await harness.stores.queue.approximateCount()).toBe(2);
      if (early.length > 0) return;

      const got = await receiveWithin(harness, 15_000);
      expect(got.map((message) => message.delivery.step.idempotencyKey)).toEqual(['soon'.padEnd(64, '0')]);
      expect(await harness.stores.queue.receive(10, 30_000)).toEqual([]);
    });

    it('brings back an undeleted message after its visibility timeout with a higher dequeueCount', async () => {
      const harness = await create();
      const queued = delivery('f'.repeat(64), 2);
      await harness.stores.queue.enqueue(queued);
      const [first] = await harness.stores.queue.receive(1, 1_000);
      expect(first?.dequeueCount).toBe(1);
      expect(first?.delivery).toEqual(queued);

      const [again] = await receiveWithin(harness, 15_000, 30_000);
      expect(again?.messageId).toBe(first?.messageId);
      expect(again?.dequeueCount).toBe(2);

      // the first receiver's pop receipt died with its visibility timeout
      const stale = await rejection(harness.stores.queue.delete(first as NonNullable<typeof first>));
      expect(stale.kind).toBe('conflict');
      await harness.stores.queue.delete(again as NonNullable<typeof again>);
      expect(await harness.stores.queue.approximateCount()).toBe(0);
    });

    it('parks poisoned deliveries with their reason', async () => {
      const { stores } = await create();
      const queued = delivery('a'.repeat(64), 5);
      await stores.queue.poison(queued, 'terminal 400: project key SOC does not exist');
      expect(await stores.queue.peekPoison(10)).toEqual([
        { delivery: queued, reason: 'terminal 400: project key SOC does not exist' },
      ]);
      expect(await stores.queue.approximateCount()).toBe(0);
    });

    it('moves a message that is not a delivery to the poison queue instead of failing the receive', async () => {
      const harness = await create();
      const { queue } = harness.stores;
      await harness.sendRaw('this is not base64!');
      await harness.sendRaw(Buffer.from('{"hello":"world"}').toString('base64'));
      await harness.sendRaw(Buffer.from('{not json').toString('base64'));
      await queue.enqueue(delivery('9'.repeat(64)));

      const received = await queue.receive(10, 30_000);
      expect(received.map((message) => message.delivery.step.idempotencyKey)).toEqual(['9'.repeat(64)]);
      expect(await queue.approximateCount()).toBe(1);

      const entries = await queue.peekPoisonEntries(10);
      expect(entries.map((entry) => entry.raw).sort()).toEqual(
        ['this is not base64!', Buffer.from('{"hello":"world"}').toString('base64'), Buffer.from('{not json').toString('base64')].sort(),
      );
      expect(entries.every((entry) => entry.delivery === null)).toBe(true);
      const reasons = entries.map((entry) => entry.reason).join('\n');
      expect(reasons).toMatch(/not base64/);
      expect(reasons).toMatch(/not JSON/);
      expect(reasons).toMatch(/not a delivery: delivery.attempt/);
      // the port's view only lists what can be retried as a delivery
      expect(await queue.peekPoison(10)).toEqual([]);
    });

    it('parks raw text that was never a delivery, keeping it for the operator', async () => {
      const harness = await create();
      await harness.stores.queue.poisonRaw('{"unexpected":true}', 'malformed message: not a delivery step');
      const entries = await harness.stores.queue.peekPoisonEntries(10);
      expect(entries).toEqual([{ delivery: null, reason: 'malformed message: not a delivery step', raw: '{"unexpected":true}' }]);
      expect(await harness.stores.queue.peekPoison(10)).toEqual([]);
    });

    it('rejects a delivery too large for a queue message, saying so', async () => {
      const { stores } = await create();
      const step = makeStep({ incident: makeIncident({ description: 'x'.repeat(60_000) }) });
      const error = await rejection(stores.queue.enqueue({ step, attempt: 1 }));
      expect(error.kind).toBe('validation');
      expect(error.message).toMatch(/at most 65536 \(64 KiB\)/);
      expect(error.where?.field).toBe('delivery.step.incident.description');
      expect(await stores.queue.approximateCount()).toBe(0);
    });

    it('rejects malformed deliveries and arguments with validation errors', async () => {
      const { stores } = await create();
      expect((await rejection(stores.queue.enqueue({ step: makeStep(), attempt: 0 }))).where?.field).toBe('delivery.attempt');
      expect((await rejection(stores.queue.enqueue(delivery('a'.repeat(64)), { delayMs: -5 }))).kind).toBe('validation');
      expect((await rejection(stores.queue.receive(0, 1_000))).kind).toBe('validation');
      expect((await rejection(stores.queue.receive(1, 0))).kind).toBe('validation');
      expect(await stores.queue.approximateCount()).toBe(0);
    });
  });
}
