// Example parameters: copy, fill in, and deploy with
//   az deployment group create -g <kit resource group> -f bicep/main.bicep -p bicep/main.bicepparam
using 'main.bicep'

// The Log Analytics workspace where Microsoft Sentinel is enabled.
param workspaceName = 'law-sentinel'
param workspaceResourceGroupName = 'rg-sentinel'

// az ad sp show --id 98785600-1bb7-4fb9-b9fa-19afe2c8a360 --query id -o tsv
param sentinelAutomationPrincipalId = '00000000-0000-0000-0000-000000000000'

param namePrefix = 'spk'

// Only the receivers you use need a secret; the names match env:NAME in playbooks/receivers.yaml.
param receiverSecrets = [
  { appSetting: 'TEAMS_SOC_WEBHOOK_URL', secretName: 'teams-soc-webhook-url' }
  { appSetting: 'JIRA_EMAIL', secretName: 'jira-email' }
  { appSetting: 'JIRA_API_TOKEN', secretName: 'jira-api-token' }
  { appSetting: 'PAGERDUTY_ROUTING_KEY', secretName: 'pagerduty-routing-key' }
]

// Secret values are read from the environment at deploy time, never written here.
param receiverSecretValues = {
  TEAMS_SOC_WEBHOOK_URL: readEnvironmentVariable('TEAMS_SOC_WEBHOOK_URL', '')
}

param tags = {
  workload: 'sentinel-playbook-kit'
}
