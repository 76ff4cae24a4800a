metadata name = 'Receiver secrets vault'
metadata description = 'Key Vault in RBAC mode holding every receiver secret; the Function App reads them through Key Vault references.'

@description('Required. Azure region.')
param location string

@description('Required. Key Vault name (3-24 letters, digits and dashes).')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Optional. Turn on purge protection. It cannot be turned off again, and a deleted vault then keeps its name for the retention period.')
param enablePurgeProtection bool = true

@description('Optional. Secret names (in this vault) and their values to store now. Leave empty to set the values later with az keyvault secret set.')
@secure()
param secretValues object = {}

@description('Optional. Tags for every resource.')
param tags object = {}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // the property accepts only true or absent; absent leaves it off
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource secrets 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = [
  for secretName in objectKeys(secretValues): {
    parent: vault
    name: secretName
    properties: {
      value: secretValues[secretName]
      contentType: 'text/plain'
    }
  }
]

@description('Name of the Key Vault.')
output keyVaultName string = vault.name

@description('Resource id of the Key Vault.')
output keyVaultId string = vault.id
