/**
 * The kit's and Microsoft's enum values in the words a person reads. Messages are read by people
 * (and spoken by Twilio): "closed as BenignPositive (notMalicious)" is an API leaking through.
 * Raw values stay in the context for comparisons (`eq incident.classification "TruePositive"`);
 * only output goes through here.
 */

const WORDS: Record<string, string> = {
  // classification (docs/LIFECYCLE.md "Classification")
  TruePositive: 'true positive',
  FalsePositive: 'false positive',
  BenignPositive: 'benign positive',
  InformationalExpectedActivity: 'informational, expected activity',
  Undetermined: 'undetermined',
  // Sentinel classificationReason
  SuspiciousActivity: 'suspicious activity',
  SuspiciousButExpected: 'suspicious but expected',
  IncorrectAlertLogic: 'incorrect alert logic',
  InaccurateData: 'inaccurate data',
  // Graph determination, both generations (docs/LIFECYCLE.md "Determination")
  apt: 'advanced persistent threat',
  malware: 'malware',
  securityPersonnel: 'security personnel',
  securityTesting: 'security testing',
  unwantedSoftware: 'unwanted software',
  other: 'other',
  multiStagedAttack: 'multi-staged attack',
  compromisedUser: 'compromised user',
  compromisedAccount: 'compromised account',
  phishing: 'phishing',
  maliciousUserActivity: 'malicious user activity',
  clean: 'clean',
  notMalicious: 'not malicious',
  insufficientData: 'insufficient data',
  notEnoughDataToValidate: 'not enough data to validate',
  confirmedUserActivity: 'confirmed user activity',
  confirmedActivity: 'confirmed activity',
  lineOfBusinessApplication: 'line-of-business application',
  // statuses: the kit's, and Graph's raw ones (rawStatus)
  New: 'new',
  Active: 'active',
  Closed: 'closed',
  Redirected: 'redirected',
  active: 'active',
  inProgress: 'in progress',
  awaitingAction: 'awaiting action',
  resolved: 'resolved',
  redirected: 'redirected',
  // severities
  Informational: 'informational',
  Low: 'low',
  Medium: 'medium',
  High: 'high',
  Unknown: 'unknown',
  unknown: 'unknown',
  unknownFutureValue: 'unknown',
  // owner kinds
  'defender-experts': 'Defender Experts',
  customer: 'customer',
  user: 'a user',
  unassigned: 'unassigned',
  // change kinds
  owner: 'owner',
  status: 'status',
  severity: 'severity',
  classification: 'classification',
  determination: 'determination',
  'tag-added': 'tag added',
  'tag-removed': 'tag removed',
  // moments
  'owner-defender-experts': 'owner changed to Defender Experts',
  'owner-customer': 'owner changed to Customer',
  'awaiting-customer-action': 'awaiting customer action',
  'status-active': 'status changed to Active',
  'status-closed': 'status changed to Closed',
};

const LOWER = new Map(Object.entries(WORDS).map(([k, v]) => [k.toLowerCase(), v]));

/** An identifier-shaped value (camelCase or PascalCase, no spaces): a value "kept as received". */
const IDENTIFIER = /^(?:[a-z]+|[A-Z][a-z0-9]+)(?:[A-Z][a-z0-9]+)+$/;

/**
 * "BenignPositive" → "benign positive", "notMalicious" → "not malicious", "inProgress" → "in
 * progress". A value the tables do not know is split into words only when it is shaped like an
 * identifier (a classification Microsoft added later); anything else — a name, free text — is
 * returned as it is.
 */
export function humanWords(value: string): string {
  const known = Object.prototype.hasOwnProperty.call(WORDS, value) ? WORDS[value] : LOWER.get(value.toLowerCase());
  if (known !== undefined) return known;
  if (IDENTIFIER.test(value)) return value.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return value;
}

/** Statuses and severities are names ("Active", "High") and read fine capitalised inside a sentence. */
export function humanValue(kind: string, value: string): string {
  if (kind === 'status' || kind === 'severity' || kind === 'owner' || kind === 'tag-added' || kind === 'tag-removed') return value;
  return humanWords(value);
}
