/**
 * One table from receiver kind to its payload builder and (where this version has one) its live
 * connector — like Alertmanager's BuildReceiverIntegrations. A receiver without an endpoint goes to the
 * outbox, built by the same payload builder the live connector uses.
 */
import type { ReceiverConfig, ReceiverKind } from '../config/schema.js';
import { deliversLive } from '../config/parse.js';
import { createOutboxConnector } from './outbox/outbox.js';
import type { Connector, PayloadBuilder } from './types.js';
import type { TicketRef } from '../core/delivery.js';
import { buildTeamsPayload } from './teams/payload.js';
import { createTeamsConnector } from './teams/teams.js';
import { buildJiraPayload } from './jira/payload.js';
import { createJiraConnector } from './jira/jira.js';
import { buildSlackPayload } from './slack/payload.js';
import { buildEmailPayload } from './email/payload.js';
import { buildSmsPayload } from './sms/payload.js';
import { buildVoicePayload } from './voice/payload.js';
import { buildServicenowPayload } from './servicenow/payload.js';
import { buildAzuredevopsPayload } from './azuredevops/payload.js';
import { buildZendeskPayload } from './zendesk/payload.js';
import { buildFreshservicePayload } from './freshservice/payload.js';
import { buildPagerdutyPayload } from './pagerduty/payload.js';

export const PAYLOAD_BUILDERS: { [K in ReceiverKind]: PayloadBuilder<Extract<ReceiverConfig, { kind: K }>> } = {
  teams: buildTeamsPayload,
  slack: buildSlackPayload,
  email: buildEmailPayload,
  sms: buildSmsPayload,
  voice: buildVoicePayload,
  jira: buildJiraPayload,
  servicenow: buildServicenowPayload,
  azuredevops: buildAzuredevopsPayload,
  zendesk: buildZendeskPayload,
  freshservice: buildFreshservicePayload,
  pagerduty: buildPagerdutyPayload,
};

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
  const live = deliversLive(receiver);
  const common = { receiverName, ...(options.env ? { env: options.env } : {}), ...(options.fetchTimeoutMs ? { fetchTimeoutMs: options.fetchTimeoutMs } : {}) };
  if (live && receiver.kind === 'teams') return createTeamsConnector({ ...common, receiver });
  if (live && receiver.kind === 'jira') return createJiraConnector({ ...common, receiver, ...(options.onTicketCreated ? { onTicketCreated: options.onTicketCreated } : {}) });
  const outbox = createOutboxConnector({ dir: options.outboxDir, builder: PAYLOAD_BUILDERS[receiver.kind] as PayloadBuilder<ReceiverConfig> });
  if (options.outboxRecordedAs !== 'outbox') return outbox;
  return { deliver: async (req) => ({ ...(await outbox.deliver(req)), action: 'outbox' }) };
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
