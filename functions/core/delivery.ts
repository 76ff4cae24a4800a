/**
 * What the ingest half of the pipeline plans and puts on the deliveries queue, and what the
 * deliver half reports. These are the messages between the two halves, so keep them small
 * (a Storage Queue message is at most 64 KiB after base64) and serialisable.
 */
import type { Change, Incident } from './model.js';
import type { ReceiverKind } from '../config/schema.js';

export type StepType = 'notify' | 'ticket';
export type TicketAction = 'upsert' | 'resolve';

export interface DeliveryStep {
  /** sha256 over incidentKey + playbook + receiver + the ids of the changes it reacts to (invariant 2) */
  idempotencyKey: string;
  incidentKey: string;
  playbook: string;
  receiver: string;
  kind: ReceiverKind;
  stepType: StepType;
  ticketAction: TicketAction | null;
  template: string;
  /** the changes this step reacts to */
  changes: Change[];
  /** an excluded device/user/group is involved: tell people, mark "manual action required", automate nothing */
  guidanceOnly: boolean;
  /** which exclusion entries matched, e.g. "device:SRV-DC01" */
  exclusionMatches: string[];
  /** the incident as planned (description capped so the message fits a queue message) */
  incident: Incident;
  plannedAt: string;
}

/** what actually happened for one delivery */
/**
 * `outbox`: written to the outbox by a dryRun receiver in the Function App, where nobody reads the
 * outbox, so the ledger and logs must not say `sent` (the CLI, whose outbox is its output, records the operation).
 */
export type DeliveryAction = 'sent' | 'created' | 'updated' | 'resolved' | 'outbox' | 'skipped-duplicate' | 'guidance-only';

export interface TicketRef {
  receiver: string;
  incidentKey: string;
  /** target's id (Jira issue id, ServiceNow sys_id, ADO work item id, PagerDuty dedup_key, ...) */
  id: string;
  /** human key (SOC-12, INC0010001) when the target has one */
  key: string | null;
  url: string | null;
  state: 'open' | 'resolved';
}

export interface DeliveryOutcome {
  idempotencyKey: string;
  incidentKey?: string;
  receiver: string;
  kind: ReceiverKind;
  action: DeliveryAction | 'requeued' | 'failed';
  ticket: TicketRef | null;
  /** path of the outbox file when the delivery went to the outbox */
  outbox: string | null;
  attempt: number;
  error: string | null;
  /** ids of the changes this delivery actually carried (fewer than the step's when some already arrived) */
  changeIds?: string[];
}
