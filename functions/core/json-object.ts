/** The one test for "a JSON object" (not null, not an array) the kit uses wherever it reads untyped JSON. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
