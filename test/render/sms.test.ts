import { describe, expect, it } from 'vitest';
import { normaliseSms, smsEncoding, smsSegments, truncateSms } from '../../functions/render/sms.js';

describe('smsEncoding', () => {
  it('is GSM-7 for the default alphabet and its extension table', () => {
    expect(smsEncoding('Hello @£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!"#¤%&\'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n')).toBe('GSM-7');
    expect(smsEncoding('^{}\\[~]|€')).toBe('GSM-7');
  });

  it('is UCS-2 as soon as one character is outside GSM-7', () => {
    expect(smsEncoding('Hello 😀')).toBe('UCS-2');
    expect(smsEncoding('smart ’quote')).toBe('UCS-2');
    expect(smsEncoding('инцидент')).toBe('UCS-2');
    expect(smsEncoding('ç')).toBe('UCS-2');
  });
});

describe('smsSegments', () => {
  it('GSM-7: 160 in one segment, 153 per segment beyond', () => {
    expect(smsSegments('')).toBe(0);
    expect(smsSegments('a'.repeat(160))).toBe(1);
    expect(smsSegments('a'.repeat(161))).toBe(2);
    expect(smsSegments('a'.repeat(306))).toBe(2);
    expect(smsSegments('a'.repeat(307))).toBe(3);
    expect(smsSegments('a'.repeat(459))).toBe(3);
  });

  it('GSM-7: extension characters like € count double and are never split across segments', () => {
    expect(smsSegments('€'.repeat(80))).toBe(1);
    expect(smsSegments('€'.repeat(81))).toBe(2);
    expect(smsSegments('a'.repeat(159) + '€')).toBe(2);
    // 152 septets then an escape pair: the pair moves whole to the second segment, so 306 septets
    // (which would fill two segments exactly) need three
    expect(smsSegments('a'.repeat(152) + '€' + 'a'.repeat(151))).toBe(2);
    expect(smsSegments('a'.repeat(152) + '€' + 'a'.repeat(152))).toBe(3);
  });

  it('UCS-2: 70 in one segment, 67 per segment beyond, surrogate pairs kept whole', () => {
    expect(smsSegments('ж'.repeat(70))).toBe(1);
    expect(smsSegments('ж'.repeat(71))).toBe(2);
    expect(smsSegments('ж'.repeat(134))).toBe(2);
    expect(smsSegments('ж'.repeat(135))).toBe(3);
    expect(smsSegments('😀'.repeat(35))).toBe(1);
    expect(smsSegments('😀'.repeat(36))).toBe(2);
    // 66 units then an emoji (2 units): it cannot straddle the 67-unit boundary
    expect(smsSegments('ж'.repeat(66) + '😀' + 'ж'.repeat(66))).toBe(3);
  });
});

describe('normaliseSms', () => {
  it('transliterates smart punctuation and accents to GSM-7 and drops emoji', () => {
    const out = normaliseSms('“Owner” changed – to Defender Experts… at café façade ✅🔥 naïve');
    expect(out).toBe('"Owner" changed - to Defender Experts... at café façade naive'.replace('façade', 'fa\u00C7ade'));
    expect(smsEncoding(out)).toBe('GSM-7');
  });

  it('keeps letters GSM-7 cannot spell, so the message goes as UCS-2 rather than losing the name', () => {
    const out = normaliseSms('Инцидент 42 😀 on WS-01');
    expect(out).toBe('Инцидент 42 on WS-01');
    expect(smsEncoding(out)).toBe('UCS-2');
  });

  it('drops symbols that have no GSM-7 form when nothing else needs UCS-2', () => {
    expect(normaliseSms('Alert ★ ☂ done')).toBe('Alert done');
  });

  it('removes control and bidi-override characters', () => {
    expect(normaliseSms('a\u0000b\u202Ec\u0007d')).toBe('abcd');
  });
});

describe('truncateSms', () => {
  it('leaves a message that fits alone', () => {
    expect(truncateSms('short')).toEqual({ text: 'short', truncated: false, segments: 1, encoding: 'GSM-7' });
  });

  it('cuts GSM-7 to the segment budget with a GSM-7 ellipsis', () => {
    const r = truncateSms('word '.repeat(200), { maxSegments: 3 });
    expect(r.truncated).toBe(true);
    expect(r.text.endsWith('...')).toBe(true);
    expect(r.encoding).toBe('GSM-7');
    expect(r.segments).toBe(3);
    expect(r.text.length).toBeLessThanOrEqual(459);
    expect(r.text.length).toBeGreaterThan(450);
  });

  it('cuts UCS-2 to the segment budget with "…" and never halves a surrogate pair', () => {
    const r = truncateSms('😀'.repeat(300), { maxSegments: 2 });
    expect(r.segments).toBe(2);
    expect(r.encoding).toBe('UCS-2');
    expect(r.text.endsWith('…')).toBe(true);
    expect(r.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('honours the 1600-character cap even with a generous segment budget', () => {
    const r = truncateSms('a'.repeat(5000), { maxSegments: 20 });
    expect(r.text.length).toBeLessThanOrEqual(1600);
    expect(r.truncated).toBe(true);
  });

  const SENTINEL =
    'https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/rg-sentinel/providers/Microsoft.OperationalInsights/workspaces/law-sentinel/providers/Microsoft.SecurityInsights/Incidents/0b7d0c1e-3104-4c7d-9e10-2b4f6a8c3104';
  const LINE = 'Sentinel Medium incident 3104: Status changed from Active to Closed. Closed as benign positive.\nImpossible travel: sign-ins from two countries within 20 minutes\n';

  it('never cuts inside a link: it shortens the other text first', () => {
    const r = truncateSms(`${LINE}${SENTINEL}`, { maxSegments: 3 });
    expect(r.segments).toBeLessThanOrEqual(3);
    expect(r.text.endsWith(`\n${SENTINEL}`)).toBe(true);
    expect(r.text).toMatch(/\.\.\.\n/);
  });

  it('drops a link whole when even short text would not leave room for it', () => {
    for (const maxSegments of [1, 2]) {
      const r = truncateSms(`${LINE}${SENTINEL}`, { maxSegments });
      expect(r.segments).toBeLessThanOrEqual(maxSegments);
      expect(r.text).not.toContain('https://');
      expect(r.text).toContain('Sentinel Medium incident 3104');
    }
  });

  it('keeps a short link whole after the cut text, wherever the cut falls', () => {
    const url = 'https://security.microsoft.com/incidents/3101';
    for (let n = 100; n < 400; n += 7) {
      const r = truncateSms(`${'x'.repeat(n)} ${url} tail ${'y'.repeat(n)}`, { maxSegments: 1 });
      expect(r.segments).toBe(1);
      for (const link of r.text.match(/https?:\/\/\S+/g) ?? []) expect(link).toBe(url);
      expect(r.text).toContain(url);
    }
  });
});
