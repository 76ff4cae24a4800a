metadata name = 'Sentinel automation'
metadata description = 'Deployed into the workspace\'s resource group: the automation rules (from rules/*.yaml) that run the kit\'s playbooks, and the roles the kit\'s identities need on the workspace.'

import { automationRule } from '../types.bicep'

@description('Required. Name of the Log Analytics workspace with Microsoft Sentinel enabled.')
param workspaceName string

@description('Required. Automation rules as rules/*.yaml describe them.')
param rules automationRule[]

@description('Required. Playbook key and Logic App resource id of each playbook (from playbooks.bicep).')
param playbookIds object[]

@description('Required. Object id of the Function App\'s identity: it reads incidents and comments back on them.')
param functionAppPrincipalId string

@description('Required. Object ids of the playbooks\' identities: the Sentinel trigger connection signs in as them.')
param playbookPrincipalIds string[]

var responderRoleId = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
var readerRoleId = '8d289c81-5878-46d4-8554-54e1e3d8b5cb'
var playbookIdByKey = toObject(playbookIds, p => p.key, p => p.id)

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

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
  name: guid(workspace.id, functionAppPrincipalId, responderRoleId)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', responderRoleId)
    principalId: functionAppPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Sentinel Playbook Kit Function App: read incidents, comment back with what was sent.'
  }
}

// The playbooks only receive incidents and hand them on, so Reader is all their identities get.
resource playbookReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in playbookPrincipalIds: {
    name: guid(workspace.id, principalId, readerRoleId)
    scope: workspace
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'Sentinel Playbook Kit playbook: Microsoft Sentinel incident trigger.'
    }
  }
]

@description('Resource ids of the automation rules.')
output automationRuleIds string[] = [for (rule, i) in rules: automationRules[i].id]
