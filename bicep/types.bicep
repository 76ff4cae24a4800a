metadata description = 'Types shared by main.bicep and its modules.'

@export()
@description('One receiver secret: the app setting the kit reads (env:NAME in playbooks/receivers.yaml) and the Key Vault secret behind it.')
type receiverSecret = {
  @description('Required. App setting name, e.g. JIRA_API_TOKEN.')
  @minLength(1)
  appSetting: string

  @description('Required. Key Vault secret name (letters, digits and dashes), e.g. jira-api-token.')
  @minLength(1)
  @maxLength(127)
  secretName: string
}

@export()
@description('A Sentinel automation rule as rules/*.yaml describes it; main.bicep adds the RunPlaybook action.')
type automationRule = {
  @description('Required. Stable key of the rule; the resource name is derived from it.')
  name: string

  @description('Required. Name shown in Sentinel.')
  displayName: string

  @description('Required. Position among automation rules (1-1000).')
  order: int

  @description('Required. Key of the playbook (Logic App) the rule runs.')
  playbook: string

  @description('Required. Trigger and conditions, as the automationRules API takes them (loadYamlContent data is not type-checked by Bicep; test/bicep checks rules/*.yaml with ruleFromYaml).')
  triggeringLogic: resourceInput<'Microsoft.SecurityInsights/automationRules@2025-09-01'>.properties.triggeringLogic
}

@export()
@description('A playbook (Logic App): the key rules/*.yaml name it by, and its resource name.')
type playbookName = {
  @description('Required. Key used by the rules\' playbook field.')
  key: string

  @description('Required. Logic App name.')
  name: string
}
