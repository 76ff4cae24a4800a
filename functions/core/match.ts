/**
 * Playbook matching: which playbooks an event reaches, and through which of its changes.
 * A playbook's `on:` holds triggers (any one may match a change) and filters (all must hold).
 */
import type { PlaybookConfig, Trigger } from '../config/schema.js';
import { severityRank, type Change, type Incident, type Severity, type Source } from './model.js';

export interface PlaybookMatch {
  playbook: PlaybookConfig;
  /** the changes that fired it, in detection order */
  changes: Change[];
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const same = (a: string | null, b: string) => a !== null && a.trim().toLowerCase() === b.trim().toLowerCase();

export function triggerMatches(on: Trigger, change: Change): boolean {
  switch (change.kind) {
    case 'owner':
      return list(on.ownerChangedTo).some((v) => same(change.to, v));
    case 'status':
      return list(on.statusChangedTo).some((v) => same(change.to, v));
    case 'tag-added':
      return list(on.tagAdded).some((v) => same(change.to, v));
    case 'tag-removed':
      return list(on.tagRemoved).some((v) => same(change.from, v));
    case 'severity': {
      if (!on.severityRaisedTo || !change.to) return false;
      const to = severityRank(change.to as Severity);
      const from = change.from ? severityRank(change.from as Severity) : -1;
      const floor = severityRank(on.severityRaisedTo);
      return to >= floor && from < floor;
    }
    case 'classification':
    case 'determination': {
      if (on.classificationSet === undefined || !change.to) return false;
      if (on.classificationSet === true) return true;
      return list(on.classificationSet).some((v) => same(change.to, v));
    }
  }
}

export function filtersHold(on: Trigger, incident: Incident, source: Source): boolean {
  if (on.severityAtLeast && severityRank(incident.severity) < severityRank(on.severityAtLeast)) return false;
  if (on.provider && !list(on.provider).some((p) => same(incident.provider, p))) return false;
  if (on.source && on.source !== source) return false;
  if (on.titleMatches) {
    let re: RegExp;
    try {
      re = new RegExp(on.titleMatches, 'i');
    } catch {
      return false;
    }
    if (!re.test(incident.title)) return false;
  }
  return true;
}

export function matchPlaybooks(playbooks: readonly PlaybookConfig[], incident: Incident, changes: readonly Change[]): PlaybookMatch[] {
  const matches: PlaybookMatch[] = [];
  for (const playbook of playbooks) {
    if (!playbook.enabled) continue;
    const fired = changes.filter((c) => triggerMatches(playbook.on, c));
    if (fired.length === 0) continue;
    if (!filtersHold(playbook.on, incident, incident.source)) continue;
    matches.push({ playbook, changes: fired });
  }
  return matches;
}
