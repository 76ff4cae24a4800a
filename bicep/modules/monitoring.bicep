metadata name = 'Function App telemetry'
metadata description = 'Application Insights for the kit, on a Log Analytics workspace of its own so app telemetry is not billed as Sentinel data.'

@description('Required. Azure region.')
param location string

@description('Required. Name of the Log Analytics workspace for app telemetry.')
@minLength(4)
@maxLength(63)
param logAnalyticsName string

@description('Required. Name of the Application Insights component.')
@minLength(1)
@maxLength(260)
param appInsightsName string

@description('Optional. Days to keep app telemetry.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Optional. Tags for every resource.')
param tags object = {}

resource telemetryWorkspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
    features: { enableLogAccessUsingOnlyResourcePermissions: true }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: telemetryWorkspace.id
    // ingestion only with Entra tokens: the app's identity holds Monitoring Metrics Publisher
    DisableLocalAuth: true
  }
}

@description('Resource id of the Application Insights component.')
output appInsightsId string = appInsights.id

@description('Name of the Application Insights component.')
output appInsightsName string = appInsights.name
