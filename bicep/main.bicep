metadata name = 'Sentinel Playbook Kit'
metadata description = 'Deploys the kit into a resource group next to an existing Log Analytics workspace with Microsoft Sentinel: the Function App (Flex Consumption, Node 20) with its storage, Key Vault and telemetry; thin playbooks that hand each incident update to the Function App; and the automation rules of rules/*.yaml that run them.'

import { receiverSecret } from 'types.bicep'

targetScope = 'resourceGroup'

@description('Required. Name of the existing Log Analytics workspace that has Microsoft Sentinel enabled.')
@minLength(4)
@maxLength(63)
param workspaceName string

@description('Optional. Resource group of the workspace, when it is not the one deployed into. It must be in this subscription.')
@minLength(1)
@maxLength(90)
param workspaceResourceGroupName string = resourceGroup().name

@description('Required. Object id (not app id) of the "Azure Security Insights" service principal in your tenant; it differs per tenant. Get it with: az ad sp show --id 98785600-1bb7-4fb9-b9fa-19afe2c8a360 --query id -o tsv')
@minLength(36)
@maxLength(36)
param sentinelAutomationPrincipalId string

@description('Optional. Azure region for every resource; must offer Flex Consumption.')
param location string = resourceGroup().location

@description('Optional. Short prefix of every resource name (lower-case letters and digits).')
@minLength(2)
@maxLength(8)
param namePrefix string = 'spk'

@description('Optional. Receiver secrets: each becomes an app setting of that name that is a Key Vault reference to the secret. Match the env:NAME references in playbooks/receivers.yaml.')
param receiverSecrets receiverSecret[] = [
  { appSetting: 'TEAMS_SOC_WEBHOOK_URL', secretName: 'teams-soc-webhook-url' }
  { appSetting: 'SLACK_SOC_WEBHOOK_URL', secretName: 'slack-soc-webhook-url' }
  { appSetting: 'SLACK_BOT_TOKEN', secretName: 'slack-bot-token' }
  { appSetting: 'JIRA_EMAIL', secretName: 'jira-email' }
  { appSetting: 'JIRA_API_TOKEN', secretName: 'jira-api-token' }
  { appSetting: 'SERVICENOW_USERNAME', secretName: 'servicenow-username' }
  { appSetting: 'SERVICENOW_PASSWORD', secretName: 'servicenow-password' }
  { appSetting: 'SERVICENOW_CLIENT_ID', secretName: 'servicenow-client-id' }
  { appSetting: 'SERVICENOW_CLIENT_SECRET', secretName: 'servicenow-client-secret' }
  { appSetting: 'ADO_PAT', secretName: 'ado-pat' }
  { appSetting: 'ZENDESK_EMAIL', secretName: 'zendesk-email' }
  { appSetting: 'ZENDESK_API_TOKEN', secretName: 'zendesk-api-token' }
  { appSetting: 'FRESHSERVICE_API_KEY', secretName: 'freshservice-api-key' }
  { appSetting: 'PAGERDUTY_ROUTING_KEY', secretName: 'pagerduty-routing-key' }
  { appSetting: 'PAGERDUTY_API_TOKEN', secretName: 'pagerduty-api-token' }
  { appSetting: 'TWILIO_ACCOUNT_SID', secretName: 'twilio-account-sid' }
  { appSetting: 'TWILIO_AUTH_TOKEN', secretName: 'twilio-auth-token' }
  { appSetting: 'TWILIO_API_KEY_SID', secretName: 'twilio-api-key-sid' }
  { appSetting: 'TWILIO_API_KEY_SECRET', secretName: 'twilio-api-key-secret' }
  { appSetting: 'ACS_ACCESS_KEY', secretName: 'acs-access-key' }
  { appSetting: 'SMTP_USERNAME', secretName: 'smtp-username' }
  { appSetting: 'SMTP_PASSWORD', secretName: 'smtp-password' }
  { appSetting: 'SOAR_WEBHOOK_URL', secretName: 'soar-webhook-url' }
  { appSetting: 'SOAR_SIGNING_SECRET', secretName: 'soar-signing-secret' }
  { appSetting: 'SOAR_BEARER_TOKEN', secretName: 'soar-bearer-token' }
]

@description('Optional. Secret values to store in Key Vault now, keyed by app setting name (e.g. { JIRA_API_TOKEN: \'...\' }). Leave empty and set them with az keyvault secret set instead; values are never written to outputs.')
@secure()
param receiverSecretValues object = {}

@description('Optional. Key Vault purge protection. It cannot be turned off again; a deleted vault then keeps its name for 90 days.')
param keyVaultPurgeProtection bool = true

@description('Optional. Most instances the Function App may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Retries (exponential back-off, up to an hour apart) of a playbook\'s call to the dispatch function.')
@minValue(1)
@maxValue(90)
param dispatchRetryCount int = 10

@description('Optional. Name of an existing Azure Communication Services resource that email and SMS receivers send through (acsEndpoint). Set: the Function App\'s identity gets the one role that sends, on that resource only, and no ACS access key is needed. Empty: no ACS role.')
param communicationServicesName string = ''

@description('Optional. Resource group of the Communication Services resource, when it is not the one deployed into.')
param communicationServicesResourceGroupName string = resourceGroup().name

@description('Optional. Tags for every resource.')
param tags object = {}

@description('Optional. Keep the rules\' "Updated by is not a playbook or an automation rule" condition (IncidentUpdatedBySource). The API values it compares are not documented; turn this off if the deployment refuses them — the kit de-duplicates its own writes anyway.')
param excludeUpdatesByAutomation bool = true

// Each rules/*.yaml file is listed here: Bicep can only load files named in the template. test/bicep checks
// that no file in rules/ is missing from this list.
var rules = [
  loadYamlContent('../rules/owner-changed.yaml')
  loadYamlContent('../rules/status-active.yaml')
  loadYamlContent('../rules/status-closed.yaml')
  loadYamlContent('../rules/tag-awaiting-customer-action.yaml')
]

// union() of arrays keeps each value once: two rules may share a playbook
var playbookKeys = union(map(rules, r => r.playbook), [])

var prefix = toLower(namePrefix)
var playbookNames = map(playbookKeys, k => { key: k, name: '${prefix}-${k}' })
var suffix = uniqueString(subscription().id, resourceGroup().id, prefix)
var names = {
  storageAccount: take('st${replace(prefix, '-', '')}${suffix}', 24)
  keyVault: take('kv-${prefix}-${suffix}', 24)
  functionApp: 'func-${prefix}-${suffix}'
  plan: 'asp-${prefix}-${suffix}'
  appInsights: 'appi-${prefix}-${suffix}'
  logAnalytics: 'log-${prefix}-${suffix}'
  sentinelConnection: 'azuresentinel-${prefix}-${suffix}'
  deploymentContainer: 'app-package'
}

var deliveryQueue = 'deliveries'
var queueNames = [deliveryQueue, '${deliveryQueue}-poison']
var tableNames = ['snapshots', 'ledger', 'leases', 'tickets', 'watermarks', 'acknowledgements']

// secrets offered now (non-empty) are stored under their Key Vault names; the rest are left for the operator
var offeredSecrets = filter(receiverSecrets, s => !empty(receiverSecretValues[?s.appSetting] ?? ''))
var secretValuesByName = toObject(offeredSecrets, s => s.secretName, s => receiverSecretValues[s.appSetting])

module monitoring 'modules/monitoring.bicep' = {
  name: 'spk-monitoring-${suffix}'
  params: {
    location: location
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'spk-storage-${suffix}'
  params: {
    location: location
    storageAccountName: names.storageAccount
    deploymentContainerName: names.deploymentContainer
    queueNames: queueNames
    tableNames: tableNames
    tags: tags
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'spk-keyvault-${suffix}'
  params: {
    location: location
    keyVaultName: names.keyVault
    enablePurgeProtection: keyVaultPurgeProtection
    secretValues: secretValuesByName
    tags: tags
  }
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'spk-functionapp-${suffix}'
  params: {
    location: location
    functionAppName: names.functionApp
    planName: names.plan
    storageAccountName: names.storageAccount
    deploymentContainerName: names.deploymentContainer
    appInsightsName: names.appInsights
    keyVaultName: names.keyVault
    deliveryQueueName: deliveryQueue
    receiverSecrets: receiverSecrets
    maximumInstanceCount: maximumInstanceCount
    tags: tags
  }
  // names (not outputs) are passed so what-if can predict every resource; the order is stated instead
  dependsOn: [storage, monitoring, keyVault]
}

module appAccess 'modules/appAccess.bicep' = {
  name: 'spk-appaccess-${suffix}'
  params: {
    functionAppName: names.functionApp
    storageAccountName: names.storageAccount
    keyVaultName: names.keyVault
    appInsightsName: names.appInsights
  }
  dependsOn: [functionApp]
}

module communicationAccess 'modules/communicationAccess.bicep' = if (!empty(communicationServicesName)) {
  name: 'spk-acsaccess-${suffix}'
  scope: resourceGroup(communicationServicesResourceGroupName)
  params: {
    communicationServicesName: communicationServicesName
    functionAppName: names.functionApp
    functionAppResourceGroupName: resourceGroup().name
  }
  dependsOn: [functionApp]
}

module playbooks 'modules/playbooks.bicep' = {
  name: 'spk-playbooks-${suffix}'
  params: {
    location: location
    playbookNames: playbookNames
    connectionName: names.sentinelConnection
    functionAppName: names.functionApp
    sentinelPrincipalId: sentinelAutomationPrincipalId
    dispatchRetryCount: dispatchRetryCount
    tags: tags
  }
  // listing the host key needs the host running, and the host needs its storage roles
  dependsOn: [appAccess]
}

module sentinel 'modules/sentinel.bicep' = {
  name: 'spk-sentinel-${suffix}'
  scope: resourceGroup(workspaceResourceGroupName)
  params: {
    workspaceName: workspaceName
    rules: excludeUpdatesByAutomation
      ? rules
      : map(rules, r => union(r, {
          triggeringLogic: union(r.triggeringLogic, {
            conditions: filter(r.triggeringLogic.conditions, c => c.?conditionProperties.?propertyName != 'IncidentUpdatedBySource')
          })
        }))
    kitResourceGroupName: resourceGroup().name
    functionAppName: names.functionApp
    playbookNames: playbookNames
  }
  // a RunPlaybook action is refused until Sentinel may run the playbook: the playbooks module ends with that role
  dependsOn: [playbooks, functionApp]
}

@description('Name of the Function App: deploy the package from npm run package to it.')
output functionAppName string = functionApp.outputs.functionAppName

@description('Address of the dispatch function (it needs a function key; none is output).')
output dispatchUrl string = 'https://${functionApp.outputs.defaultHostName}/api/dispatch'

@description('The acknowledge endpoint for voice receivers: set it as ackUrl of a voice receiver so its calls ask "press 1". Anonymous; each request is checked against Twilio\'s signature.')
output voiceAckUrl string = 'https://${functionApp.outputs.defaultHostName}/api/ack/voice'

@description('Name of the Key Vault: set the receiver secrets there.')
output keyVaultName string = keyVault.outputs.keyVaultName

@description('Name of the kit\'s storage account.')
output storageAccountName string = storage.outputs.storageAccountName

@description('Names of the playbooks (Logic Apps).')
output playbookNames string[] = map(playbookNames, p => p.name)

@description('Resource ids of the automation rules.')
output automationRuleIds string[] = sentinel.outputs.automationRuleIds

@description('Object id of the Function App\'s managed identity.')
output functionAppPrincipalId string = functionApp.outputs.principalId
