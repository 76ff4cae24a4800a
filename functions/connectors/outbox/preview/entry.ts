/**
 * The types the preview page and the kinds' previews share. A kind's preview
 * (functions/connectors/<kind>/preview.ts) is registered in its kind module; render-one.ts finds it by
 * the file's format, so the page never needs a table of formats.
 */
import type { OutboxFormat } from '../../types.js';

export interface PreviewEntry {
  /** path relative to outbox/, e.g. "soc-teams/12345-1.teams.json" */
  path: string;
  receiver: string;
  incidentKey: string;
  format: OutboxFormat;
  /** the file's exact content */
  body: string;
}

/**
 * One outbox file as a kind's preview gets it. A JSON format's body is parsed once, by the shared
 * layer, and handed over as `document`, so a preview reads the data its request builder wrote, never
 * the text again; the text formats (email, TwiML, SMS) read `entry.body`, the exact bytes the target gets.
 */
export interface PreviewFile {
  entry: PreviewEntry;
  /** JSON.parse(entry.body) for a JSON format (….json); undefined for a text format, or a body that did not parse */
  document: unknown;
  /** the kind's label, e.g. "Azure DevOps": a ticket card names its system with it */
  label: string;
}

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegmentInfo {
  encoding: SmsEncoding;
  /** user-visible characters (Unicode code points) */
  characters: number;
  segments: number;
}

/** What a kind's preview makes of one file. */
export interface KindPreview {
  /** the file as its recipient will see it; every byte of input already escaped or sandboxed */
  html: string;
  /** what the text costs as SMS, for the page's totals */
  sms?: SmsSegmentInfo;
}

/** Throws a validation KitError (malformed.ts) for a body the kind cannot show; the page shows the raw text instead. */
export type PreviewRenderer = (file: PreviewFile) => KindPreview;

/** The raw text of a body that failed to render, with what must never be on the page (a credential) hidden. */
export type RawRedactor = (file: PreviewFile) => string;
