metadata name = 'Kit state storage'
metadata description = 'The storage account of the Function App: host storage, the deployment package container, and the kit\'s queues and tables. Shared keys are off: everything signs in with Entra ID.'

@description('Required. Azure region.')
param location string

@description('Required. Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Required. Blob container the Flex Consumption app is deployed from.')
param deploymentContainerName string

@description('Required. Queues the kit uses (deliveries and its poison queue).')
param queueNames string[]

@description('Required. Tables the kit uses (snapshots, ledger, leases, tickets, watermarks, acknowledgements).')
param tableNames string[]

@description('Optional. Tags for every resource.')
param tags object = {}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for q in queueNames: {
    parent: queueService
    name: q
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-01-01' = [
  for t in tableNames: {
    parent: tableService
    name: t
  }
]

@description('Name of the storage account.')
output storageAccountName string = storage.name

@description('Blob endpoint of the storage account.')
output blobEndpoint string = storage.properties.primaryEndpoints.blob

@description('Name of the deployment package container.')
output deploymentContainerName string = deploymentContainer.name
