/**
 * Where JSON text first goes wrong, as an offset: V8's messages carry a position only for some
 * errors, and the template author needs a line and column in the template, not in the output.
 * Accepts exactly what JSON.parse accepts.
 */

export interface JsonFault {
  /** offset in the text of the first character that cannot be there */
  at: number;
  message: string;
}

const WS = new Set([' ', '\t', '\n', '\r']);

export function findJsonFault(text: string): JsonFault | null {
  let i = 0;
  const fail = (message: string): never => {
    throw { at: i, message } satisfies JsonFault;
  };
  const ws = () => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  const what = () => (i >= text.length ? 'the end of the text' : JSON.stringify(text[i]));
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${what()}`);
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('a string is not closed');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail('a line break or control character inside a string (write \\n)');
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('a bad escape in a string');
        continue;
      }
      i++;
    }
  };
  const number = () => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(`unexpected ${what()}`);
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'a comma before "}"' : `expected a "key" but found ${what()}`);
        string();
        ws();
        if (text[i] !== ':') fail(`expected ":" but found ${what()}`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected "," or "}" but found ${what()}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail('a comma before "]"');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected "," or "]" but found ${what()}`);
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    fail(`unexpected ${what()}`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${what()} after the end of the JSON`);
    return null;
  } catch (e) {
    if (e && typeof e === 'object' && 'at' in e) return e as JsonFault;
    throw e;
  }
}
