/**
 * SnapshotStore, Ledger, LeaseStore, TicketStore, WatermarkStore and AcknowledgementStore on Azure Tables
 * (Azurite locally).
 * Every entity keeps its original id in `id` beside the encoded key, and its value as JSON chunks.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { KitError } from '../../core/errors.js';
import type { Snapshot } from '../../core/model.js';
import type { TicketRef } from '../../core/delivery.js';
import type {
  Acknowledgement,
  AcknowledgementStore,
  Lease,
  LeaseStore,
  Ledger,
  LedgerEntry,
  SnapshotStore,
  StoredSnapshot,
  TicketStore,
  WatermarkStore,
} from '../ports.js';
import { checkId, checkJsonSize, encodeKey, fromChunks, toChunks } from './encoding.js';
import { statusOf, toKitError } from './errors.js';
import {
  acknowledgementId,
  byTime,
  checkAcknowledgement,
  checkLeaseRequest,
  checkLedgerEntry,
  checkTicketRef,
  checkWatermarkValue,
  mayClaim,
  mayReplace,
} from './values.js';

type Entity = TableEntityResult<Record<string, unknown>>;

const SNAPSHOT_ROW = 'snapshot';
const LEDGER_ROW = 'ledger';
const LEASE_ROW = 'lease';
const WATERMARK_PARTITION = 'watermark';
// A ledger or lease write that keeps losing races is contended far beyond what one delivery produces.
const LEDGER_WRITE_ATTEMPTS = 8;
const LEASE_WRITE_ATTEMPTS = 8;

async function readEntity(table: TableClient, partitionKey: string, rowKey: string, what: string): Promise<Entity | null> {
  try {
    return await table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw toKitError(`read ${what} from table ${table.tableName}`, error);
  }
}

function parseJson<T>(entity: Entity, what: string): T {
  const json = fromChunks(entity, what);
  try {
    return JSON.parse(json) as T;
  } catch (error) {
    throw new KitError(`${what}: stored JSON does not parse`, { kind: 'terminal', cause: error });
  }
}

/** The encoded key may be a hash; the stored id tells a (practically impossible) collision apart. */
function isFor(entity: Entity, id: string): boolean {
  return entity['id'] === id;
}

function etagOf(result: { etag?: string | undefined }, what: string): string {
  if (!result.etag) throw new KitError(`${what}: the service returned no ETag`, { kind: 'retryable' });
  return result.etag;
}

export function tableSnapshotStore(table: TableClient): SnapshotStore {
  return {
    async get(incidentKey) {
      checkId('incidentKey', incidentKey);
      const what = `snapshot ${incidentKey}`;
      const entity = await readEntity(table, encodeKey(incidentKey), SNAPSHOT_ROW, what);
      if (!entity || !isFor(entity, incidentKey)) return null;
      const stored: StoredSnapshot = { snapshot: parseJson<Snapshot>(entity, what), etag: etagOf(entity, what) };
      return stored;
    },

    async put(incidentKey, snapshot, etag) {
      checkId('incidentKey', incidentKey);
      const what = `snapshot ${incidentKey}`;
      const json = JSON.stringify(snapshot);
      checkJsonSize(what, json);
      const entity = { partitionKey: encodeKey(incidentKey), rowKey: SNAPSHOT_ROW, id: incidentKey, ...toChunks(json) };
      if (etag === null) {
        try {
          return etagOf(await table.createEntity(entity), what);
        } catch (error) {
          if (statusOf(error) === 409) {
            throw new KitError(`${what} already exists: another writer created it first; re-read and re-diff`, {
              kind: 'conflict',
              statusCode: 409,
              cause: error,
            });
          }
          throw toKitError(`create ${what} in table ${table.tableName}`, error);
        }
      }
      try {
        return etagOf(await table.updateEntity(entity, 'Replace', { etag }), what);
      } catch (error) {
        const status = statusOf(error);
        // 404: the row this etag belonged to is gone, which is as stale as an etag can get
        if (status === 412 || status === 404) {
          throw new KitError(`${what} changed since it was read (stale ETag); re-read and re-diff`, {
            kind: 'conflict',
            statusCode: 412,
            cause: error,
          });
        }
        throw toKitError(`replace ${what} in table ${table.tableName}`, error);
      }
    },
  };
}

export function tableLedger(table: TableClient): Ledger {
  const what = (idempotencyKey: string): string => `ledger entry ${idempotencyKey}`;
  const read = async (idempotencyKey: string): Promise<{ entity: Entity; entry: LedgerEntry } | null> => {
    const entity = await readEntity(table, encodeKey(idempotencyKey), LEDGER_ROW, what(idempotencyKey));
    if (!entity || !isFor(entity, idempotencyKey)) return null;
    return { entity, entry: parseJson<LedgerEntry>(entity, what(idempotencyKey)) };
  };
  const entityFor = (entry: LedgerEntry): Record<string, unknown> & { partitionKey: string; rowKey: string } => {
    const json = JSON.stringify(entry);
    checkJsonSize(what(entry.idempotencyKey), json);
    return {
      partitionKey: encodeKey(entry.idempotencyKey),
      rowKey: LEDGER_ROW,
      id: entry.idempotencyKey,
      status: entry.status,
      ...toChunks(json),
    };
  };
  /**
   * Read, decide, write under the row's ETag (or create-if-absent), and start over when another
   * writer got in between; `decide` returns what to write, or a result to stop with.
   */
  const conditionalWrite = async <T>(
    idempotencyKey: string,
    decide: (existing: LedgerEntry | null) => { write: LedgerEntry; result: T } | { result: T },
  ): Promise<T> => {
    for (let attempt = 0; attempt < LEDGER_WRITE_ATTEMPTS; attempt++) {
      const existing = await read(idempotencyKey);
      const decision = decide(existing?.entry ?? null);
      if (!('write' in decision)) return decision.result;
      const entity = entityFor(decision.write);
      try {
        if (existing) await table.updateEntity(entity, 'Replace', { etag: etagOf(existing.entity, what(idempotencyKey)) });
        else await table.createEntity(entity);
        return decision.result;
      } catch (error) {
        const status = statusOf(error);
        if (status === 409 || status === 412 || status === 404) continue;
        throw toKitError(`write ${what(idempotencyKey)} to table ${table.tableName}`, error);
      }
    }
    throw new KitError(`${what(idempotencyKey)}: lost ${LEDGER_WRITE_ATTEMPTS} write races in a row`, {
      kind: 'conflict',
      statusCode: 412,
    });
  };

  return {
    async get(idempotencyKey) {
      checkId('idempotencyKey', idempotencyKey);
      return (await read(idempotencyKey))?.entry ?? null;
    },

    async record(entry) {
      checkLedgerEntry(entry);
      // conditional, so a 'failed' from a slow retry never lands on a 'done' written in between
      await conditionalWrite(entry.idempotencyKey, (existing) =>
        mayReplace(existing?.status, entry.status) ? { write: entry, result: undefined } : { result: undefined },
      );
    },

    async list() {
      const entries: LedgerEntry[] = [];
      try {
        for await (const entity of table.listEntities<Record<string, unknown>>()) {
          entries.push(parseJson<LedgerEntry>(entity as Entity, what(String(entity['id']))));
        }
      } catch (error) {
        throw toKitError(`list table ${table.tableName}`, error);
      }
      return entries;
    },
  };
}

/**
 * Leases, one entity per key. Every change is conditional on the ETag read just before it (or
 * create-if-absent), so of two workers claiming one lapsed lease exactly one wins; the other re-reads
 * and finds it live. Expiry is judged by `now`, the store's clock.
 */
export function tableLeaseStore(table: TableClient, now: () => number): LeaseStore {
  const what = (key: string): string => `lease ${key}`;
  const read = async (key: string): Promise<{ entity: Entity; lease: Lease } | null> => {
    const entity = await readEntity(table, encodeKey(key), LEASE_ROW, what(key));
    if (!entity || !isFor(entity, key)) return null;
    return { entity, lease: parseJson<Lease>(entity, what(key)) };
  };
  const entityFor = (lease: Lease): Record<string, unknown> & { partitionKey: string; rowKey: string } => {
    const json = JSON.stringify(lease);
    checkJsonSize(what(lease.key), json);
    // holder and until beside the JSON: what an operator looking at the table wants to see
    return { partitionKey: encodeKey(lease.key), rowKey: LEASE_ROW, id: lease.key, holder: lease.holder, until: new Date(lease.until), ...toChunks(json) };
  };
  /** read → decide → write or delete under the read ETag; a lost race starts over from a fresh read */
  const conditional = async <T>(
    key: string,
    decide: (existing: Lease | null) => { write: Lease; result: T } | { remove: true; result: T } | { result: T },
  ): Promise<T> => {
    for (let attempt = 0; attempt < LEASE_WRITE_ATTEMPTS; attempt++) {
      const existing = await read(key);
      const decision = decide(existing?.lease ?? null);
      try {
        if ('write' in decision) {
          const entity = entityFor(decision.write);
          if (existing) await table.updateEntity(entity, 'Replace', { etag: etagOf(existing.entity, what(key)) });
          else await table.createEntity(entity);
        } else if ('remove' in decision && existing) {
          await table.deleteEntity(encodeKey(key), LEASE_ROW, { etag: etagOf(existing.entity, what(key)) });
        }
        return decision.result;
      } catch (error) {
        const status = statusOf(error);
        if (status === 409 || status === 412 || status === 404) continue;
        throw toKitError(`write ${what(key)} to table ${table.tableName}`, error);
      }
    }
    throw new KitError(`${what(key)}: lost ${LEASE_WRITE_ATTEMPTS} write races in a row`, { kind: 'conflict', statusCode: 412 });
  };

  return {
    async claim(key, holder, leaseMs) {
      checkLeaseRequest(key, holder, leaseMs);
      return conditional<'claimed' | 'busy'>(key, (existing) =>
        mayClaim(existing, holder, now()) ? { write: { key, holder, until: now() + leaseMs }, result: 'claimed' } : { result: 'busy' },
      );
    },

    async renew(key, holder, leaseMs) {
      checkLeaseRequest(key, holder, leaseMs);
      return conditional<boolean>(key, (existing) =>
        existing?.holder === holder ? { write: { key, holder, until: now() + leaseMs }, result: true } : { result: false },
      );
    },

    async release(key, holder) {
      checkLeaseRequest(key, holder);
      return conditional<boolean>(key, (existing) => (existing?.holder === holder ? { remove: true, result: true } : { result: false }));
    },

    async get(key) {
      checkId('lease.key', key);
      return (await read(key))?.lease ?? null;
    },
  };
}

export function tableTicketStore(table: TableClient): TicketStore {
  return {
    async get(receiver, incidentKey) {
      checkId('receiver', receiver);
      checkId('incidentKey', incidentKey);
      const what = `ticket of ${receiver} for incident ${incidentKey}`;
      const entity = await readEntity(table, encodeKey(receiver), encodeKey(incidentKey), what);
      if (!entity || !isFor(entity, ticketId(receiver, incidentKey))) return null;
      return parseJson<TicketRef>(entity, what);
    },

    async put(ref) {
      checkTicketRef(ref);
      const what = `ticket of ${ref.receiver} for incident ${ref.incidentKey}`;
      const json = JSON.stringify(ref);
      checkJsonSize(what, json);
      const entity = {
        partitionKey: encodeKey(ref.receiver),
        rowKey: encodeKey(ref.incidentKey),
        id: ticketId(ref.receiver, ref.incidentKey),
        state: ref.state,
        ...toChunks(json),
      };
      try {
        await table.upsertEntity(entity, 'Replace');
      } catch (error) {
        throw toKitError(`write ${what} to table ${table.tableName}`, error);
      }
    },
  };
}

export function tableWatermarkStore(table: TableClient): WatermarkStore {
  return {
    async get(name) {
      checkId('watermark', name);
      const entity = await readEntity(table, WATERMARK_PARTITION, encodeKey(name), `watermark ${name}`);
      if (!entity || !isFor(entity, name)) return null;
      const value = entity['value'];
      return typeof value === 'string' ? value : null;
    },

    async set(name, value) {
      checkId('watermark', name);
      checkWatermarkValue(name, value);
      try {
        await table.upsertEntity({ partitionKey: WATERMARK_PARTITION, rowKey: encodeKey(name), id: name, value }, 'Replace');
      } catch (error) {
        throw toKitError(`write watermark ${name} to table ${table.tableName}`, error);
      }
    },
  };
}

/** one partition per incident, one row per acknowledgement: created once, never replaced */
export function tableAcknowledgementStore(table: TableClient): AcknowledgementStore {
  return {
    async add(ack) {
      checkAcknowledgement(ack);
      const id = acknowledgementId(ack);
      const what = `acknowledgement ${id} of incident ${ack.incidentKey}`;
      const json = JSON.stringify(ack);
      checkJsonSize(what, json);
      try {
        await table.createEntity({ partitionKey: encodeKey(ack.incidentKey), rowKey: encodeKey(id), id, incident: ack.incidentKey, ...toChunks(json) });
        return 'added';
      } catch (error) {
        if (statusOf(error) === 409) return 'exists';
        throw toKitError(`write ${what} to table ${table.tableName}`, error);
      }
    },

    async list(incidentKey) {
      checkId('incidentKey', incidentKey);
      const what = `acknowledgements of incident ${incidentKey}`;
      const out: Acknowledgement[] = [];
      try {
        const filter = `PartitionKey eq '${encodeKey(incidentKey).replace(/'/g, "''")}'`;
        for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
          if (entity['incident'] !== incidentKey) continue;
          out.push(parseJson<Acknowledgement>(entity as Entity, what));
        }
      } catch (error) {
        if (error instanceof KitError) throw error;
        throw toKitError(`read ${what} from table ${table.tableName}`, error);
      }
      return out.sort(byTime);
    },
  };
}

function ticketId(receiver: string, incidentKey: string): string {
  return JSON.stringify([receiver, incidentKey]);
}
