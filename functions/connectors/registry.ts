/**
 * From a receiver to the connector that delivers for it — like Alertmanager's BuildReceiverIntegrations.
 * A receiver whose kind has a live connector and that has an endpoint gets it; every other receiver goes
 * to the outbox, written by the same payload builder the live connector uses. The kinds themselves are
 * listed in kinds.ts.
 */
import type { ReceiverConfig, ReceiverKind } from '../config/schema.js';
import type { TicketRef } from '../core/delivery.js';
import { deliversLive, kindOf } from './kinds.js';
import { createOutboxConnector } from './outbox/outbox.js';
import type { Connector, PayloadBuilder } from './types.js';

/** the payload builder of a kind: what its live connector sends, and what its outbox files hold */
export function payloadBuilderOf(kind: ReceiverKind): PayloadBuilder<ReceiverConfig> {
  return kindOf(kind).build as PayloadBuilder<ReceiverConfig>;
}

export interface ConnectorOptions {
  outboxDir: string;
  env?: NodeJS.ProcessEnv;
  fetchTimeoutMs?: number;
  /** persist a ticket the moment the target created it (narrows the create→ledger window) */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
  /**
   * How an outbox delivery is recorded: as the operation it wrote (the CLI, whose outbox is what the user
   * asked for) or as `outbox` (the Function App, where an outbox reaches nobody and must never read as sent).
   */
  outboxRecordedAs?: 'operation' | 'outbox';
}

export function createConnector(receiverName: string, receiver: ReceiverConfig, options: ConnectorOptions): Connector {
  const kind = kindOf(receiver.kind);
  const load = kind.live;
  if (load && deliversLive(receiver)) {
    const liveOptions = {
      receiverName,
      receiver,
      ...(options.env ? { env: options.env } : {}),
      ...(options.fetchTimeoutMs ? { fetchTimeoutMs: options.fetchTimeoutMs } : {}),
      ...(kind.family === 'ticket' && options.onTicketCreated ? { onTicketCreated: options.onTicketCreated } : {}),
    };
    // the transport's module is imported on the first delivery, once per connector (see ConnectorKind.live)
    let live: Promise<Connector> | undefined;
    return {
      async execute(request) {
        live ??= load().then((create) => create(liveOptions));
        try {
          return await (await live).execute(request);
        } catch (err) {
          // a failed import is not cached: the next delivery tries again
          if (!(await live.then(() => true, () => false))) live = undefined;
          throw err;
        }
      },
    };
  }
  const outbox = createOutboxConnector({ dir: options.outboxDir, builder: payloadBuilderOf(receiver.kind) });
  if (options.outboxRecordedAs !== 'outbox') return outbox;
  return { execute: async (req) => ({ ...(await outbox.execute(req)), action: 'outbox' }) };
}

/** connectors are cheap but hold no per-call state; cache one per receiver name for a process */
export function connectorCache(options: ConnectorOptions): (name: string, receiver: ReceiverConfig) => Connector {
  const cache = new Map<string, Connector>();
  return (name, receiver) => {
    let c = cache.get(name);
    if (!c) {
      c = createConnector(name, receiver, options);
      cache.set(name, c);
    }
    return c;
  };
}
