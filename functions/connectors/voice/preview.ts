/** A TwiML call script as what the callee hears and is asked to do, verb by verb. */
import { KitError } from '../../core/errors.js';
import { escapeHtml } from '../../render/escape.js';
import type { KindPreview, PreviewFile } from '../outbox/preview/entry.js';
import { malformed } from '../outbox/preview/malformed.js';
import { MAX_DEPTH, placeholder } from '../outbox/preview/markup.js';
import { parseXml, xmlText, type XmlElement } from './twiml-reader.js';

function attrList(el: XmlElement, names: string[]): string {
  const shown = names.filter((n) => el.attrs[n] !== undefined).map((n) => `${n}=${el.attrs[n]}`);
  return shown.length ? ` <span class="muted">(${escapeHtml(shown.join(', '))})</span>` : '';
}

function twimlVerb(el: XmlElement, depth: number): string {
  if (depth > MAX_DEPTH) return `<li>${placeholder('verbs nested deeper than the preview follows')}</li>`;
  const nested = (): string => {
    const inner = el.children.filter((c): c is XmlElement => typeof c !== 'string');
    return inner.length ? `<ol class="call-script">${inner.map((c) => twimlVerb(c, depth + 1)).join('')}</ol>` : '';
  };
  switch (el.name) {
    case 'Say':
      return `<li class="call-say"><span class="verb">Says</span>${attrList(el, ['voice', 'language'])}<blockquote class="spoken">${escapeHtml(xmlText(el))}</blockquote></li>`;
    case 'Play':
      return `<li><span class="verb">Plays audio</span> ${escapeHtml(xmlText(el) || '(no URL)')}${attrList(el, ['loop', 'digits'])}</li>`;
    case 'Pause':
      return `<li><span class="verb">Pauses</span> ${escapeHtml(el.attrs.length ?? '1')} s</li>`;
    case 'Gather':
      return `<li><span class="verb">Waits for keypad input</span>${attrList(el, ['numDigits', 'timeout', 'finishOnKey', 'input', 'action', 'method'])}${nested()}</li>`;
    case 'Dial':
      return `<li><span class="verb">Dials</span> ${escapeHtml(xmlText(el))}${attrList(el, ['callerId', 'timeout'])}</li>`;
    case 'Hangup':
      return '<li><span class="verb">Hangs up</span></li>';
    case 'Reject':
      return `<li><span class="verb">Rejects the call</span>${attrList(el, ['reason'])}</li>`;
    case 'Redirect':
      return `<li><span class="verb">Continues with the TwiML at</span> ${escapeHtml(xmlText(el))}</li>`;
    case 'Record':
      return `<li><span class="verb">Records the caller</span>${attrList(el, ['maxLength', 'action'])}</li>`;
    case 'Sms':
    case 'Message':
      return `<li><span class="verb">Sends a text</span>${attrList(el, ['to'])}: ${escapeHtml(xmlText(el))}</li>`;
    default:
      return `<li>${placeholder(`TwiML verb <${el.name}>`)}</li>`;
  }
}

export function voicePreview({ entry }: PreviewFile): KindPreview {
  let root: XmlElement;
  try {
    root = parseXml(entry.body);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new KitError(`${entry.path}: not well-formed XML (${detail})`, { kind: 'validation', where: { file: entry.path }, cause: e });
  }
  if (root.name !== 'Response') throw malformed(entry, `the TwiML root must be <Response>, not <${root.name}>`);
  const verbs = root.children.filter((c): c is XmlElement => typeof c !== 'string');
  const html = `<div class="call"><div class="call-head">Phone call script</div>${
    verbs.length ? `<ol class="call-script">${verbs.map((v) => twimlVerb(v, 0)).join('')}</ol>` : '<p class="muted">The call says nothing.</p>'
  }</div>`;
  return { html };
}
