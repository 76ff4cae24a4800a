/**
 * What each receiver kind needs from a template: its parts and the markup each part is written in.
 * The markup decides how incident text is escaped inside that part. Each kind declares its parts in its
 * own folder (functions/connectors/<kind>/index.ts).
 */
import { kindOf, type ReceiverKind } from '../connectors/kinds.js';

/**
 * line: one line of plain text (mail subject, ticket title); text: plain text; html; json (parsed
 * after rendering); xml (TwiML).
 */
export type PartFormat = 'text' | 'line' | 'html' | 'json' | 'xml';

/**
 * The target's own markup inside a part, where it has more than the format says: Adaptive Card text
 * (markdown, ${…} functions), Slack mrkdwn, Jira ADF (reference nodes), ServiceNow text ([code] tags), an
 * SMS (GSM-7 normalisation). Incident text is escaped for it; without one, the format's escaping is all.
 */
export type PartDialect = 'adaptive-card' | 'slack' | 'jira-adf' | 'servicenow' | 'sms';

export interface PartSpec {
  name: string;
  format: PartFormat;
  dialect?: PartDialect;
}

export function partsFor(kind: ReceiverKind): ReadonlyArray<PartSpec> {
  return kindOf(kind).parts;
}
