// Writes samples/defender-experts-day.jsonl: one realistic day of Defender Experts work, as the kit
// receives it — Sentinel incident-trigger bodies (push) and Graph security incidents (poll). Shapes
// follow the Sentinel trigger body and the Graph security/incidents resource. Re-run after editing;
// the output is deterministic.
import { writeFileSync } from 'node:fs';

const SUB = 'd0cfe6b2-9ac0-4464-9919-dccaee2e48c0';
const RG = 'rg-sentinel';
const WS = 'law-sentinel';
const WSID = '8d300aff-d535-4430-9eef-3046965c48cf';
const TENANT = 'b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c';
const DAY = '2026-11-26';
const t = (hhmm, s = 0) => `${DAY}T${hhmm}:${String(s).padStart(2, '0')}.000Z`;
let seq = 0;
const uuid = (n) => `6f2c8d1e-5a3b-4c7d-9e10-${String(n).padStart(12, '0')}`;

function host(name, fqdnSuffix = 'contoso.com') {
  return { id: `/subscriptions/${SUB}/.../Entities/host-${name}`, name: `host-${name}`, type: 'Microsoft.SecurityInsights/Entities', kind: 'Host', properties: { hostName: name, dnsDomain: fqdnSuffix, friendlyName: name } };
}
function account(name, upnSuffix) {
  return { id: `/subscriptions/${SUB}/.../Entities/acct-${name}`, name: `acct-${name}`, type: 'Microsoft.SecurityInsights/Entities', kind: 'Account', properties: { accountName: name, upnSuffix, friendlyName: name } };
}
function alert(name, product, tactics, when) {
  return {
    id: `/subscriptions/${SUB}/.../Entities/${name.replace(/\W+/g, '-').toLowerCase()}`,
    name: name.replace(/\W+/g, '-').toLowerCase(),
    type: 'Microsoft.SecurityInsights/Entities',
    kind: 'SecurityAlert',
    properties: { alertDisplayName: name, productName: product, severity: 'High', status: 'New', tactics, startTimeUtc: when, endTimeUtc: when, timeGenerated: when, friendlyName: name },
  };
}

/** a Sentinel incident-trigger body; `updates` present for update-triggered runs */
function sentinel(inc, updates) {
  const name = inc.name;
  const armId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.OperationalInsights/workspaces/${WS}/providers/Microsoft.SecurityInsights/Incidents/${name}`;
  const body = {
    eventUniqueId: uuid(++seq),
    objectSchemaType: 'Incident',
    objectEventType: updates ? 'Update' : 'Create',
    workspaceInfo: { SubscriptionId: SUB, ResourceGroupName: RG, WorkspaceName: WS },
    workspaceId: WSID,
    object: {
      id: armId,
      name,
      etag: `"${String(seq).padStart(4, '0')}bf09-0000-0000-0000-5c37296e0001"`,
      type: 'Microsoft.SecurityInsights/Incidents',
      properties: {
        title: inc.title,
        description: inc.description ?? '',
        severity: inc.severity,
        status: inc.status,
        classification: inc.classification ?? null,
        classificationReason: inc.classificationReason ?? null,
        classificationComment: inc.classificationComment ?? null,
        owner: { objectId: null, email: null, assignedTo: inc.owner ?? null, userPrincipalName: null, ownerType: inc.owner ? 'Unknown' : null },
        labels: (inc.labels ?? []).map((labelName) => ({ labelName, labelType: 'User' })),
        firstActivityTimeUtc: inc.created,
        lastActivityTimeUtc: inc.created,
        lastModifiedTimeUtc: inc.at,
        createdTimeUtc: inc.created,
        incidentNumber: inc.number,
        additionalData: {
          alertsCount: inc.alerts.length,
          bookmarksCount: 0,
          commentsCount: 0,
          alertProductNames: [...new Set(inc.alerts.map((a) => a.properties.productName))],
          tactics: [...new Set(inc.alerts.flatMap((a) => a.properties.tactics))],
          techniques: [],
          ...(inc.xdrId ? { providerIncidentUrl: `https://security.microsoft.com/incidents/${inc.xdrId}?tid=${TENANT}` } : {}),
        },
        relatedAnalyticRuleIds: [],
        incidentUrl: `https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident${armId}`,
        providerName: inc.xdrId ? 'Microsoft Defender XDR' : 'Azure Sentinel',
        providerIncidentId: inc.xdrId ?? null,
        alerts: inc.alerts,
        bookmarks: [],
        relatedEntities: inc.entities ?? [],
        comments: [],
      },
    },
  };
  if (updates) {
    body.incidentUpdates = {
      updatedFields: updates.fields,
      updatedBy: { name: updates.by ?? 'Microsoft Defender XDR' },
      labels: (updates.labels ?? []).map((labelName) => ({ labelName })),
      alerts: [],
      comments: [],
      tactics: [],
    };
  }
  return body;
}

/** a Graph security/incidents resource as the poller reads it (Prefer: include-unknown-enum-members) */
function graph(inc) {
  return {
    '@odata.type': '#microsoft.graph.security.incident',
    id: inc.xdrId,
    tenantId: TENANT,
    displayName: inc.title,
    incidentWebUrl: `https://security.microsoft.com/incidents/${inc.xdrId}?tid=${TENANT}`,
    redirectIncidentId: null,
    createdDateTime: inc.created,
    lastUpdateDateTime: inc.at,
    assignedTo: inc.owner ?? null,
    classification: inc.classification ?? 'unknown',
    determination: inc.determination ?? 'unknown',
    status: inc.status,
    severity: inc.severity,
    priorityScore: inc.priorityScore ?? null,
    customTags: inc.customTags ?? [],
    systemTags: inc.systemTags ?? [],
    description: inc.description ?? null,
    summary: null,
    lastModifiedBy: 'Defender Experts',
    resolvingComment: inc.resolvingComment ?? null,
    comments: inc.comments ?? [],
    ...(inc.alerts ? { alerts: inc.alerts } : {}),
  };
}

const lines = [];
const push = (o) => lines.push(JSON.stringify(o));

// ── Incident 3101 (Sentinel push): the whole Defender Experts arc on a workstation ──────────────
const i3101 = {
  name: '0b7d0c1e-3101-4c7d-9e10-2b4f6a8c3101', xdrId: '3101', number: 3101,
  title: 'Multi-stage incident involving Initial access & Command and control on one endpoint',
  description: 'Raspberry Robin worm activity from an infected USB drive on WS-FIN-042.',
  severity: 'High', created: t('07:58'),
  alerts: [alert('Suspicious USB activity', 'Microsoft Defender for Endpoint', ['InitialAccess'], t('07:55')), alert('Raspberry Robin worm detected', 'Microsoft Defender for Endpoint', ['CommandAndControl'], t('07:56'))],
  entities: [host('WS-FIN-042'), account('alexw', 'contoso.com')],
};
push(sentinel({ ...i3101, status: 'Active', owner: 'Defender Experts', labels: [], at: t('08:05') }, { fields: ['Owner', 'Status'] }));

// ── Incident 3102 (Graph poll): experts pick it up, then close it as a false positive ──────────
const i3102 = {
  xdrId: '3102', title: 'Suspicious PowerShell download cradle on SRV-APP07', severity: 'medium', created: t('08:10'),
  description: 'Encoded PowerShell fetched a script from an external host.',
  alerts: [{ '@odata.type': '#microsoft.graph.security.alert', id: 'da3102a1', title: 'Suspicious PowerShell command line', serviceSource: 'microsoftDefenderForEndpoint', severity: 'medium', mitreTechniques: ['T1059.001'], evidence: [{ '@odata.type': '#microsoft.graph.security.deviceEvidence', deviceDnsName: 'srv-app07.contoso.com', mdeDeviceId: 'a3102d' }] }],
};
push(graph({ ...i3102, status: 'inProgress', owner: 'Defender Experts', at: t('08:21') }));

// ── Incident 3103 (Graph poll, then the same moment via Sentinel): excluded domain controller ──
const i3103g = {
  xdrId: '3103', title: 'Credential theft (LSASS access) on SRV-DC01', severity: 'high', created: t('09:02'),
  description: 'Defender Experts confirmed LSASS memory access by an unsigned binary on the domain controller. Isolate SRV-DC01 and reset the krbtgt account twice.',
  alerts: [{ '@odata.type': '#microsoft.graph.security.alert', id: 'da3103a1', title: 'Suspicious access to LSASS service', serviceSource: 'microsoftDefenderForEndpoint', severity: 'high', evidence: [{ '@odata.type': '#microsoft.graph.security.deviceEvidence', deviceDnsName: 'SRV-DC01.contoso.com', mdeDeviceId: 'a3103d' }] }],
};
push(graph({ ...i3103g, status: 'inProgress', owner: 'Defender Experts', systemTags: ['Defender Experts'], at: t('09:15') }));

// ── Incident 3104 (Sentinel-native, no Defender id): an analyst starts on it ───────────────────
const i3104 = {
  name: '0b7d0c1e-3104-4c7d-9e10-2b4f6a8c3104', number: 3104,
  title: 'Impossible travel: sign-ins from two countries within 20 minutes',
  description: 'Entra ID sign-in logs show Contoso VPN and an unknown ISP 8,000 km apart.',
  severity: 'Medium', created: t('09:30'),
  alerts: [alert('Impossible travel activity', 'Azure Active Directory Identity Protection', ['InitialAccess'], t('09:28'))],
  entities: [account('meganb', 'contoso.com')],
};
push(sentinel({ ...i3104, status: 'Active', owner: 'Defender Experts', at: t('09:41') }, { fields: ['Status', 'Owner'] }));

// 3101: experts hand over: true positive, customer must act (owner → Customer, tag added)
push(sentinel({ ...i3101, status: 'Active', owner: 'Customer', labels: ['Defender Experts', 'Awaiting Customer Action'], at: t('10:12') }, { fields: ['Owner', 'Labels'], labels: ['Defender Experts', 'Awaiting Customer Action'] }));

// 3103: experts need the customer to act, but the DC is excluded → guidance only
push(graph({ ...i3103g, status: 'awaitingAction', owner: 'Customer', classification: 'truePositive', determination: 'compromisedAccount', systemTags: ['Defender Experts'], at: t('10:30') }));
// …and the same moment arrives through Sentinel a few minutes later: nothing new
const i3103s = { name: '0b7d0c1e-3103-4c7d-9e10-2b4f6a8c3103', xdrId: '3103', number: 3103, title: i3103g.title, description: i3103g.description, severity: 'High', created: t('09:02'), alerts: [alert('Suspicious access to LSASS service', 'Microsoft Defender for Endpoint', ['CredentialAccess'], t('09:00'))], entities: [host('SRV-DC01'), account('svc-backup', 'contoso.com')] };
push(sentinel({ ...i3103s, status: 'Active', owner: 'Customer', labels: ['Defender Experts', 'Awaiting Customer Action'], at: t('10:34') }, { fields: ['Owner', 'Labels'], labels: ['Awaiting Customer Action'] }));

// 3101: somebody adds another tag while "Awaiting Customer Action" stays: the automation rule re-fires; the kit drops it
push(sentinel({ ...i3101, status: 'Active', owner: 'Customer', labels: ['Defender Experts', 'Awaiting Customer Action', 'USB'], at: t('10:50') }, { fields: ['Labels'], labels: ['USB'] }));

// 3102: experts close it: false positive, unassigned (new-generation determination value)
push(graph({ ...i3102, status: 'resolved', owner: null, classification: 'falsePositive', determination: 'notMalicious', resolvingComment: 'Approved admin script (change CHG-2231).', at: t('11:05') }));

// ── Incident 3105 (Graph poll): a phishing account compromise, remediated by the experts ───────
const i3105 = {
  xdrId: '3105', title: 'Email messages containing malicious URL removed after delivery', severity: 'high', created: t('11:20'),
  description: 'Three users clicked a credential-phishing link; one signed in from the phishing kit.',
  alerts: [{ '@odata.type': '#microsoft.graph.security.alert', id: 'da3105a1', title: 'User clicked malicious URL', serviceSource: 'microsoftDefenderForOffice365', severity: 'high', evidence: [{ '@odata.type': '#microsoft.graph.security.userEvidence', userAccount: { accountName: 'patti', userPrincipalName: 'pattif@contoso.com', displayName: 'Patti Fernandez' } }] }],
};
push(graph({ ...i3105, status: 'inProgress', owner: 'Defender Experts', at: t('11:31') }));
// 3104: the analyst closes it
push(sentinel({ ...i3104, status: 'Closed', owner: 'Defender Experts', classification: 'BenignPositive', classificationReason: 'SuspiciousButExpected', classificationComment: 'Travelling user on hotel Wi-Fi.', at: t('12:02') }, { fields: ['Status'] }));
// the Logic App retried the 3104 close (same body): a replay, nothing is sent twice
lines.push(lines[lines.length - 1]);

// 3105: remediated by the experts (old-generation determination value), owner → Customer, resolved
push(graph({ ...i3105, status: 'resolved', owner: 'Customer', classification: 'TruePositive', determination: 'compromisedUser', systemTags: ['Defender Experts'], resolvingComment: 'Password reset and sessions revoked by Defender Experts.', at: t('13:40') }));

// ── Incident 3106 (Sentinel push, first seen already awaiting action), with hostile text ──────
const i3106 = {
  name: '0b7d0c1e-3106-4c7d-9e10-2b4f6a8c3106', xdrId: '3106', number: 3106,
  title: 'Ransomware note on <script>alert(1)</script> FILESRV-02 <!channel> [click](https://evil.example) {{DATE(2017-02-14T06:08:39Z, SHORT)}}',
  description: 'Attacker-chosen file name: "><img src=x onerror=alert(1)> [code]<b>x</b>[/code] & <Dial>+15550100</Dial>',
  severity: 'High', created: t('14:02'),
  alerts: [alert('Ransomware behavior detected in the file system', 'Microsoft Defender for Endpoint', ['Impact'], t('14:00'))],
  entities: [host('FILESRV-02'), account('<@U024BE7LH>', 'contoso.com')],
};
push(sentinel({ ...i3106, status: 'Active', owner: 'Customer', labels: ['Awaiting Customer Action'], at: t('14:20') }));

// 3101: the customer closes it after isolating the device
push(sentinel({ ...i3101, status: 'Closed', owner: 'Customer', labels: ['Defender Experts', 'USB'], classification: 'TruePositive', classificationReason: 'SuspiciousActivity', classificationComment: 'Device reimaged.', at: t('15:30') }, { fields: ['Status', 'Labels'] }));
// 3103: the customer finished the actions on the DC by hand; the experts resolve it
push(graph({ ...i3103g, status: 'resolved', owner: 'Customer', classification: 'truePositive', determination: 'compromisedAccount', systemTags: ['Defender Experts'], resolvingComment: 'krbtgt reset twice, DC rebuilt.', at: t('16:45') }));
// 3106: resolved
push(sentinel({ ...i3106, status: 'Closed', owner: 'Customer', labels: [], classification: 'TruePositive', classificationReason: 'SuspiciousActivity', at: t('17:10') }, { fields: ['Status'] }));

writeFileSync(new URL('../samples/defender-experts-day.jsonl', import.meta.url), `${lines.join('\n')}\n`);
console.log(`wrote ${lines.length} events`);
