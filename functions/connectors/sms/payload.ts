/**
 * SMS: the message text itself (ACS `message`, Twilio `Body`). GSM-7 where the text allows, cut to
 * a segment budget so one hostile emoji or a 100k-character title cannot turn a page into a bill.
 */
import type { SmsReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { SMS_DEFAULT_MAX_SEGMENTS, normaliseSms, truncateSms } from '../../render/sms.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';

export interface SmsPayloadOptions {
  /** billed segments one message may take (GSM-7 153 / UCS-2 67 characters each when split) */
  maxSegments?: number;
}

export function buildSmsPayloadWith(options: SmsPayloadOptions = {}): PayloadBuilder<SmsReceiver> {
  return (input): OutboundRequest => {
    const maxSegments = options.maxSegments ?? input.receiver.maxSegments ?? SMS_DEFAULT_MAX_SEGMENTS;
    const raw = input.rendered.parts.text;
    if (typeof raw !== 'string') {
      throw new KitError('sms: the template must produce a "text" part', { kind: 'template', where: { field: 'text' } });
    }
    const text = normaliseSms(raw);
    if (text === '') throw new KitError('sms: the rendered text is empty', { kind: 'template', where: { field: 'text' } });
    const cut = truncateSms(text, { maxSegments });
    // the message text: the sender puts it in ACS `message` or Twilio `Body`
    return {
      format: 'sms.txt',
      method: 'POST',
      path: '',
      headers: {},
      contentType: 'text/plain; charset=utf-8',
      body: { text: cut.text },
      truncated: cut.truncated ? ['text'] : [],
    };
  };
}

export const buildSmsPayload: PayloadBuilder<SmsReceiver> = buildSmsPayloadWith();
