metadata name = 'Azure Communication Services access'
metadata description = 'Lets the Function App\'s managed identity send email and SMS through an existing Azure Communication Services resource, scoped to that one resource, so no ACS access key is needed.'

@description('Required. Name of the existing Communication Services resource (in the resource group this module is deployed to).')
param communicationServicesName string

@description('Required. Name of the kit\'s Function App (its system-assigned identity gets the role).')
param functionAppName string

@description('Required. Resource group of the kit\'s Function App.')
param functionAppResourceGroupName string

// ACS has no send-only built-in role for Entra-authenticated requests; "Communication and Email Service
// Owner" is the narrowest built-in one that sends, and it is assigned on the one resource, never wider.
var communicationAndEmailServiceOwner = '09976791-48a7-449e-bb21-39d1a415f350'

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: communicationServicesName
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
  scope: resourceGroup(functionAppResourceGroupName)
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, functionApp.id, communicationAndEmailServiceOwner)
  scope: communication
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', communicationAndEmailServiceOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Sentinel Playbook Kit: email (emails:send) and SMS (/sms) with the managed identity.'
  }
}
