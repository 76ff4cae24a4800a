/** Twilio's request signature as Twilio documents it, and what verifyVoiceAck accepts and refuses. */
import { describe, expect, it } from 'vitest';
import { signedUrl, twilioSignature, verifyVoiceAck } from '../../functions/connectors/voice/ack.js';
import { KitError } from '../../functions/core/errors.js';

describe('twilioSignature', () => {
  // the examples of Twilio's "Validating requests" documentation and its api-snippets (node and PHP)
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  it('matches Twilio\'s published examples', () => {
    expect(twilioSignature('12345', url, Object.entries({ CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' }))).toBe(
      'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
    );
    expect(twilioSignature('12345', url, Object.entries({ CallSid: 'CA1234567890ABCDE', Caller: '+14158675310', Digits: '1234', From: '+14158675310', To: '+18005551212' }))).toBe(
      'GvWf1cFY/Q7PnoempGyD5oXAezc=',
    );
  });

  it('does not depend on the order the parameters arrive in', () => {
    const params: Array<[string, string]> = [['To', '+18005551212'], ['CallSid', 'CA1'], ['Digits', '1']];
    expect(twilioSignature('t', url, params)).toBe(twilioSignature('t', url, [...params].reverse()));
  });
});

describe('signedUrl', () => {
  it('takes scheme, host and path from the configured ackUrl and the query from the request', () => {
    expect(signedUrl('https://spk.azurewebsites.net/api/ack/voice', 'http://localhost:7071/api/ack/voice?receiver=a&step=b')).toBe(
      'https://spk.azurewebsites.net/api/ack/voice?receiver=a&step=b',
    );
  });
});

describe('verifyVoiceAck', () => {
  const accountSid = `AC${'a'.repeat(32)}`;
  const ackUrl = 'https://spk.azurewebsites.net/api/ack/voice';
  const requestUrl = `${ackUrl}?receiver=soc-lead-call&step=${'b'.repeat(64)}&incident=3101`;
  const form = { AccountSid: accountSid, CallSid: `CA${'c'.repeat(32)}`, To: '+14255550123', Digits: '1' };
  const body = new URLSearchParams(form).toString();
  const signature = twilioSignature('token', requestUrl, Object.entries(form));
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as KitError;
    }
    throw new Error('expected a refusal');
  };

  it('returns who pressed what on which call for a request Twilio signed', () => {
    expect(verifyVoiceAck({ ackUrl, requestUrl, body, signature, authToken: 'token', accountSid })).toEqual({
      receiver: 'soc-lead-call',
      stepKey: 'b'.repeat(64),
      incidentKey: '3101',
      callSid: form.CallSid,
      accountSid,
      called: '+14255550123',
      digits: '1',
    });
  });

  it('refuses a changed body, another token, another account, a missing CallSid and a step that is no step key', () => {
    expect(refusal(() => verifyVoiceAck({ ackUrl, requestUrl, body: body.replace('Digits=1', 'Digits=9'), signature, authToken: 'token', accountSid })).statusCode).toBe(403);
    expect(refusal(() => verifyVoiceAck({ ackUrl, requestUrl, body, signature, authToken: 'other', accountSid })).statusCode).toBe(403);
    expect(refusal(() => verifyVoiceAck({ ackUrl, requestUrl, body, signature, authToken: 'token', accountSid: `AC${'d'.repeat(32)}` })).statusCode).toBe(403);
    const noCall = { AccountSid: accountSid, Digits: '1' };
    const noCallSignature = twilioSignature('token', requestUrl, Object.entries(noCall));
    expect(refusal(() => verifyVoiceAck({ ackUrl, requestUrl, body: new URLSearchParams(noCall).toString(), signature: noCallSignature, authToken: 'token', accountSid })).statusCode).toBe(400);
    expect(refusal(() => verifyVoiceAck({ ackUrl, requestUrl: requestUrl.replace('b'.repeat(64), 'not-a-key'), body, signature, authToken: 'token', accountSid })).statusCode).toBe(400);
  });
});
