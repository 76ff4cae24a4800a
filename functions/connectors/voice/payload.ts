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

const xmlAttribute = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Where Twilio posts the key pressed: the receiver's ackUrl with the step named in the query, which Twilio's signature covers. */
export function voiceAckAction(ackUrl: string, receiverName: string, step: { idempotencyKey: string; incidentKey: string }): string {
  const url = new URL(ackUrl);
  url.searchParams.set('receiver', receiverName);
  url.searchParams.set('step', step.idempotencyKey);
  url.searchParams.set('incident', step.incidentKey);
  return url.toString();
}

export const ACK_PROMPT = 'To acknowledge this alert, press 1.';
export const NO_ACK_SAID = 'Nothing was pressed: the alert is not acknowledged. Goodbye.';
/** verbs Twilio allows inside <Gather> */
const ONLY_GATHERABLE = /^(?:\s|<(?:Say|Pause|Play)\b[^>]*\/>|<(Say|Play)\b[^>]*>[^<]*<\/\1>)*$/;

/**
 * With an ackUrl, the call asks for a key: the spoken text goes inside a <Gather> (so 1 may be pressed
 * while it is read), followed by the prompt; a template with other verbs gets the <Gather> at its end.
 * When nothing is pressed Twilio goes on to the next verb, which says so.
 */
function withAcknowledgement(body: string, action: string): string {
  const open = /^<Response(\s[^>]*)?>/.exec(body);
  const inner = open ? body.slice(open[0].length, body.length - '</Response>'.length) : '';
  const gather = (said: string) =>
    `<Gather input="dtmf" numDigits="1" timeout="10" method="POST" action="${xmlAttribute(action)}">${said}<Say>${ACK_PROMPT}</Say></Gather><Say>${NO_ACK_SAID}</Say>`;
  const head = open?.[0] ?? '<Response>';
  if (ONLY_GATHERABLE.test(inner)) return `${head}${gather(inner.trim())}</Response>`;
  return `${head}${inner}${gather('')}</Response>`;
}

export const buildVoicePayload: PayloadBuilder<VoiceReceiver> = (input): OutboundRequest => {
  const raw = input.rendered.parts.twiml;
  if (typeof raw !== 'string') throw templateError('the template must produce a "twiml" part');
  let body = raw.trim().replace(/^<\?xml[^>]*\?>\s*/, '');
  if (!/^<Response(\s[^>]*)?>[\s\S]*<\/Response>$/.test(body) && !/^<Response(\s[^>]*)?\/>$/.test(body)) {
    throw templateError('the TwiML must be one <Response>…</Response> document');
  }
  if (input.receiver.ackUrl !== undefined) {
    const selfClosed = /^<Response(\s[^>]*)?\/>$/.exec(body);
    if (selfClosed) body = `<Response${selfClosed[1] ?? ''}></Response>`;
    body = withAcknowledgement(body, voiceAckAction(input.receiver.ackUrl, input.receiverName, input.step));
  }
  const { doc, cut } = fitTwiml(`${XML_DECLARATION}\n${body}`);
  // the TwiML document: the sender puts it in the `Twiml` parameter of a Twilio Calls create
  return { format: 'twiml.xml', method: 'POST', path: '', headers: {}, contentType: 'application/xml; charset=utf-8', body: { text: doc }, truncated: cut ? ['twiml'] : [] };
};
