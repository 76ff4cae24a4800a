/** Reading fields of an untrusted JSON document without trusting their types. */

/** The field as text: a string as is, a number or boolean spelled out, anything else empty. */
export function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

/** The field when it is an array, else an empty one. */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Picks a value from a fixed vocabulary so attacker text never becomes a class name. */
export function oneOf<T extends string>(v: unknown, allowed: readonly T[]): T | null {
  if (typeof v !== 'string') return null;
  const lower = v.toLowerCase();
  return allowed.find((a) => a.toLowerCase() === lower) ?? null;
}
