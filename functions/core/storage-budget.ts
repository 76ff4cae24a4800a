/**
 * What one Azure Table entity can hold, counted the way both Azure and Azurite count it. Pure, so the
 * planner can fit a snapshot to it before anything is written and the stores can enforce the same numbers.
 */

/**
 * Table entity budget. Two services count it differently, and the kit keeps to both:
 *
 * - Azure counts what it stores: a string property holds at most 64 KiB of UTF-16 (32 Ki code units),
 *   an entity at most 1 MiB. The `\uXXXX` escapes the kit puts on the wire (see `asciiJson`) are undone
 *   by the service's JSON reader before anything is stored, so they do not count there.
 * - Azurite 3.35 refuses a Replace/Upsert whose raw request body exceeds 1 MiB (UTF-8 bytes of the body
 *   as sent, escapes included) and an Insert body over 4 MiB. With every non-ASCII code unit sent as a
 *   six-character escape, text can take up to six times its stored size on the wire.
 *
 * So a JSON value must fit `MAX_CHUNKS` properties of `CHUNK_CHARS` code units (Azure) *and* its
 * escaped form, as it appears inside the entity body (a JSON string, so its own quotes and backslashes
 * double too), must fit `MAX_JSON_WIRE_CHARS` (Azurite). The in-memory adapter checks both, so what a
 * test or `--memory` run stores would fit either service.
 */
/** A Table string property holds 64 KiB of UTF-16, i.e. 32 Ki code units; stay a little under. */
export const CHUNK_CHARS = 32_000;
/** An entity is at most 1 MiB; 15 full chunks (~0.94 MiB of UTF-16) leave room for the other properties. */
export const MAX_CHUNKS = 15;
export const MAX_JSON_CHARS = CHUNK_CHARS * MAX_CHUNKS;
/**
 * Azurite's 1 MiB request-body ceiling, less room for everything else in the body: the keys (≤ 513
 * characters each), the original id (≤ 1,024 code units, ~12 KiB escaped for a ticket's pair of ids),
 * status, chunk count and the `"jsonN":` property names.
 */
export const MAX_JSON_WIRE_CHARS = 1_048_576 - 24_576;
/**
 * JSON text with every non-ASCII UTF-16 code unit written as a `\uXXXX` escape: the same JSON value,
 * in bytes that are all ASCII. However a network or a server splits such a body into chunks, no chunk
 * can end inside a character (Azurite 3.35 decodes each chunk of a table request on its own and turns a
 * split UTF-8 character into U+FFFD). Outside strings JSON is ASCII already, so only string contents
 * change; surrogate pairs become two escapes, which JSON defines as the same astral character.
 */
export function asciiJson(json: string): string {
  return json.replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How many characters a string takes as an ASCII-escaped JSON string value in a request body. */
export function wireChars(value: string): number {
  return asciiJson(JSON.stringify(value)).length;
}

/** Whether JSON text fits one table entity on Azure and on Azurite (see the budget above). */
export function fitsTableEntity(json: string): boolean {
  return json.length <= MAX_JSON_CHARS && wireChars(json) <= MAX_JSON_WIRE_CHARS;
}

