/**
 * The registry: every receiver kind this version knows, in the order they are listed to users. Each
 * entry is the kind's own folder (functions/connectors/<kind>/index.ts). The kind names, the receivers
 * schema, the template parts, the outbox formats, which kinds deliver live and which fields make a
 * receiver live all derive from this list; test/connectors/kinds.test.ts checks the Bicep secret list
 * and the shipped receivers against it. Adding a kind: docs/CONNECTORS.md, "Add a connector in one folder".
 */
import type { z } from 'zod';
import type { ConnectorKind, KindFamily } from './kind.js';
import { teamsKind } from './teams/index.js';
import { slackKind } from './slack/index.js';
import { emailKind } from './email/index.js';
import { smsKind } from './sms/index.js';
import { voiceKind } from './voice/index.js';
import { jiraKind } from './jira/index.js';
import { servicenowKind } from './servicenow/index.js';
import { azuredevopsKind } from './azuredevops/index.js';
import { zendeskKind } from './zendesk/index.js';
import { freshserviceKind } from './freshservice/index.js';
import { pagerdutyKind } from './pagerduty/index.js';
import { webhookKind } from './webhook/index.js';

export const KINDS = [
  teamsKind,
  slackKind,
  emailKind,
  smsKind,
  voiceKind,
  jiraKind,
  servicenowKind,
  azuredevopsKind,
  zendeskKind,
  freshserviceKind,
  pagerdutyKind,
  webhookKind,
] as const;

type AnyKind = (typeof KINDS)[number];
export type ReceiverKind = AnyKind['kind'];
/** one receivers.yaml entry, of whichever kind */
export type ReceiverConfig = z.infer<AnyKind['schema']>;
export type ReceiverOf<K extends ReceiverKind> = Extract<ReceiverConfig, { kind: K }>;
/** a kind's outbox file extension */
export type KindFormat = AnyKind['format'];

const BY_NAME = new Map<string, ConnectorKind>(KINDS.map((k) => [k.kind, k as unknown as ConnectorKind]));
if (BY_NAME.size !== KINDS.length) throw new Error('connectors/kinds.ts: two kinds share a name');
if (new Set(KINDS.map((k) => k.format)).size !== KINDS.length) throw new Error('connectors/kinds.ts: two kinds share an outbox format');

/** The kind module for a receiver kind. Kinds come from validated config, so an unknown one is a bug. */
export function kindOf<K extends ReceiverKind>(kind: K): ConnectorKind {
  const found = BY_NAME.get(kind);
  if (!found) throw new Error(`unknown receiver kind "${kind}"`);
  return found;
}

export function isReceiverKind(value: unknown): value is ReceiverKind {
  return typeof value === 'string' && BY_NAME.has(value);
}

function namesOf(family?: KindFamily): ReceiverKind[] {
  return KINDS.filter((k) => family === undefined || k.family === family).map((k) => k.kind);
}

export const RECEIVER_KINDS: readonly ReceiverKind[] = namesOf();
export const NOTIFIER_KINDS: readonly ReceiverKind[] = namesOf('notifier');
export const TICKET_KINDS: readonly ReceiverKind[] = namesOf('ticket');
/** receiver kinds with a live connector in this version; the others always write to the outbox */
export const LIVE_KINDS: ReadonlySet<ReceiverKind> = new Set(KINDS.filter((k) => 'live' in k && k.live !== undefined).map((k) => k.kind));

export function isTicketKind(kind: ReceiverKind): boolean {
  return kindOf(kind).family === 'ticket';
}

/** The endpoint (or credential) whose presence means "deliver for real"; undefined: outbox. */
export function endpointOf(receiver: ReceiverConfig): string | undefined {
  const fields = receiver as unknown as Record<string, unknown>;
  for (const f of kindOf(receiver.kind).endpointFields) {
    const v = fields[f];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/** a receiver delivers for real when it has an endpoint and is not marked dryRun */
export function deliversLive(receiver: ReceiverConfig): boolean {
  return endpointOf(receiver) !== undefined && receiver.dryRun !== true;
}

/** the field(s) that make a kind deliver for real, for messages that tell the user what to add */
export function endpointFieldText(kind: ReceiverKind): string {
  return kindOf(kind).endpointFields.join(' or ');
}
