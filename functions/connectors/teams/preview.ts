/** A Teams message (Workflows webhook JSON, or a bare Adaptive Card) as the channel shows it. */
import { isJsonObject } from '../../core/json-object.js';
import type { KindPreview, PreviewFile } from '../outbox/preview/entry.js';
import { str } from '../outbox/preview/json-fields.js';
import { malformed } from '../outbox/preview/malformed.js';
import { placeholder } from '../outbox/preview/markup.js';
import { renderAdaptiveCard, teamsMarkdown } from './adaptive-card-html.js';

export function teamsPreview({ entry, document: doc }: PreviewFile): KindPreview {
  if (!isJsonObject(doc)) throw malformed(entry, 'a Teams message must be a JSON object');
  let cards: string[];
  if (doc.type === 'AdaptiveCard') {
    cards = [renderAdaptiveCard(doc, 0)];
  } else if (Array.isArray(doc.attachments)) {
    cards = doc.attachments.map((att) => {
      if (!isJsonObject(att)) return placeholder('attachment that is not an object', att);
      if (att.contentType !== 'application/vnd.microsoft.card.adaptive') {
        return placeholder(`attachment of type ${str(att.contentType) || '(none)'}`);
      }
      return isJsonObject(att.content) ? renderAdaptiveCard(att.content, 0) : placeholder('Adaptive Card attachment without content');
    });
  } else {
    throw malformed(entry, 'neither a Teams message with attachments nor an Adaptive Card', 'attachments');
  }
  const text = str(doc.text);
  const html = `<div class="teams"><div class="teams-head"><span class="avatar teams-avatar">W</span><span class="teams-sender">Workflows</span><span class="muted">via Sentinel Playbook Kit</span></div>
${text ? `<div class="teams-text">${teamsMarkdown(text)}</div>` : ''}${cards.join('')}</div>`;
  return { html };
}
