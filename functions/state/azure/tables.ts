/**
 * SnapshotStore, Ledger, TicketStore and WatermarkStore on Azure Tables (Azurite locally).
 * Every entity keeps its original id in `id` beside the encoded key, and its value as JSON chunks.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { KitError } from '../../core/errors.js';
import type { Snapshot } from '../../core/model.js';
import type { TicketRef } from '../../core/delivery.js';
import type { Ledger, LedgerEntry, SnapshotStore, StoredSnapshot, TicketStore, WatermarkStore } from '../ports.js';
import { checkId, checkJsonSize, encodeKey, fromChunks, toChunks } from './encoding.js';
import { statusOf, toKitError } from './errors.js';
import { checkLease, checkLedgerEntry, checkTicketRef, checkWatermarkValue, claimBlockedBy, mayReplace, releasedBy, type ClaimResult } from './values.js';

type Entity = TableEntityResult<Record<string, unknown>>;

const SNAPSHOT_ROW = 'snapshot';
const LEDGER_ROW = 'ledger';
const WATERMARK_PARTITION = 'watermark';
// A ledger write that keeps losing races is contended far beyond what one delivery produces.
const LEDGER_WRITE_ATTEMPTS = 8;

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

export function tableLedger(table: TableClient, now: () => number): Ledger {
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

    async claim(entry, leaseUntil) {
      checkLedgerEntry(entry);
      checkLease(leaseUntil);
      return conditionalWrite<ClaimResult>(entry.idempotencyKey, (existing) => {
        const blocked = existing ? claimBlockedBy(existing, now()) : null;
        if (blocked) return { result: blocked };
        return { write: { ...entry, status: 'pending', leaseUntil }, result: 'claimed' };
      });
    },

    async release(idempotencyKey, holder) {
      checkId('idempotencyKey', idempotencyKey);
      return conditionalWrite<boolean>(idempotencyKey, (existing) => {
        const released = releasedBy(existing, holder);
        return released ? { write: released, result: true } : { result: false };
      });
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

function ticketId(receiver: string, incidentKey: string): string {
  return JSON.stringify([receiver, incidentKey]);
}
