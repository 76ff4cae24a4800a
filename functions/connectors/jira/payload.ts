/**
 * Jira Cloud REST v3 requests: create, comment, transition. v3 takes Atlassian Document Format, whose
 * text nodes are literal, so attacker text cannot become wiki markup, links or mentions (v2 strings
 * would). Render hands over ADF documents; this builder checks their shape and fits them to Jira's
 * limits. The live target (target.ts) sends these same requests; only its reads (search, comments,
 * transitions) are its own.
 */
import { createHash } from 'node:crypto';
import type { JiraReceiver } from './schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { mappedFields, type FieldValue } from '../tickets/field-mapping.js';
import { KitError } from '../../core/errors.js';
import { isJsonObject, type JsonObject } from '../../core/json-object.js';
import { ticketSegment } from '../request.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';

/** Jira: "Summary must be less than 255 characters" (Alertmanager's maxSummaryLenRunes = 255). */
export const JIRA_MAX_SUMMARY_RUNES = 255;
/** Jira's limit for a multi-line text field, counted here over the ADF JSON (a safe upper bound). */
export const JIRA_MAX_DOC_CHARS = 32_767;
const MAX_LABEL_CHARS = 255;
const ELLIPSIS = '…';

/**
 * The outbox does not know the workflow's transition ids (they differ per workflow and are looked up
 * by name at delivery time), so an outbox resolve body carries this placeholder instead.
 */
export const OUTBOX_TRANSITION_ID = 'done';

export interface AdfDoc {
  type: 'doc';
  version: 1;
  content: unknown[];
}

/**
 * The label that ties a Jira issue to one incident; the only thing the kit ever puts in JQL.
 * Lower-case [a-z0-9-] as Jira labels allow no spaces; when sanitising loses more than case (two keys
 * could then share a label), a short hash of the original key keeps them apart.
 */
export function jiraLabelFor(incidentKey: string): string {
  const lower = incidentKey.toLowerCase();
  const clean = lower.replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  const prefix = 'sentinel-';
  // lower-casing loses information too ("ABC" and "abc" must not share a label), except for GUIDs,
  // which name the same incident in either case
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(incidentKey);
  const lossy = clean !== (guid ? lower : incidentKey) || clean.length === 0 || prefix.length + clean.length > MAX_LABEL_CHARS;
  if (!lossy) return `${prefix}${clean}`;
  const hash = createHash('sha256').update(incidentKey).digest('hex').slice(0, 8);
  const body = clean.slice(0, MAX_LABEL_CHARS - prefix.length - hash.length - 1).replace(/-$/, '');
  return `${prefix}${body ? `${body}-` : ''}${hash}`;
}

function templateError(message: string, field: string): KitError {
  return new KitError(`jira: ${message}`, { kind: 'template', where: { field } });
}

/** Drops empty text nodes (Jira rejects them) and checks every node has a type. Returns a copy. */
function cleanNode(node: unknown, path: string): JsonObject | null {
  if (!isJsonObject(node) || typeof node.type !== 'string') throw templateError(`ADF node at ${path} has no "type"`, path);
  if (node.type === 'text') {
    if (typeof node.text !== 'string') throw templateError(`ADF text node at ${path} has no "text" string`, path);
    if (node.text.length === 0) return null;
  }
  const copy: JsonObject = { ...node };
  if (node.content !== undefined) {
    if (!Array.isArray(node.content)) throw templateError(`ADF node at ${path} has a "content" that is not an array`, path);
    copy.content = node.content.map((c, i) => cleanNode(c, `${path}.content[${i}]`)).filter((c): c is JsonObject => c !== null);
  }
  return copy;
}

/** Minimal ADF check: `{type:"doc", version:1, content:[...]}`, every node typed, no empty text. */
export function normaliseAdf(value: unknown, part: string): AdfDoc {
  if (!isJsonObject(value) || value.type !== 'doc') throw templateError(`part "${part}" must be an ADF document ({"type":"doc","version":1,...})`, part);
  if (value.version !== 1) throw templateError(`part "${part}" has ADF version ${JSON.stringify(value.version)}; Jira accepts version 1`, part);
  if (!Array.isArray(value.content)) throw templateError(`part "${part}" needs a "content" array`, part);
  const content = value.content.map((c, i) => cleanNode(c, `${part}.content[${i}]`)).filter((c): c is JsonObject => c !== null);
  return { ...value, type: 'doc', version: 1, content };
}

function textNodes(node: unknown, out: JsonObject[] = []): JsonObject[] {
  if (Array.isArray(node)) for (const c of node) textNodes(c, out);
  else if (isJsonObject(node)) {
    if (node.type === 'text' && typeof node.text === 'string') out.push(node);
    if (node.content !== undefined) textNodes(node.content, out);
  }
  return out;
}

/**
 * Fits a document under JIRA_MAX_DOC_CHARS: the longest text nodes are cut first, then trailing
 * blocks are dropped, then a closing paragraph says the text was cut.
 */
function fitDoc(doc: AdfDoc, part: string, truncated: string[]): AdfDoc {
  const size = () => JSON.stringify(doc).length;
  if (size() <= JIRA_MAX_DOC_CHARS) return doc;
  const note = { type: 'paragraph', content: [{ type: 'text', text: '(truncated to fit Jira)', marks: [{ type: 'em' }] }] };
  const limit = JIRA_MAX_DOC_CHARS - JSON.stringify(note).length - 1;
  const minChars = 500;
  for (let guard = 0; guard < 1000 && size() > limit; guard++) {
    const longest = textNodes(doc.content).sort((a, b) => (b.text as string).length - (a.text as string).length)[0];
    const chars = longest ? Array.from(longest.text as string) : [];
    if (!longest || chars.length <= minChars) break;
    const keep = Math.max(minChars, chars.length - (size() - limit) - 1);
    longest.text = chars.slice(0, keep).join('') + ELLIPSIS;
  }
  while (size() > limit && doc.content.length > 1) doc.content.pop();
  if (size() > limit) throw templateError(`part "${part}" is too large for Jira even after truncation`, part);
  doc.content.push(note);
  truncated.push(part);
  return doc;
}

function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function summaryFor(input: { rendered: { parts: Record<string, unknown> }; step: { incident: { key: string } } }, truncated: string[]): string {
  const raw = input.rendered.parts.summary;
  if (raw !== undefined && typeof raw !== 'string') throw templateError('part "summary" must be a string', 'summary');
  const line = oneLine(raw ?? '') || `Microsoft Sentinel incident ${input.step.incident.key}`;
  const runes = Array.from(line);
  if (runes.length <= JIRA_MAX_SUMMARY_RUNES) return line;
  truncated.push('summary');
  return runes.slice(0, JIRA_MAX_SUMMARY_RUNES - 1).join('') + ELLIPSIS;
}

function docPart(parts: Record<string, unknown>, part: 'description' | 'comment', truncated: string[]): AdfDoc {
  if (parts[part] === undefined) throw templateError(`template must define a "${part}" part`, part);
  return fitDoc(normaliseAdf(parts[part], part), part, truncated);
}

type BuildInput = Parameters<PayloadBuilder<JiraReceiver>>[0];

/** the comment (and issue) property that lets a retry recognise what an earlier try already added */
export const JIRA_COMMENT_PROPERTY = 'sentinel-playbook-kit';

/**
 * The receiver's `fields:` in Jira's shapes: priority by name, assignee by account id, any other field
 * (customfield_…) as the value itself. The kit's own fields are written after them and always win.
 */
function jiraFieldValues(fields: Record<string, FieldValue>): JsonObject {
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = name === 'priority' ? { name: String(value) } : name === 'assignee' ? { accountId: String(value) } : value;
  }
  return out;
}

/**
 * The create carries the step's key as an issue property, so a retry whose create answer was lost knows
 * the issue it finds is its own create (its changes are in the description) and does not comment them again.
 */
function createBody(input: BuildInput, truncated: string[]): { fields: JsonObject; properties: Array<{ key: string; value: { idempotencyKey: string } }> } {
  const { receiver, step, rendered } = input;
  const labels = [...new Set(['sentinel', jiraLabelFor(step.incidentKey), ...receiver.labels])];
  return {
    fields: {
      ...jiraFieldValues(mappedFields(receiver.fields, step.incident)),
      project: { key: receiver.project },
      issuetype: { name: receiver.issueType },
      summary: summaryFor(input, truncated),
      labels,
      description: docPart(rendered.parts, 'description', truncated),
    },
    properties: [{ key: JIRA_COMMENT_PROPERTY, value: { idempotencyKey: step.idempotencyKey } }],
  };
}


type CommentBody = { body: AdfDoc; properties: Array<{ key: string; value: { idempotencyKey: string } }> };

function commentBody(input: BuildInput, truncated: string[]): CommentBody {
  const body = docPart(input.rendered.parts, 'comment', truncated);
  return { body, properties: [{ key: JIRA_COMMENT_PROPERTY, value: { idempotencyKey: input.step.idempotencyKey } }] };
}

/** /rest/api/3/issue/{issueIdOrKey}: the key when known (readable in logs), else the id; the template before a create */
export function jiraIssuePath(ticket: TicketRef | null): string {
  return `/rest/api/3/issue/${ticketSegment(ticket, '{issueIdOrKey}', (t) => t.key ?? t.id)}`;
}

function jiraRequest(path: string, json: unknown, truncated: string[]): OutboundRequest {
  return { format: 'jira.json', method: 'POST', path, headers: { accept: 'application/json' }, contentType: 'application/json', body: { json }, truncated };
}

/** POST /rest/api/3/issue */
function jiraCreateRequest(input: BuildInput): OutboundRequest {
  const truncated: string[] = [];
  return jiraRequest('/rest/api/3/issue', createBody(input, truncated), truncated);
}

/** POST /rest/api/3/issue/{issueIdOrKey}/comment, with the property that marks it as this step's */
function jiraCommentRequest(input: BuildInput): OutboundRequest {
  const truncated: string[] = [];
  return jiraRequest(`${jiraIssuePath(input.ticket)}/comment`, commentBody(input, truncated), truncated);
}

/**
 * POST /rest/api/3/issue/{issueIdOrKey}/transitions with the comment in `update.comment` (one call). The
 * id differs per workflow: the live target looks it up by name; the outbox writes OUTBOX_TRANSITION_ID.
 */
export function jiraTransitionRequest(input: BuildInput, transitionId: string): OutboundRequest {
  const truncated: string[] = [];
  const json = { transition: { id: transitionId }, update: { comment: [{ add: commentBody(input, truncated) }] } };
  return jiraRequest(`${jiraIssuePath(input.ticket)}/transitions`, json, truncated);
}

export const buildJiraPayload: PayloadBuilder<JiraReceiver> = (input): OutboundRequest => {
  switch (input.operation) {
    case 'create':
      return jiraCreateRequest(input);
    case 'update':
      return jiraCommentRequest(input);
    case 'resolve':
      return jiraTransitionRequest(input, OUTBOX_TRANSITION_ID);
    default:
      throw new KitError(`jira: operation "${input.operation}" does not apply to a ticket receiver`, { kind: 'validation' });
  }
};
