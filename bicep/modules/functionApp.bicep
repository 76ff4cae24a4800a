metadata name = 'Kit Function App'
metadata description = 'The kit\'s Function App on Flex Consumption (Linux, Node 20) with a system-assigned identity, identity-based storage, Entra-only telemetry and Key Vault references for every receiver secret. Its data-plane roles are in appAccess.bicep.'

import { receiverSecret } from '../types.bicep'

@description('Required. Azure region.')
param location string

@description('Required. Function App name (globally unique host name).')
@minLength(2)
@maxLength(60)
param functionAppName string

@description('Required. Flex Consumption plan name.')
@minLength(1)
@maxLength(60)
param planName string

@description('Required. Name of the existing storage account (from storage.bicep).')
param storageAccountName string

@description('Required. Blob container the app package is deployed from.')
param deploymentContainerName string

@description('Required. Name of the existing Application Insights component.')
param appInsightsName string

@description('Required. Name of the existing Key Vault holding receiver secrets.')
param keyVaultName string

@description('Required. Queue the dispatch function fills and the deliver function drains.')
param deliveryQueueName string

@description('Required. Receiver secrets: each becomes an app setting that is a Key Vault reference.')
param receiverSecrets receiverSecret[]

@description('Optional. Most instances Flex Consumption may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Memory per instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Optional. Tags for every resource.')
param tags object = {}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}


resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

var baseSettings = [
  // identity-based host storage: no connection string, no key
  { name: 'AzureWebJobsStorage__accountName', value: storage.name }
  { name: 'SPK_STORAGE_ACCOUNT_NAME', value: storage.name }
  { name: 'SPK_QUEUE_NAME', value: deliveryQueueName }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
]

var secretSettings = [
  for s in receiverSecrets: {
    name: s.appSetting
    value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${s.secretName})'
  }
]

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the app's own identity
    keyVaultReferenceIdentity: 'SystemAssigned'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(baseSettings, secretSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// Basic-auth publishing credentials stay off: deployments use Entra (az functionapp deployment / one deploy).
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'ftp'
  properties: { allow: false }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'scm'
  properties: { allow: false }
}

@description('Name of the Function App.')
output functionAppName string = functionApp.name

@description('Resource id of the Function App.')
output functionAppId string = functionApp.id

@description('Default host name of the Function App.')
output defaultHostName string = functionApp.properties.defaultHostName

@description('Object id of the Function App\'s system-assigned identity.')
output principalId string = functionApp.identity.principalId
