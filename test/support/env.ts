/** A complete, valid environment for the poller (docs/guarantees.md#config), with overrides. */
export function validEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    WEIBAN_CORP_ID: 'corp-1',
    WEIBAN_SECRET: 'topsecret-value',
    FORM_IDS: '842,901',
    TABLE_NAME: 'weiban-forms-test',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:weiban-forms-events',
    ...overrides,
  };
}
