/**
 * One outbox file → its card's content. The kind that wrote the file is found by its format in the
 * registry (KINDS) and draws it with its own preview; a failed-delivery record is drawn by failed.ts.
 * Never throws: a body that cannot be shown becomes an error box with the raw text, escaped.
 */
import { escapeHtml } from '../../../render/escape.js';
import type { ConnectorKind } from '../../kind.js';
import { KINDS } from '../../kinds.js';
import type { OutboxFormat } from '../../types.js';
import { documentOf, type ParsedEntry } from './document.js';
import type { PreviewEntry, PreviewFile, SmsSegmentInfo } from './entry.js';
import { failedPreview, type FailedDelivery } from './failed.js';
import { malformed } from './malformed.js';
import { clip } from './markup.js';

const FAILED = 'failed.json';

type KindPreviewer = Pick<ConnectorKind, 'label' | 'preview' | 'redactRaw'>;

const BY_FORMAT = new Map<string, KindPreviewer>(KINDS.map((k) => [k.format, k]));

const FORMAT_LABELS: Record<string, string> = { ...Object.fromEntries(KINDS.map((k) => [k.format, k.label])), [FAILED]: 'Failed delivery' };

export interface RenderedEntry {
  entry: PreviewEntry;
  html: string;
  /** why the file could not be shown (malformed body), null when it rendered */
  error: string | null;
  sms: SmsSegmentInfo | null;
  /** set for a failed-delivery record */
  failure: FailedDelivery | null;
}

export function formatLabel(format: OutboxFormat): string {
  return FORMAT_LABELS[format] ?? format;
}

function fileFor(kind: KindPreviewer, parsed: ParsedEntry, document: unknown): PreviewFile {
  return { entry: parsed.entry, document, label: kind.label };
}

function renderBody(parsed: ParsedEntry): { html: string; sms: SmsSegmentInfo | null; failure?: FailedDelivery } {
  const { entry } = parsed;
  if (entry.format === FAILED) return { ...failedPreview(entry, documentOf(parsed)), sms: null };
  const kind = BY_FORMAT.get(entry.format);
  if (!kind) throw malformed(entry, `unknown outbox format "${clip(String(entry.format), 40)}"`, 'format');
  const { html, sms } = kind.preview(fileFor(kind, parsed, documentOf(parsed)));
  return { html, sms: sms ?? null };
}

/** The unrendered file, for a body the preview could not render, with what its kind hides hidden. */
function rawBodyHtml(parsed: ParsedEntry): string {
  const kind = BY_FORMAT.get(parsed.entry.format);
  const raw = kind?.redactRaw ? kind.redactRaw(fileFor(kind, parsed, parsed.document)) : parsed.entry.body;
  return `<pre>${escapeHtml(raw)}</pre>`;
}

export function renderOne(parsed: ParsedEntry): RenderedEntry {
  const { entry } = parsed;
  try {
    const { html, sms, failure } = renderBody(parsed);
    return { entry, html, error: null, sms, failure: failure ?? null };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const html = `<div class="error-box" role="alert"><strong>Could not render this ${escapeHtml(FORMAT_LABELS[entry.format] ?? 'file')} message.</strong> ${escapeHtml(clip(message, 600))}${rawBodyHtml(parsed)}</div>`;
    return { entry, html, error: message, sms: null, failure: null };
  }
}
