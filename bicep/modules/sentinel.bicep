metadata name = 'Sentinel automation'
metadata description = 'Deployed into the workspace\'s resource group: the automation rules (from rules/*.yaml) that run the kit\'s playbooks, and the roles the kit\'s identities need on the workspace.'

import { automationRule, playbookName } from '../types.bicep'

@description('Required. Name of the Log Analytics workspace with Microsoft Sentinel enabled.')
param workspaceName string

@description('Required. Automation rules as rules/*.yaml describe them.')
param rules automationRule[]

@description('Required. Resource group of the kit\'s Function App and playbooks.')
param kitResourceGroupName string

@description('Required. Name of the kit\'s Function App: its identity reads incidents and comments back on them.')
param functionAppName string

@description('Required. The kit\'s playbooks: their identities sign in to the Sentinel trigger connection.')
param playbookNames playbookName[]

var responderRoleId = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
var readerRoleId = '8d289c81-5878-46d4-8554-54e1e3d8b5cb'
var playbookIdByKey = toObject(
  playbookNames,
  p => p.key,
  p => resourceId(subscription().subscriptionId, kitResourceGroupName, 'Microsoft.Logic/workflows', p.name)
)

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
  scope: resourceGroup(kitResourceGroupName)
}

resource playbooks 'Microsoft.Logic/workflows@2019-05-01' existing = [
  for p in playbookNames: {
    name: p.name
    scope: resourceGroup(kitResourceGroupName)
  }
]

// Names are guid(workspace, 'sentinel-playbook-kit', rule name): stable across deployments, so a rule edited in
// rules/*.yaml is updated in place, and two kits' rules never collide.
resource automationRules 'Microsoft.SecurityInsights/automationRules@2025-09-01' = [
  for rule in rules: {
    scope: workspace
    name: guid(workspace.id, 'sentinel-playbook-kit', rule.name)
    properties: {
      displayName: rule.displayName
      order: rule.order
      triggeringLogic: rule.triggeringLogic
      actions: [
        {
          order: 1
          actionType: 'RunPlaybook'
          actionConfiguration: {
            logicAppResourceId: playbookIdByKey[rule.playbook]
            tenantId: tenant().tenantId
          }
        }
      ]
    }
  }
]

// Responder, not Contributor: the kit comments on incidents and may set tags, and it never edits workspace content.
resource appResponder 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, functionApp.id, responderRoleId)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', responderRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Sentinel Playbook Kit Function App: read incidents, comment back with what was sent.'
  }
}

// The playbooks only receive incidents and hand them on, so Reader is all their identities get.
resource playbookReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (p, i) in playbookNames: {
    name: guid(workspace.id, playbooks[i].id, readerRoleId)
    scope: workspace
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
      principalId: playbooks[i].identity.principalId
      principalType: 'ServicePrincipal'
      description: 'Sentinel Playbook Kit playbook: Microsoft Sentinel incident trigger.'
    }
  }
]

@description('Resource ids of the automation rules.')
output automationRuleIds string[] = [for (rule, i) in rules: automationRules[i].id]
