/**
 * Assertions on the compiled template (bicep/azuredeploy.json, kept identical to a fresh build by cli.test.ts):
 * what a reviewer would check before trusting it with a production workspace.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  allResources,
  allTemplates,
  loadCompiledTemplate,
  moduleResource,
  moduleTemplate,
  projectRoot,
  resourcesOf,
  type ArmResource,
  type ArmTemplate,
  type Json,
} from './arm.js';

const template = loadCompiledTemplate();
const resources = allResources(template);
const raw = readFileSync(path.join(projectRoot, 'bicep', 'azuredeploy.json'), 'utf8');

const ROLE = {
  sentinelAutomationContributor: 'f4c81013-99ee-4d62-a7ee-b3f1f648599a',
  sentinelResponder: '3e150937-b8fe-4cfb-8069-0eaf05ecd056',
  sentinelReader: '8d289c81-5878-46d4-8554-54e1e3d8b5cb',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  monitoringMetricsPublisher: '3913510d-42f4-4b42-8a58-6bfd4f1f4b5a',
  communicationAndEmailServiceOwner: '09976791-48a7-449e-bb21-39d1a415f350',
};

function only(module: string, type: string): ArmResource {
  const found = resources.filter((r) => r.module === module && r.type === type && r.existing !== true);
  expect(found, `${type} in ${module}`).toHaveLength(1);
  return found[0]!;
}

const props = (r: ArmResource) => r.properties as Json;
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v as Json | undefined)?.[k], o);

/** An ARM role assignment's role definition id, resolved through the template's variables. */
function roleIdOf(r: ArmResource, vars: Json, loopItems: Json[] = []): string[] {
  const expr = String(props(r).roleDefinitionId);
  const direct = /'([0-9a-f-]{36})'/.exec(expr);
  if (direct) return [direct[1]!];
  const viaVar = /variables\('(\w+)'\)\)\]$/.exec(expr);
  if (viaVar) return [String(vars[viaVar[1]!])];
  const viaNestedVar = /variables\('(\w+)'\)\.(\w+)\)\]$/.exec(expr);
  if (viaNestedVar) return [String(at(vars, viaNestedVar[1]!, viaNestedVar[2]!))];
  if (/\.role\)\]$/.test(expr)) {
    return loopItems.map((i) => {
      const ref = /^\[variables\('(\w+)'\)\.(\w+)\]$/.exec(String(i.role));
      return ref ? String(at(vars, ref[1]!, ref[2]!)) : String(i.role);
    });
  }
  throw new Error(`cannot resolve roleDefinitionId ${expr}`);
}

describe('API versions', () => {
  it('pins each resource type to the reviewed version', () => {
    const versions: Record<string, string> = {};
    for (const r of resources) {
      const seen = versions[r.type];
      expect(seen === undefined || seen === r.apiVersion, `${r.type}: ${seen} and ${r.apiVersion}`).toBe(true);
      versions[r.type] = r.apiVersion;
    }
    expect(versions).toEqual({
      'Microsoft.OperationalInsights/workspaces': '2023-09-01',
      'Microsoft.Insights/components': '2020-02-02',
      'Microsoft.Storage/storageAccounts': '2025-01-01',
      'Microsoft.Storage/storageAccounts/blobServices': '2025-01-01',
      'Microsoft.Storage/storageAccounts/blobServices/containers': '2025-01-01',
      'Microsoft.Storage/storageAccounts/queueServices': '2025-01-01',
      'Microsoft.Storage/storageAccounts/queueServices/queues': '2025-01-01',
      'Microsoft.Storage/storageAccounts/tableServices': '2025-01-01',
      'Microsoft.Storage/storageAccounts/tableServices/tables': '2025-01-01',
      'Microsoft.KeyVault/vaults': '2024-11-01',
      'Microsoft.KeyVault/vaults/secrets': '2024-11-01',
      'Microsoft.Web/serverfarms': '2024-11-01',
      'Microsoft.Web/sites': '2024-11-01',
      'Microsoft.Web/sites/basicPublishingCredentialsPolicies': '2024-11-01',
      'Microsoft.Web/connections': '2016-06-01',
      'Microsoft.Logic/workflows': '2019-05-01',
      'Microsoft.SecurityInsights/automationRules': '2025-09-01',
      'Microsoft.Authorization/roleAssignments': '2022-04-01',
    });
  });
});

describe('automation rules', () => {
  const sentinel = moduleTemplate(template, 'sentinel');
  const ruleResource = only('main/sentinel', 'Microsoft.SecurityInsights/automationRules');
  const rulesInTemplate = ((template.variables?.rules as string[]) ?? []).map((ref) => {
    const name = /^\[variables\('(.+)'\)\]$/.exec(ref)?.[1];
    return template.variables?.[name ?? ''] as { name: string; playbook: string; order: number; triggeringLogic: { conditions: Json[] } & Json };
  });
  const byName = Object.fromEntries(rulesInTemplate.map((r) => [r.name, r]));
  const loopGuard = {
    conditionType: 'Property',
    conditionProperties: { propertyName: 'IncidentUpdatedBySource', operator: 'NotEquals', propertyValues: ['Playbook', 'AutomationRule'] },
  };
  const updated = { isEnabled: true, triggersOn: 'Incidents', triggersWhen: 'Updated' };

  it('carries every rules/*.yaml file, unchanged (main.bicep must list each one)', () => {
    const dir = path.join(projectRoot, 'rules');
    const fromYaml = Object.fromEntries(
      readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => parse(readFileSync(path.join(dir, f), 'utf8')) as { name: string })
        .map((r) => [r.name, r]),
    );
    expect(Object.keys(fromYaml).length).toBeGreaterThanOrEqual(4);
    expect(byName).toEqual(fromYaml);
  });

  it('Owner changed: PropertyChanged IncidentOwner with no value (the function tells Defender Experts from Customer)', () => {
    expect(byName['owner-changed']?.triggeringLogic).toEqual({
      ...updated,
      conditions: [{ conditionType: 'PropertyChanged', conditionProperties: { propertyName: 'IncidentOwner' } }, loopGuard],
    });
  });

  it.each([
    ['status-active', 'Active'],
    ['status-closed', 'Closed'],
  ])('%s: PropertyChanged IncidentStatus ChangedTo Equals %s', (name, status) => {
    expect(byName[name]?.triggeringLogic).toEqual({
      ...updated,
      conditions: [
        {
          conditionType: 'PropertyChanged',
          conditionProperties: { propertyName: 'IncidentStatus', changeType: 'ChangedTo', operator: 'Equals', propertyValues: [status] },
        },
        loopGuard,
      ],
    });
  });

  it('tag "Awaiting Customer Action" added: Labels Added AND IncidentLabel Equals the tag', () => {
    expect(byName['tag-awaiting-customer-action']?.triggeringLogic).toEqual({
      ...updated,
      conditions: [
        { conditionType: 'PropertyArrayChanged', conditionProperties: { arrayType: 'Labels', changeType: 'Added' } },
        { conditionType: 'Property', conditionProperties: { propertyName: 'IncidentLabel', operator: 'Equals', propertyValues: ['Awaiting Customer Action'] } },
        loopGuard,
      ],
    });
  });

  it('lets the operator drop the loop guard (its API values are undocumented) with one parameter, on by default', () => {
    const param = (template.parameters as Record<string, { type: string; defaultValue?: unknown; metadata?: { description?: string } }>).excludeUpdatesByAutomation;
    expect(param).toMatchObject({ type: 'bool', defaultValue: true });
    expect(param?.metadata?.description).toMatch(/IncidentUpdatedBySource/);
    expect(raw).toContain("filter(lambdaVariables('r').triggeringLogic.conditions, lambda('c', not(equals(tryGet(tryGet(lambdaVariables('c'), 'conditionProperties'), 'propertyName'), 'IncidentUpdatedBySource'))))");
  });

  it('gives each rule distinct order and playbook', () => {
    expect(new Set(rulesInTemplate.map((r) => r.order)).size).toBe(rulesInTemplate.length);
    expect(rulesInTemplate.map((r) => r.playbook).sort()).toEqual(['awaiting-customer-action', 'owner-changed', 'status-active', 'status-closed']);
  });

  it('deploys one automationRules resource per rule on the workspace, with a deterministic name', () => {
    expect(ruleResource.copy).toEqual({ name: 'automationRules', count: "[length(parameters('rules'))]" });
    expect(ruleResource.scope).toBe("[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]");
    expect(ruleResource.name).toBe(
      "[guid(resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName')), 'sentinel-playbook-kit', parameters('rules')[copyIndex()].name)]",
    );
    expect(props(ruleResource).triggeringLogic).toBe("[parameters('rules')[copyIndex()].triggeringLogic]");
    // the rules as loaded from rules/*.yaml, or the same rules without the loop guard (excludeUpdatesByAutomation)
    expect(at(moduleResource(template, 'sentinel'), 'properties', 'parameters', 'rules')).toMatch(
      /^\[if\(parameters\('excludeUpdatesByAutomation'\), createObject\('value', variables\('rules'\)\), createObject\('value', map\(variables\('rules'\)/,
    );
  });

  it('has exactly one action per rule: RunPlaybook of the rule\'s own Logic App in this tenant', () => {
    expect(props(ruleResource).actions).toEqual([
      {
        order: 1,
        actionType: 'RunPlaybook',
        actionConfiguration: {
          logicAppResourceId: "[variables('playbookIdByKey')[parameters('rules')[copyIndex()].playbook]]",
          tenantId: '[tenant().tenantId]',
        },
      },
    ]);
    expect(sentinel.variables?.playbookIdByKey).toBe(
      "[toObject(parameters('playbookNames'), lambda('p', lambdaVariables('p').key), lambda('p', resourceId(subscription().subscriptionId, parameters('kitResourceGroupName'), 'Microsoft.Logic/workflows', lambdaVariables('p').name)))]",
    );
    // the same playbookNames deploy the Logic Apps, so every rule's key resolves to a deployed workflow
    expect(template.variables?.playbookKeys).toBe("[union(map(variables('rules'), lambda('r', lambdaVariables('r').playbook)), createArray())]");
    expect(at(moduleResource(template, 'sentinel'), 'properties', 'parameters', 'playbookNames')).toEqual({ value: "[variables('playbookNames')]" });
    expect(at(moduleResource(template, 'playbooks'), 'properties', 'parameters', 'playbookNames')).toEqual({ value: "[variables('playbookNames')]" });
  });

  it('waits for the playbooks (and Sentinel\'s permission on them) before creating rules that run them', () => {
    expect(moduleResource(template, 'sentinel').dependsOn).toEqual(expect.arrayContaining(['playbooks']));
    expect(moduleResource(template, 'sentinel').resourceGroup).toBe("[parameters('workspaceResourceGroupName')]");
  });
});

describe('role assignments', () => {
  const assignments = resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');

  it('grant exactly the reviewed roles, each with a deterministic guid() name and a service-principal type', () => {
    const granted: string[] = [];
    for (const a of assignments) {
      const t = allTemplates(template).find((x) => x.where === a.module)!.template;
      const loop = a.copy ? ((t.variables?.[String(/variables\('(\w+)'\)/.exec(String((a.copy as Json).count))?.[1])] as Json[]) ?? []) : [];
      granted.push(...roleIdOf(a, t.variables ?? {}, loop).map((id) => `${a.module}:${id}`));
      expect(a.name, a.symbol).toMatch(/^\[guid\(/);
      expect(a.name, a.symbol).not.toMatch(/newGuid|utcNow/);
      expect(props(a).principalType, a.symbol).toBe('ServicePrincipal');
    }
    expect(granted.sort()).toEqual(
      [
        `main/playbooks:${ROLE.sentinelAutomationContributor}`,
        `main/sentinel:${ROLE.sentinelResponder}`,
        `main/sentinel:${ROLE.sentinelReader}`,
        `main/appAccess:${ROLE.storageBlobDataOwner}`,
        `main/appAccess:${ROLE.storageQueueDataContributor}`,
        `main/appAccess:${ROLE.storageTableDataContributor}`,
        `main/appAccess:${ROLE.keyVaultSecretsUser}`,
        `main/appAccess:${ROLE.monitoringMetricsPublisher}`,
        `main/communicationAccess:${ROLE.communicationAndEmailServiceOwner}`,
      ].sort(),
    );
  });

  it('gives the Function App the one ACS role that sends only when a Communication Services resource is named, on that resource alone', () => {
    const module = moduleResource(template, 'communicationAccess');
    expect(module.condition).toBe("[not(empty(parameters('communicationServicesName')))]");
    const a = only('main/communicationAccess', 'Microsoft.Authorization/roleAssignments');
    expect(a.scope).toBe("[resourceId('Microsoft.Communication/communicationServices', parameters('communicationServicesName'))]");
    expect(String(props(a).principalId)).toContain('identity.principalId');
    expect(at(template.parameters, 'communicationServicesName', 'defaultValue')).toBe('');
  });

  it('lets the "Azure Security Insights" principal (a parameter, it differs per tenant) run playbooks in their resource group', () => {
    const a = only('main/playbooks', 'Microsoft.Authorization/roleAssignments');
    expect(a.scope).toBeUndefined();
    expect(props(a).principalId).toBe("[parameters('sentinelPrincipalId')]");
    expect(at(moduleResource(template, 'playbooks'), 'properties', 'parameters', 'sentinelPrincipalId')).toEqual({
      value: "[parameters('sentinelAutomationPrincipalId')]",
    });
    expect(String(at(template.parameters, 'sentinelAutomationPrincipalId', 'metadata', 'description'))).toContain('98785600-1bb7-4fb9-b9fa-19afe2c8a360');
  });

  it('makes the Function App a Sentinel Responder and the playbooks Sentinel Readers on the workspace', () => {
    const sentinel = resources.filter((r) => r.module === 'main/sentinel' && r.type === 'Microsoft.Authorization/roleAssignments');
    for (const a of sentinel) expect(a.scope).toBe("[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]");
    const responder = sentinel.find((a) => a.symbol === 'appResponder')!;
    expect(props(responder).principalId).toBe("[reference('functionApp', '2024-11-01', 'full').identity.principalId]");
    const readers = sentinel.find((a) => a.symbol === 'playbookReaders')!;
    expect(props(readers).principalId).toBe("[reference(format('playbooks[{0}]', copyIndex()), '2019-05-01', 'full').identity.principalId]");
  });
});

describe('Function App', () => {
  const app = only('main/functionApp', 'Microsoft.Web/sites');
  const plan = only('main/functionApp', 'Microsoft.Web/serverfarms');
  const fnTemplate = moduleTemplate(template, 'functionApp');

  it('runs on Flex Consumption, Linux, Node 20, with a system-assigned identity', () => {
    expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    expect(props(plan).reserved).toBe(true);
    expect(app.kind).toBe('functionapp,linux');
    expect(app.identity).toEqual({ type: 'SystemAssigned' });
    expect(at(app, 'properties', 'functionAppConfig', 'runtime')).toEqual({ name: 'node', version: '20' });
    expect(at(app, 'properties', 'functionAppConfig', 'deployment', 'storage', 'authentication')).toEqual({ type: 'SystemAssignedIdentity' });
    expect(props(app).httpsOnly).toBe(true);
    expect(props(app).keyVaultReferenceIdentity).toBe('SystemAssigned');
  });

  it('uses identity-based storage: no keys, no connection strings, shared keys off on the account', () => {
    const storage = only('main/storage', 'Microsoft.Storage/storageAccounts');
    expect(props(storage).allowSharedKeyAccess).toBe(false);
    expect(props(storage).allowBlobPublicAccess).toBe(false);
    expect(raw).not.toMatch(/AccountKey=|listKeys\([^)]*storageAccounts|DefaultEndpointsProtocol/);
    const settings = String(at(app, 'properties', 'siteConfig', 'appSettings'));
    expect(settings).toContain("createObject('name', 'AzureWebJobsStorage__accountName', 'value', parameters('storageAccountName'))");
    expect(settings).toContain("createObject('name', 'SPK_STORAGE_ACCOUNT_NAME', 'value', parameters('storageAccountName'))");
    expect(settings).toContain("createObject('name', 'SPK_QUEUE_NAME', 'value', parameters('deliveryQueueName'))");
    // Flex Consumption refuses these; the runtime is set in functionAppConfig
    expect(settings).not.toMatch(/FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|'AzureWebJobsStorage'/);
  });

  it('creates the queues and tables the kit uses', () => {
    expect(template.variables?.queueNames).toEqual(["[variables('deliveryQueue')]", "[format('{0}-poison', variables('deliveryQueue'))]"]);
    expect(template.variables?.deliveryQueue).toBe('deliveries');
    expect(template.variables?.tableNames).toEqual(['snapshots', 'ledger', 'leases', 'tickets', 'watermarks', 'acknowledgements']);
    expect(at(moduleResource(template, 'functionApp'), 'properties', 'parameters', 'deliveryQueueName')).toEqual({ value: "[variables('deliveryQueue')]" });
  });

  it('keeps Key Vault in RBAC mode and App Insights Entra-only', () => {
    const vault = only('main/keyVault', 'Microsoft.KeyVault/vaults');
    expect(props(vault).enableRbacAuthorization).toBe(true);
    expect(props(vault).accessPolicies).toBeUndefined();
    const ai = only('main/monitoring', 'Microsoft.Insights/components');
    expect(props(ai).DisableLocalAuth).toBe(true);
    expect(String(at(app, 'properties', 'siteConfig', 'appSettings'))).toContain("'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', 'value', 'Authorization=AAD'");
  });

  describe('receiver secrets', () => {
    const defaults = at(template.parameters, 'receiverSecrets', 'defaultValue') as { appSetting: string; secretName: string }[];

    it('default to every secret the shipped receivers reference (env:NAME in playbooks/receivers.yaml, commented examples too)', () => {
      const text = readFileSync(path.join(projectRoot, 'playbooks', 'receivers.yaml'), 'utf8');
      const refs = new Set<string>();
      const walk = (v: unknown): void => {
        if (typeof v === 'string' && /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(v)) refs.add(v.slice(4));
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(parse(text));
      // the shipped receivers carry their secrets as commented examples a SOC lead uncomments: those count too
      for (const m of text.matchAll(/^\s*#\s*[A-Za-z]+:\s*env:([A-Za-z_][A-Za-z0-9_]*)\s*$/gm)) refs.add(m[1]!);
      expect(refs.size).toBeGreaterThanOrEqual(10);
      const offered = new Set(defaults.map((d) => d.appSetting));
      expect([...refs].filter((r) => !offered.has(r))).toEqual([]);
      for (const name of ['TEAMS_SOC_WEBHOOK_URL', 'JIRA_API_TOKEN', 'SERVICENOW_PASSWORD', 'PAGERDUTY_ROUTING_KEY', 'TWILIO_AUTH_TOKEN']) {
        expect(offered.has(name), name).toBe(true);
      }
      for (const d of defaults) expect(d.secretName, d.appSetting).toMatch(/^[0-9a-zA-Z-]{1,127}$/);
    });

    it('become app settings that are Key Vault references, and nothing else does', () => {
      const loop = (fnTemplate.variables?.copy as { name: string; count: string; input: { name: string; value: string } }[]).find((c) => c.name === 'secretSettings');
      expect(loop).toEqual({
        name: 'secretSettings',
        count: "[length(parameters('receiverSecrets'))]",
        input: {
          name: "[parameters('receiverSecrets')[copyIndex('secretSettings')].appSetting]",
          value: "[format('@Microsoft.KeyVault(VaultName={0};SecretName={1})', parameters('keyVaultName'), parameters('receiverSecrets')[copyIndex('secretSettings')].secretName)]",
        },
      });
      const settings = String(at(app, 'properties', 'siteConfig', 'appSettings'));
      expect(settings).toMatch(/^\[concat\(createArray\(.*\), variables\('secretSettings'\)\)\]$/);
      const literalNames = [...settings.matchAll(/createObject\('name', '([^']+)'/g)].map((m) => m[1]);
      expect(literalNames).toEqual([
        'AzureWebJobsStorage__accountName',
        'SPK_STORAGE_ACCOUNT_NAME',
        'SPK_QUEUE_NAME',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
      ]);
      expect(at(moduleResource(template, 'functionApp'), 'properties', 'parameters', 'receiverSecrets')).toEqual({ value: "[parameters('receiverSecrets')]" });
      expect(at(moduleResource(template, 'functionApp'), 'properties', 'parameters', 'keyVaultName')).toEqual({ value: "[variables('names').keyVault]" });
    });

    it('are values only in a @secure() parameter, stored as Key Vault secrets', () => {
      expect(at(template.parameters, 'receiverSecretValues', 'type')).toBe('secureObject');
      expect(at(template.parameters, 'receiverSecretValues', 'defaultValue')).toEqual({});
      const kv = moduleTemplate(template, 'keyVault');
      expect(at(kv.parameters, 'secretValues', 'type')).toBe('secureObject');
      const secret = only('main/keyVault', 'Microsoft.KeyVault/vaults/secrets');
      expect(at(secret, 'properties', 'value')).toBe("[parameters('secretValues')[objectKeys(parameters('secretValues'))[copyIndex()]]]");
    });
  });
});

describe('playbooks (Logic Apps)', () => {
  const pbTemplate = moduleTemplate(template, 'playbooks');
  const workflow = only('main/playbooks', 'Microsoft.Logic/workflows');
  const connection = only('main/playbooks', 'Microsoft.Web/connections');
  const definition = pbTemplate.variables?.definition as Json;

  it('use the azuresentinel connection with managed identity, so nothing is authorised by hand', () => {
    expect(props(connection).parameterValueType).toBe('Alternative');
    expect(at(connection, 'properties', 'api', 'id')).toBe('[variables(\'sentinelApiId\')]');
    expect(pbTemplate.variables?.sentinelApiId).toBe("[subscriptionResourceId('Microsoft.Web/locations/managedApis', parameters('location'), 'azuresentinel')]");
    expect(workflow.identity).toEqual({ type: 'SystemAssigned' });
    expect(at(workflow, 'properties', 'parameters', '$connections', 'value', 'azuresentinel')).toEqual({
      connectionId: "[resourceId('Microsoft.Web/connections', parameters('connectionName'))]",
      connectionName: "[parameters('connectionName')]",
      id: "[variables('sentinelApiId')]",
      connectionProperties: { authentication: { type: 'ManagedServiceIdentity' } },
    });
    expect(props(connection).parameterValues).toBeUndefined();
  });

  it('are thin: the Sentinel incident trigger and one HTTP action', () => {
    expect(at(workflow, 'properties', 'definition')).toBe("[variables('definition')]");
    expect(definition.triggers).toEqual({
      Microsoft_Sentinel_incident: {
        type: 'ApiConnectionWebhook',
        inputs: {
          body: { callback_url: '@{listCallbackUrl()}' },
          host: { connection: { name: "@parameters('$connections')['azuresentinel']['connectionId']" } },
          path: '/incident-creation',
        },
      },
    });
    expect(Object.keys(definition.actions as Json)).toEqual(['Dispatch_to_kit']);
  });

  it('hand the trigger body to dispatch with a function key, retries, and secure inputs', () => {
    const action = at(definition, 'actions', 'Dispatch_to_kit') as Json;
    expect(action.type).toBe('Http');
    expect(action.inputs).toEqual({
      method: 'POST',
      uri: "@parameters('dispatchUrl')",
      headers: { 'Content-Type': 'application/json', 'x-functions-key': "@parameters('functionKey')" },
      body: '@triggerBody()',
      retryPolicy: { type: 'exponential', count: "[parameters('dispatchRetryCount')]", interval: 'PT10S', minimumInterval: 'PT5S', maximumInterval: 'PT1H' },
    });
    expect(at(pbTemplate.parameters, 'dispatchRetryCount', 'defaultValue')).toBe(10);
    expect(action.runtimeConfiguration).toEqual({ secureData: { properties: ['inputs'] } });
    expect(at(definition, 'parameters', 'functionKey')).toEqual({ type: 'SecureString' });
    expect(at(workflow, 'properties', 'parameters', 'dispatchUrl')).toEqual({ value: "[format('https://{0}/api/dispatch', reference('functionApp').defaultHostName)]" });
  });

  it('read the function key with listKeys at deployment time and never expose it', () => {
    expect(at(workflow, 'properties', 'parameters', 'functionKey')).toEqual({
      value: "[listKeys(format('{0}/host/default', resourceId('Microsoft.Web/sites', parameters('functionAppName'))), '2024-11-01').functionKeys.default]",
    });
    // the key appears once in the whole template: in that secure workflow parameter
    expect(raw.match(/listKeys\(/g)).toHaveLength(1);
  });
});

describe('parameters and outputs', () => {
  it('describe every parameter of every template and keep secrets in @secure() parameters without defaults', () => {
    for (const { where, template: t } of allTemplates(template)) {
      for (const [name, p] of Object.entries(t.parameters ?? {})) {
        expect(String(at(p, 'metadata', 'description') ?? ''), `${where} parameter ${name}`).toMatch(/^(Required|Optional|Conditional)\. /);
        if (/secret|password|token|key$/i.test(name) && !/Name$|Names$|Secrets$/.test(name)) {
          expect(p.type, `${where} parameter ${name}`).toMatch(/^secure/);
        }
        if (String(p.type).startsWith('secure')) {
          expect(p.defaultValue === undefined || JSON.stringify(p.defaultValue) === '{}' || p.defaultValue === '', `${where} ${name}`).toBe(true);
        }
      }
    }
  });

  it('output nothing secret from any template', () => {
    const secureParams = (t: ArmTemplate) => Object.entries(t.parameters ?? {}).filter(([, p]) => String(p.type).startsWith('secure')).map(([n]) => n);
    let outputs = 0;
    for (const { where, template: t } of allTemplates(template)) {
      const secure = secureParams(t);
      for (const [name, o] of Object.entries(t.outputs ?? {})) {
        outputs++;
        const text = JSON.stringify(o);
        expect(String(o.type), `${where} output ${name}`).not.toMatch(/^secure/);
        expect(text, `${where} output ${name}`).not.toMatch(/list[A-Z]?\w*\(|listKeys|listSecrets|ConnectionString|secretValues|receiverSecretValues/i);
        for (const s of secure) expect(text, `${where} output ${name}`).not.toContain(`parameters('${s}')`);
        expect(String(at(o, 'metadata', 'description') ?? ''), `${where} output ${name} has a description`).not.toBe('');
      }
    }
    expect(outputs).toBeGreaterThan(5);
  });

  it('exposes the names a user needs next', () => {
    expect(Object.keys(template.outputs ?? {})).toEqual(
      expect.arrayContaining(['functionAppName', 'dispatchUrl', 'keyVaultName', 'playbookNames', 'automationRuleIds']),
    );
  });

  it('targets a resource group and requires only the workspace and the Sentinel principal', () => {
    const required = Object.entries(template.parameters ?? {})
      .filter(([, p]) => !('defaultValue' in p))
      .map(([n]) => n)
      .sort();
    expect(required).toEqual(['sentinelAutomationPrincipalId', 'workspaceName']);
    expect(String(template.$schema)).toContain('deploymentTemplate.json');
    expect(resourcesOf(template).every((r) => r.type === 'Microsoft.Resources/deployments')).toBe(true);
  });
});
