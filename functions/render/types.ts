/**
 * Render contract. Templates live in playbooks/templates/<receiver kind>/<name>.hbs and define one
 * handlebars inline partial per *part* the channel needs (e.g. email: subject, html, text; jira:
 * summary, description, comment). The kit escapes every incident field for the part it lands in.
 */
import type { ReceiverKind } from '../config/schema.js';

/** one source file of the templates folder, read by functions/config (render does no I/O) */
export interface TemplateFile {
  /** path relative to the templates folder, POSIX separators: "teams/incident-change.hbs", "partials/facts.hbs" */
  path: string;
  source: string;
}

export interface RenderedMessage {
  kind: ReceiverKind;
  template: string;
  /**
   * part name → value. Text parts are strings (already escaped for their markup); JSON parts
   * (Teams card, Slack message, Jira ADF docs) are parsed objects.
   */
  parts: Record<string, unknown>;
}
