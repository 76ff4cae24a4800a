/**
 * What one receiver kind is, in one place (functions/connectors/<kind>/index.ts): the receivers.yaml
 * schema, the parts its templates fill, the outbox format, which fields make it live and which hold
 * secrets, the payload builder, the preview, and — where this version has one — the live connector.
 * The registry (kinds.ts) is a list of these; everything else that used to keep a table per kind reads
 * it from there, so adding a kind is one folder and one line.
 */
import type { z } from 'zod';
import type { TicketRef } from '../core/delivery.js';
import type { PartSpec } from '../render/parts.js';
import type { PreviewRenderer, RawRedactor } from './outbox/preview/entry.js';
import type { Connector, PayloadBuilder } from './types.js';

export type KindFamily = 'notifier' | 'ticket';

/** The schema of one kind's receivers.yaml entry: a strict zod object whose `kind` is a literal. */
export type KindSchema = z.ZodObject<{ kind: z.ZodLiteral<string> } & z.ZodRawShape>;

export interface LiveConnectorOptions<R> {
  receiverName: string;
  receiver: R;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
  /** ticket kinds: persist a ticket the moment the target created it (narrows the create→ledger window) */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

export type LiveConnectorFactory<R> = (options: LiveConnectorOptions<R>) => Connector;

export interface ConnectorKind<S extends KindSchema = KindSchema> {
  kind: z.infer<S>['kind'];
  family: KindFamily;
  /** how people call the target, e.g. "Azure DevOps" (preview page, messages) */
  label: string;
  schema: S;
  /** what a template for this kind fills, and the markup of each part */
  parts: ReadonlyArray<PartSpec>;
  /** outbox file extension (after the dot), e.g. "teams.json"; one per kind */
  format: string;
  /** fields of which any one, when set, makes the receiver deliver for real (absent: outbox) */
  endpointFields: ReadonlyArray<keyof z.infer<S> & string>;
  /** fields that hold secret references (env:NAME): app settings that Bicep wires to Key Vault */
  secretFields: ReadonlyArray<keyof z.infer<S> & string>;
  build: PayloadBuilder<z.infer<S>>;
  /** draws one outbox file of this format for the preview page (outbox/index.html), as its recipient will see it */
  preview: PreviewRenderer;
  /** for a body that failed to render, the raw text with what must never be on the page (a credential) hidden */
  redactRaw?: RawRedactor;
  /**
   * a notifier whose live connector keeps its first message per incident in the ticket store (Slack's
   * `ts`, to thread or edit later moments): the pipeline then loads it for each delivery
   */
  keepsMessage?: boolean;
  /**
   * loads the live connector, when this version has one; without it the kind only writes to the outbox.
   * A loader, not the factory: a transport's code (its clients, auth, ticket engine) is imported only when
   * a receiver of that kind first delivers live, so a Function App that configures only Slack never loads
   * the email or SMS transports (cold start).
   */
  live?: () => Promise<LiveConnectorFactory<z.infer<S>>>;
}

/** Typed identity: checks a kind module against ConnectorKind while keeping its literal types. */
export function defineKind<S extends KindSchema>(kind: ConnectorKind<S>): ConnectorKind<S> {
  return kind;
}
