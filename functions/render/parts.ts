/**
 * What each receiver kind needs from a template: its parts and the markup each part is written in.
 * The markup decides how incident text is escaped inside that part.
 */
import type { ReceiverKind } from '../config/schema.js';

/**
 * line: one line of plain text (mail subject, ticket title); text: plain text; html; json (parsed
 * after rendering); xml (TwiML).
 */
export type PartFormat = 'text' | 'line' | 'html' | 'json' | 'xml';

export interface PartSpec {
  name: string;
  format: PartFormat;
}

const PARTS: { [K in ReceiverKind]: ReadonlyArray<PartSpec> } = {
  teams: [{ name: 'card', format: 'json' }],
  slack: [{ name: 'message', format: 'json' }],
  email: [
    { name: 'subject', format: 'line' },
    { name: 'html', format: 'html' },
    { name: 'text', format: 'text' },
  ],
  sms: [{ name: 'text', format: 'text' }],
  voice: [{ name: 'twiml', format: 'xml' }],
  jira: [
    { name: 'summary', format: 'line' },
    { name: 'description', format: 'json' },
    { name: 'comment', format: 'json' },
  ],
  servicenow: [
    { name: 'short_description', format: 'line' },
    { name: 'description', format: 'text' },
    { name: 'work_notes', format: 'text' },
  ],
  azuredevops: [
    { name: 'title', format: 'line' },
    { name: 'description', format: 'html' },
    { name: 'comment', format: 'html' },
  ],
  zendesk: [
    { name: 'subject', format: 'line' },
    { name: 'body', format: 'html' },
    { name: 'comment', format: 'html' },
  ],
  freshservice: [
    { name: 'subject', format: 'line' },
    { name: 'description', format: 'html' },
    { name: 'note', format: 'html' },
  ],
  pagerduty: [{ name: 'summary', format: 'line' }],
};

export function partsFor(kind: ReceiverKind): ReadonlyArray<PartSpec> {
  return PARTS[kind];
}
