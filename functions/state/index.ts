/**
 * State: the ports the pipeline talks to and the two adapters behind them.
 */
export type {
  DeliveryQueue,
  Lease,
  LeaseStore,
  Ledger,
  LedgerEntry,
  LedgerStatus,
  QueuedDelivery,
  ReceivedMessage,
  SnapshotStore,
  StateStores,
  StoredSnapshot,
  TicketStore,
  WatermarkStore,
} from './ports.js';
export { createMemoryStores, type MemoryDeliveryQueue, type MemoryStateOptions, type MemoryStateStores } from './memory.js';
export {
  createAzureStores,
  stateFromEnvironment,
  DEFAULT_QUEUE_NAME,
  POISON_SUFFIX,
  STORAGE_ACCOUNT_SETTING,
  STORAGE_CONNECTION_SETTING,
  TABLE_NAMES,
  type AzureStateOptions,
  type AzureStateStores,
} from './azure/stores.js';
export type { InspectableDeliveryQueue } from './azure/queue.js';
export { decodeDelivery, encodeDelivery, MAX_QUEUE_MESSAGE_CHARS, type PoisonEntry } from './azure/encoding.js';
