/**
 * The outbox preview page: every outbox file shown as the person or ticket system will see it.
 * preview/bodies.ts renders one file, preview/facts.ts reads incident numbers, titles and moments out
 * of the files, preview/page.ts lays out the timelines and the views.
 */
export { renderPreviewPage, PAGE_CSP, FIT_FRAMES_SCRIPT, type PreviewOptions } from './preview/page.js';
export {
  PREVIEW_CSP,
  adfToHtml,
  parseXml,
  parseFailed,
  safeHttpUrl,
  slackMrkdwnToHtml,
  smsSegmentInfo,
  type FailedDelivery,
  type PreviewEntry,
  type SmsEncoding,
  type SmsSegmentInfo,
} from './preview/bodies.js';
export { factsOf, momentsOf, type EntryFacts, type Moment } from './preview/facts.js';
