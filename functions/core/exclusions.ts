/**
 * Exclusions: devices, users and groups the kit must never act on. An incident that involves one still
 * reaches people — marked "manual action required" — but gets no automated action.
 */
import type { Exclusions } from '../config/schema.js';
import type { Incident } from './model.js';

/** `*` and `?` globs, case-insensitive, whole-value match; anything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

function firstMatch(patterns: readonly string[], values: Array<string | null | undefined>): string | null {
  for (const p of patterns) {
    const re = globToRegExp(p.trim());
    for (const v of values) if (v && re.test(v.trim())) return p;
  }
  return null;
}

/** e.g. ["device:WS-FIN-042 (WS-FIN-*)", "user:alexw@contoso.com"]; empty when nothing is excluded */
export function matchExclusions(exclusions: Exclusions, incident: Incident): string[] {
  const hits: string[] = [];
  for (const d of incident.devices) {
    const hostOnly = d.name.split('.')[0];
    const p = firstMatch(exclusions.devices, [d.name, hostOnly]);
    if (p) hits.push(`device:${d.name}${p.toLowerCase() === d.name.toLowerCase() ? '' : ` (${p})`}`);
  }
  for (const u of incident.users) {
    const p = firstMatch(exclusions.users, [u.name, u.userPrincipalName, u.objectId]);
    const label = u.userPrincipalName ?? u.name;
    if (p) hits.push(`user:${label}${p.toLowerCase() === label.toLowerCase() ? '' : ` (${p})`}`);
  }
  for (const g of incident.groups) {
    const p = firstMatch(exclusions.groups, [g]);
    if (p) hits.push(`group:${g}${p.toLowerCase() === g.toLowerCase() ? '' : ` (${p})`}`);
  }
  return [...new Set(hits)];
}
