/**
 * Wiring shared by every entry point: a loaded kit (config + templates) and a set of state stores
 * become the dependencies of ingest and processDelivery. Entry points choose the stores and the outbox folder;
 * nothing else differs between the Function App, the CLI and the tests.
 */
import type { LoadedKit } from '../config/load.js';
import type { Logger } from '../core/log.js';
import { connectorCache, type ConnectorOptions } from '../connectors/registry.js';
import type { Connector } from '../connectors/types.js';
import type { ReceiverConfig } from '../config/schema.js';
import { renderStep, type TemplateSet } from '../render/engine.js';
import type { StateStores } from '../state/ports.js';
import type { DeliveryDeps } from './process-delivery.js';
import type { IngestDeps } from './ingest.js';

export interface KitRuntimeOptions extends ConnectorOptions {
  log?: Logger;
  now?: () => Date;
  maxAttempts?: number;
  /** replace the connector for a receiver (tests, fault injection) */
  connectorFor?: (name: string, receiver: ReceiverConfig) => Connector;
  afterDelivered?: DeliveryDeps['afterDelivered'];
}

export interface KitRuntime {
  ingestDeps: IngestDeps;
  deliveryDeps: DeliveryDeps;
}

export function createRuntime(kit: LoadedKit & { templates: TemplateSet }, stores: StateStores, options: KitRuntimeOptions): KitRuntime {
  const now = options.now ?? (() => new Date());
  const templates = kit.templates;
  const connectorFor = options.connectorFor ?? connectorCache({ onTicketCreated: (t) => stores.tickets.put(t), ...options });
  return {
    ingestDeps: { stores, config: kit.config, now, ...(options.log ? { log: options.log } : {}) },
    deliveryDeps: {
      stores,
      receivers: kit.config.receivers,
      // `now` is left to the step's plannedAt, so a retry renders the very same bytes
      render: (step, ticket) =>
        renderStep(templates, step, { receiverName: step.receiver, ticket, ...(kit.config.exclusions.reason ? { exclusionReason: kit.config.exclusions.reason } : {}) }),
      connectorFor,
      now: () => now().getTime(),
      ...(options.log ? { log: options.log } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.afterDelivered ? { afterDelivered: options.afterDelivered } : {}),
    },
  };
}
