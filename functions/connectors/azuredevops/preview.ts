/** An Azure DevOps JSON Patch (or work item comment) as the work item change it makes. */
import { escapeHtml } from '../../render/escape.js';
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewEntry, PreviewFile } from '../outbox/preview/entry.js';
import { str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { ticketCard, type TicketOperation, type TicketView } from '../outbox/preview/ticket-card.js';
import { linkHtml, valueHtml } from '../outbox/preview/markup.js';
import { sandboxedHtml } from '../outbox/preview/frame.js';

const ADO_HTML_FIELDS: Record<string, string> = {
  'System.Description': 'Description',
  'System.History': 'Discussion comment',
  'Microsoft.VSTS.TCM.ReproSteps': 'Repro steps',
  'Microsoft.VSTS.Common.AcceptanceCriteria': 'Acceptance criteria',
};
const ADO_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

function azuredevopsView(entry: PreviewEntry, doc: unknown): TicketView {
  if (isJsonObject(doc) && typeof doc.text === 'string') {
    return { operation: 'comment', title: null, fields: [], sections: [['Comment', sandboxedHtml(doc.text, 'Work item comment')]] };
  }
  if (!Array.isArray(doc)) throw malformed(entry, 'an Azure DevOps body must be a JSON Patch array (or a comment {"text"})');
  const ops = doc.map((op, i) => {
    if (!isJsonObject(op) || !ADO_OPS.includes(str(op.op)) || typeof op.path !== 'string') {
      throw malformed(entry, `operation ${i} needs "op" (${ADO_OPS.join('|')}) and a string "path"`, `[${i}]`);
    }
    return { op: str(op.op), path: op.path, value: op.value };
  });
  const fieldOf = (path: string): string | null => (path.startsWith('/fields/') ? path.slice('/fields/'.length) : null);
  const title = ops.find((o) => fieldOf(o.path) === 'System.Title' && o.op !== 'test');
  const state = ops.find((o) => fieldOf(o.path) === 'System.State' && o.op !== 'test');
  const changes = ops.filter((o) => o.op !== 'test');
  let operation: TicketOperation;
  if (title && title.op === 'add' && !ops.some((o) => o.path === '/rev')) operation = 'create';
  else if (state && ['closed', 'done', 'resolved', 'removed'].includes(str(state.value).toLowerCase())) operation = 'resolve';
  else if (changes.length > 0 && changes.every((o) => fieldOf(o.path) === 'System.History')) operation = 'comment';
  else operation = 'update';
  const rows: Array<[string, string]> = [];
  const sections: Array<[string, string]> = [];
  for (const o of ops) {
    const field = fieldOf(o.path);
    if (o.op === 'test') {
      rows.push([`only if ${o.path.replace(/^\//, '')} is`, valueHtml(o.value)]);
    } else if (field && ADO_HTML_FIELDS[field] && typeof o.value === 'string') {
      sections.push([ADO_HTML_FIELDS[field] ?? field, sandboxedHtml(o.value, field)]);
    } else if (field === 'System.Title') {
      continue;
    } else if (o.path.startsWith('/relations')) {
      const rel = isJsonObject(o.value) ? o.value : {};
      rows.push([`${o.op} link${rel.rel ? ` (${str(rel.rel)})` : ''}`, o.op === 'remove' ? escapeHtml(o.path) : linkHtml(rel.url, escapeHtml(str(rel.url)))]);
    } else if (o.op === 'remove') {
      rows.push([field ?? o.path, '<em class="muted">removed</em>']);
    } else {
      rows.push([field ?? `${o.op} ${o.path}`, valueHtml(o.value)]);
    }
  }
  return { operation, title: title ? str(title.value) : null, fields: rows, sections };
}

export function azuredevopsPreview({ entry, document, label }: PreviewFile): KindPreview {
  return { html: ticketCard(label, azuredevopsView(entry, document)) };
}
