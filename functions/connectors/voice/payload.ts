/**
 * Voice: the TwiML document Twilio reads out (the `Twiml` parameter of a Calls create). Render
 * XML-escaped every incident field; this builder checks the document has a <Response> root and fits
 * Twilio's 4000-character limit by shortening the spoken text, never the markup.
 */
import type { VoiceReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';
import { measure, truncate } from '../truncate.js';

/** Twilio error 32018: "Twiml" longer than 4000 characters */
export const TWIML_MAX_CHARS = 4000;
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const SAY = /(<Say\b[^>]*>)([\s\S]*?)(<\/Say>)/g;

function templateError(message: string): KitError {
  return new KitError(`voice: ${message}`, { kind: 'template', where: { field: 'twiml' } });
}

/** Shortens the longest <Say> text first, cutting whole entities only, until the document fits. */
function fitTwiml(doc: string): { doc: string; cut: boolean } {
  let cut = false;
  for (let guard = 0; guard < 100 && measure(doc, 'utf16') > TWIML_MAX_CHARS; guard++) {
    const says = [...doc.matchAll(SAY)];
    const longest = says.sort((a, b) => (b[2] ?? '').length - (a[2] ?? '').length)[0];
    const text = longest?.[2] ?? '';
    if (!longest || text.length <= 20) break;
    const excess = measure(doc, 'utf16') - TWIML_MAX_CHARS;
    const shorter = truncate(text, Math.max(20, text.length - excess), { unit: 'utf16', markup: 'xml', ellipsis: '...' }).value;
    const start = (longest.index ?? 0) + (longest[1] ?? '').length;
    doc = doc.slice(0, start) + shorter + doc.slice(start + text.length);
    cut = true;
  }
  if (measure(doc, 'utf16') > TWIML_MAX_CHARS) throw templateError(`the TwiML is longer than ${TWIML_MAX_CHARS} characters even with its spoken text cut`);
  return { doc, cut };
}

export const buildVoicePayload: PayloadBuilder<VoiceReceiver> = (input): OutboundRequest => {
  const raw = input.rendered.parts.twiml;
  if (typeof raw !== 'string') throw templateError('the template must produce a "twiml" part');
  const body = raw.trim().replace(/^<\?xml[^>]*\?>\s*/, '');
  if (!/^<Response(\s[^>]*)?>[\s\S]*<\/Response>$/.test(body) && !/^<Response(\s[^>]*)?\/>$/.test(body)) {
    throw templateError('the TwiML must be one <Response>…</Response> document');
  }
  const { doc, cut } = fitTwiml(`${XML_DECLARATION}\n${body}`);
  // the TwiML document: the sender puts it in the `Twiml` parameter of a Twilio Calls create
  return { format: 'twiml.xml', method: 'POST', path: '', headers: {}, contentType: 'application/xml; charset=utf-8', body: { text: doc }, truncated: cut ? ['twiml'] : [] };
};
