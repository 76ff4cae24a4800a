metadata name = 'Function App data access'
metadata description = 'Data-plane roles of the Function App\'s identity on its storage account, Key Vault and Application Insights. Names derive from resource ids known before deployment, so what-if predicts them exactly.'

@description('Required. Name of the kit\'s Function App (its system-assigned identity gets the roles).')
param functionAppName string

@description('Required. Name of the kit\'s storage account.')
param storageAccountName string

@description('Required. Name of the Key Vault holding receiver secrets.')
param keyVaultName string

@description('Required. Name of the Application Insights component.')
param appInsightsName string

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4b42-8a58-6bfd4f1f4b5a'
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
}

var principalId = functionApp.identity.principalId

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var storageRoles = [
  {
    role: roles.storageBlobDataOwner
    why: 'Function host storage (leases, keys) and the Flex Consumption deployment package.'
  }
  {
    role: roles.storageQueueDataContributor
    why: 'The deliveries queue: dispatch enqueues, deliver dequeues.'
  }
  {
    role: roles.storageTableDataContributor
    why: 'Snapshots, delivery ledger, leases, tickets, watermarks and acknowledgements.'
  }
]

// Names are guid(scope, app, role): the same inputs give the same name, so re-deploying updates in place.
resource storageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for r in storageRoles: {
    name: guid(storage.id, functionApp.id, r.role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r.role)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: r.why
    }
  }
]

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, functionApp.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Resolves the Key Vault references of receiver secrets.'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionApp.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Entra-authenticated telemetry (local auth is off on the component).'
  }
}
