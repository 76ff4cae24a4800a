/** A text message as the phone shows it, with what it costs in segments. */
import { escapeHtml } from '../../render/escape.js';
import { smsEncoding, smsSegments } from '../../render/sms.js';
import type { KindPreview, PreviewFile, SmsSegmentInfo } from '../outbox/preview/entry.js';

/** What a text costs as SMS, counted by render/sms.ts exactly as the SMS connector bills it. */
export function smsSegmentInfo(text: string): SmsSegmentInfo {
  return { encoding: smsEncoding(text), characters: Array.from(text).length, segments: smsSegments(text) };
}

export function smsPreview({ entry }: PreviewFile): KindPreview {
  const info = smsSegmentInfo(entry.body);
  const plural = info.segments === 1 ? '' : 's';
  const html = `<div class="phone"><div class="phone-bar">Text message</div><div class="sms-bubble">${escapeHtml(entry.body)}</div>
<div class="sms-meta" data-segments="${info.segments}">${info.characters} characters · ${info.encoding} · ${info.segments} segment${plural}</div></div>`;
  return { html, sms: info };
}
