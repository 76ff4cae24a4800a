/**
 * Builds the Azure-backed StateStores: six tables and the deliveries queue (+ its poison queue)
 * in the Function App's storage account, by managed identity in Azure or by connection string
 * against Azurite.
 */
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/identity';
import { KitError } from '../../core/errors.js';
import type { StateStores } from '../ports.js';
import { serviceCode, statusOf, toKitError } from './errors.js';
import { storageDeliveryQueue, type InspectableDeliveryQueue } from './queue.js';
import { tableAcknowledgementStore, tableLeaseStore, tableLedger, tableSnapshotStore, tableTicketStore, tableWatermarkStore } from './tables.js';
import { asciiJsonBodyPolicy } from './wire.js';

export const DEFAULT_QUEUE_NAME = 'deliveries';
export const POISON_SUFFIX = '-poison';
/** the tables the kit uses; bicep/main.bicep creates the same list (test/state/azure.test.ts compares them) */
export const TABLE_NAMES = { snapshots: 'snapshots', ledger: 'ledger', leases: 'leases', tickets: 'tickets', watermarks: 'watermarks', acknowledgements: 'acknowledgements' } as const;
type TableName = keyof typeof TABLE_NAMES;

/** App settings read by `stateFromEnvironment`. */
export const STORAGE_ACCOUNT_SETTING = 'SPK_STORAGE_ACCOUNT_NAME';
export const STORAGE_CONNECTION_SETTING = 'SPK_STORAGE_CONNECTION_STRING';

export interface ConnectionStringAccess {
  connectionString: string;
}

export interface IdentityAccess {
  accountName: string;
  credential: TokenCredential;
  /** default https://<accountName>.table.core.windows.net */
  tableEndpoint?: string;
  /** default https://<accountName>.queue.core.windows.net */
  queueEndpoint?: string;
}

export type AzureStateOptions = (ConnectionStringAccess | IdentityAccess) & {
  /** letters and digits prepended to every table name, so tests and side-by-side installs stay apart */
  tablePrefix?: string;
  /** default "deliveries"; the poison queue is "<queueName>-poison" */
  queueName?: string;
  /** default true: create the tables and queues when missing (idempotent, safe under races) */
  createIfMissing?: boolean;
  /** the clock leases are judged by; default Date.now */
  now?: () => number;
};

export interface AzureStateStores extends StateStores {
  queue: InspectableDeliveryQueue;
  /** the resource names in use, for reports and for the Functions queue-trigger binding */
  names: { tables: Record<TableName, string>; queue: string; poisonQueue: string };
  /** the service endpoints in use (no credentials in them) */
  endpoints: { table: string; queue: string };
}

// Table names: 3-63 letters or digits, starting with a letter.
const TABLE_PREFIX = /^(?:[A-Za-z][A-Za-z0-9]*)?$/;
// Queue names: 3-63 lowercase letters, digits and single hyphens, no leading/trailing hyphen.
const QUEUE_NAME = /^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

export async function createAzureStores(options: AzureStateOptions): Promise<AzureStateStores> {
  const prefix = options.tablePrefix ?? '';
  const longestTable = Math.max(...Object.values(TABLE_NAMES).map((name) => name.length));
  if (!TABLE_PREFIX.test(prefix) || prefix.length + longestTable > 63) {
    throw new KitError(
      `tablePrefix "${prefix}" must be letters and digits starting with a letter, at most ${63 - longestTable} long`,
      { kind: 'config', where: { field: 'tablePrefix' } },
    );
  }
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  if (!QUEUE_NAME.test(queueName) || queueName.length < 3 || queueName.length + POISON_SUFFIX.length > 63) {
    throw new KitError(
      `queueName "${queueName}" must be 3-${63 - POISON_SUFFIX.length} lowercase letters, digits and single hyphens`,
      { kind: 'config', where: { field: 'queueName' } },
    );
  }
  const poisonQueueName = `${queueName}${POISON_SUFFIX}`;
  const tableNames = Object.fromEntries(
    Object.entries(TABLE_NAMES).map(([port, name]) => [port, `${prefix}${name}`]),
  ) as Record<TableName, string>;

  const { table, queueService } = clientsFor(options);
  const tables = Object.fromEntries(Object.entries(tableNames).map(([port, name]) => [port, table(name)])) as Record<TableName, TableClient>;
  const queue = queueService.getQueueClient(queueName);
  const poisonQueue = queueService.getQueueClient(poisonQueueName);

  if (options.createIfMissing !== false) {
    await Promise.all([
      ...Object.values(tables).map((client) => ensureTable(client)),
      ensureQueue(queue),
      ensureQueue(poisonQueue),
    ]);
  }

  return {
    snapshots: tableSnapshotStore(tables.snapshots),
    ledger: tableLedger(tables.ledger),
    leases: tableLeaseStore(tables.leases, options.now ?? Date.now),
    tickets: tableTicketStore(tables.tickets),
    watermarks: tableWatermarkStore(tables.watermarks),
    acknowledgements: tableAcknowledgementStore(tables.acknowledgements),
    queue: storageDeliveryQueue(queue, poisonQueue),
    names: { tables: tableNames, queue: queueName, poisonQueue: poisonQueueName },
    endpoints: { table: withoutQuery(tables.snapshots.url), queue: withoutQuery(queueService.url) },
  };
}

function clientsFor(options: AzureStateOptions): {
  table: (name: string) => TableClient;
  queueService: QueueServiceClient;
} {
  if ('connectionString' in options) {
    const connectionString = options.connectionString;
    if (typeof connectionString !== 'string' || !/AccountName=|SharedAccessSignature=|UseDevelopmentStorage=/i.test(connectionString)) {
      // never echo the string itself: it carries the account key
      throw new KitError('connectionString is not a storage account connection string', {
        kind: 'config',
        where: { field: 'connectionString' },
      });
    }
    // Azurite speaks plain http on loopback; the SDK refuses http unless told it is intended.
    const insecure = /(?:^|;)\s*DefaultEndpointsProtocol=http(?:;|$)|Endpoint=http:\/\//i.test(connectionString);
    const tableOptions: TableServiceClientOptions = {
      additionalPolicies: [asciiJsonBodyPolicy()],
      ...(insecure ? { allowInsecureConnection: true } : {}),
    };
    try {
      const queueService = QueueServiceClient.fromConnectionString(connectionString);
      return { table: (name) => TableClient.fromConnectionString(connectionString, name, tableOptions), queueService };
    } catch {
      // the parser's own error may quote the string, key included, so it is not kept as the cause
      throw new KitError('connectionString could not be parsed as a storage account connection string', {
        kind: 'config',
        where: { field: 'connectionString' },
      });
    }
  }
  if (!ACCOUNT_NAME.test(options.accountName)) {
    throw new KitError(`accountName "${options.accountName}" must be 3-24 lowercase letters and digits`, {
      kind: 'config',
      where: { field: 'accountName' },
    });
  }
  const tableEndpoint = options.tableEndpoint ?? `https://${options.accountName}.table.core.windows.net`;
  const queueEndpoint = options.queueEndpoint ?? `https://${options.accountName}.queue.core.windows.net`;
  const credential = options.credential;
  return {
    table: (name) => new TableClient(tableEndpoint, name, credential, { additionalPolicies: [asciiJsonBodyPolicy()] }),
    queueService: new QueueServiceClient(queueEndpoint, credential),
  };
}

// a SAS connection string puts its token in the query string
function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`.replace(/\/$/, '');
}

async function ensureTable(table: TableClient): Promise<void> {
  try {
    // the SDK already treats 409 TableAlreadyExists as success
    await table.createTable();
  } catch (error) {
    if (statusOf(error) === 409 && serviceCode(error) !== 'TableBeingDeleted') return;
    throw toKitError(`create table ${table.tableName}`, error);
  }
}

async function ensureQueue(queue: QueueClient): Promise<void> {
  try {
    await queue.createIfNotExists();
  } catch (error) {
    if (statusOf(error) === 409 && serviceCode(error) === 'QueueAlreadyExists') return;
    throw toKitError(`create queue ${queue.name}`, error);
  }
}

/**
 * State for the Function App and the CLI: identity-based when SPK_STORAGE_ACCOUNT_NAME is set
 * (DefaultAzureCredential: the app's managed identity in Azure, a developer login locally),
 * else SPK_STORAGE_CONNECTION_STRING (Azurite, or an account key where identity is not possible).
 */
export async function stateFromEnvironment(
  env: Record<string, string | undefined> = process.env,
  extra: Pick<AzureStateOptions, 'tablePrefix' | 'queueName' | 'createIfMissing' | 'now'> = {},
): Promise<AzureStateStores> {
  const accountName = env[STORAGE_ACCOUNT_SETTING]?.trim();
  if (accountName) {
    if (!ACCOUNT_NAME.test(accountName)) {
      throw new KitError(`${STORAGE_ACCOUNT_SETTING} "${accountName}" must be 3-24 lowercase letters and digits`, {
        kind: 'config',
        where: { field: STORAGE_ACCOUNT_SETTING },
      });
    }
    // loaded only here: identity is sizeable and the connection-string path never needs it
    const { DefaultAzureCredential } = await import('@azure/identity');
    return createAzureStores({ ...extra, accountName, credential: new DefaultAzureCredential() });
  }
  const connectionString = env[STORAGE_CONNECTION_SETTING]?.trim();
  if (connectionString) {
    try {
      return await createAzureStores({ ...extra, connectionString });
    } catch (error) {
      if (error instanceof KitError && error.where?.field === 'connectionString') {
        throw new KitError(`${STORAGE_CONNECTION_SETTING}: ${error.message}`, {
          kind: error.kind,
          where: { field: STORAGE_CONNECTION_SETTING },
          cause: error,
        });
      }
      throw error;
    }
  }
  throw new KitError(
    `no state storage configured: set ${STORAGE_ACCOUNT_SETTING} (managed identity) or ${STORAGE_CONNECTION_SETTING}`,
    { kind: 'config', where: { field: STORAGE_ACCOUNT_SETTING } },
  );
}
