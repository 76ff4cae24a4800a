/**
 * What the Table clients put on the wire. The SDK serialises an entity with JSON.stringify, i.e. raw
 * UTF-8 for every non-ASCII character; Azurite 3.35 (`readRequestIntoText`) joins the request's chunks
 * as strings, decoding each one separately, so a character split across two TCP reads is stored as
 * U+FFFD U+FFFD. Which reads a request is cut into depends on load, so the corruption is intermittent.
 * Sending the same JSON with `\uXXXX` escapes makes every request body ASCII, which no split can damage,
 * and costs Azure nothing: its JSON reader stores the same strings (see the budget in encoding.ts).
 */
import type { TableServiceClientOptions } from '@azure/data-tables';
import { asciiJson } from './encoding.js';

type AdditionalPolicy = NonNullable<TableServiceClientOptions['additionalPolicies']>[number];

export const ASCII_JSON_POLICY_NAME = 'spkAsciiJsonBody';

const JSON_CONTENT = /^application\/json(?:;|$)/i;

/**
 * A per-call pipeline policy: it runs after the SDK's serialisation (the body is the entity's JSON text
 * by then) and before signing, retries and the HTTP client. The kit never sends table batches; a
 * transaction's multipart body is not JSON and is left alone, so using transactions would need the same
 * escaping inside each part.
 */
export function asciiJsonBodyPolicy(): AdditionalPolicy {
  return {
    position: 'perCall',
    policy: {
      name: ASCII_JSON_POLICY_NAME,
      sendRequest(request, next) {
        const body = request.body;
        const type = request.headers.get('Content-Type') ?? '';
        if (typeof body === 'string' && JSON_CONTENT.test(type)) {
          const ascii = asciiJson(body);
          if (ascii !== body) {
            request.body = ascii;
            // an earlier policy may have measured the UTF-8 body; an ASCII body is one byte per character
            if (request.headers.has('Content-Length')) request.headers.set('Content-Length', ascii.length);
          }
        }
        return next(request);
      },
    },
  };
}
