metadata name = 'Thin Sentinel playbooks'
metadata description = 'One Consumption Logic App per playbook key: the Microsoft Sentinel incident trigger (API connection authenticated by managed identity, so nothing is authorised by hand) and one HTTP action that hands the trigger body to the kit\'s dispatch function. Also lets Microsoft Sentinel run them.'

import { playbookName } from '../types.bicep'

@description('Required. Azure region.')
param location string

@description('Required. Playbooks to deploy: the key rules/*.yaml use and the Logic App name.')
param playbookNames playbookName[]

@description('Required. Name of the azuresentinel API connection.')
param connectionName string

@description('Required. Name of the kit\'s Function App in this resource group (its dispatch function is called).')
param functionAppName string

@description('Required. Object id of the "Azure Security Insights" service principal in this tenant (appId 98785600-1bb7-4fb9-b9fa-19afe2c8a360).')
param sentinelPrincipalId string

@description('Optional. Retries of the dispatch call (exponential back-off) before a run fails.')
@minValue(1)
@maxValue(90)
param dispatchRetryCount int = 10

@description('Optional. Tags for every resource.')
param tags object = {}

var automationContributorRoleId = 'f4c81013-99ee-4d62-a7ee-b3f1f648599a'
var sentinelApiId = subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'azuresentinel')

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
}

// One connection serves every playbook: with managed-identity authentication each Logic App signs in as itself.
resource sentinelConnection 'Microsoft.Web/connections@2016-06-01' = {
  name: connectionName
  location: location
  tags: tags
  properties: {
    displayName: 'Microsoft Sentinel (managed identity)'
    api: {
      id: sentinelApiId
    }
    // The service needs 'Alternative' for a managed-identity connection (without it the deployment fails with
    // WorkflowManagedIdentityConfigurationInvalid), but the published type of this API version lacks the property.
    #disable-next-line BCP037
    parameterValueType: 'Alternative'
  }
}

var definition = {
  '$schema': 'https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#'
  contentVersion: '1.0.0.0'
  parameters: {
    '$connections': { type: 'Object', defaultValue: {} }
    dispatchUrl: { type: 'String' }
    // SecureString: the workflow API never returns it, and the action's secure inputs keep it out of run history
    functionKey: { type: 'SecureString' }
  }
  triggers: {
    Microsoft_Sentinel_incident: {
      type: 'ApiConnectionWebhook'
      inputs: {
        body: { callback_url: '@{listCallbackUrl()}' }
        host: { connection: { name: '@parameters(\'$connections\')[\'azuresentinel\'][\'connectionId\']' } }
        path: '/incident-creation'
      }
    }
  }
  actions: {
    Dispatch_to_kit: {
      type: 'Http'
      inputs: {
        method: 'POST'
        uri: '@parameters(\'dispatchUrl\')'
        headers: {
          'Content-Type': 'application/json'
          'x-functions-key': '@parameters(\'functionKey\')'
        }
        body: '@triggerBody()'
        retryPolicy: {
          type: 'exponential'
          count: dispatchRetryCount
          interval: 'PT10S'
          minimumInterval: 'PT5S'
          maximumInterval: 'PT1H'
        }
      }
      runtimeConfiguration: {
        secureData: { properties: ['inputs'] }
      }
      runAfter: {}
    }
  }
  outputs: {}
}

resource playbooks 'Microsoft.Logic/workflows@2019-05-01' = [
  for p in playbookNames: {
    name: p.name
    location: location
    tags: tags
    identity: {
      type: 'SystemAssigned'
    }
    properties: {
      state: 'Enabled'
      definition: definition
      parameters: {
        '$connections': {
          value: {
            azuresentinel: {
              connectionId: sentinelConnection.id
              connectionName: sentinelConnection.name
              id: sentinelApiId
              connectionProperties: {
                authentication: {
                  type: 'ManagedServiceIdentity'
                }
              }
            }
          }
        }
        dispatchUrl: {
          value: 'https://${functionApp.properties.defaultHostName}/api/dispatch'
        }
        functionKey: {
          // sites/host has no Bicep type to reference symbolically, so the host key is listed by id
          value: listKeys('${functionApp.id}/host/default', '2024-11-01').functionKeys.default
        }
      }
    }
  }
]

// Without this role Sentinel lists the playbooks as unavailable and automation rules cannot run them.
resource sentinelRunsPlaybooks 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, sentinelPrincipalId, automationContributorRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', automationContributorRoleId)
    principalId: sentinelPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Lets Microsoft Sentinel automation rules run the Playbook Kit playbooks in this resource group.'
  }
}
