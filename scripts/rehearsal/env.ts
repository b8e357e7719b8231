/**
 * The environments of the rehearsal's child processes, built from nothing: no AWS profile,
 * key, session token, proxy or CA bundle of the developer's reaches osls, the CLI or the
 * function. osls's SDK clients send every request through HTTP(S)_PROXY when one is set
 * (node_modules/osls/lib/aws/config.js, with no NO_PROXY), so even a proxy would take the
 * requests for moto elsewhere.
 */

/** Where programs are, the home directory and the locale; TMPDIR is the rehearsal's own. */
export function baseEnv(tmpDir: string): Record<string, string> {
  const env: Record<string, string> = { TMPDIR: tmpDir };
  for (const name of ['PATH', 'HOME', 'LANG', 'LC_ALL'] as const) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The AWS SDK's variables for moto: every service at `endpoint`, test credentials, no files. */
export function localAwsEnv(endpoint: string, region: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // moto accepts any credentials; these are not an account's.
    AWS_ACCESS_KEY_ID: 'rehearsal',
    AWS_SECRET_ACCESS_KEY: 'rehearsal',
    // No ~/.aws config or credentials, and no instance metadata lookups.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    // package.json supports Node 20.19+; the SDK's notice about its future needs is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * osls's own settings. osls has no telemetry, update check or dashboard to turn off: its
 * README says it does not use Serverless Dashboard, Console or licensing services, and its
 * vendored utilities leave out the telemetry and notification helpers
 * (node_modules/osls/lib/utils/serverless-utils/README.md). What it does on its own is
 * wait between stack status polls, 5 s by default; moto finishes at once.
 */
export const OSLS_ENV: Readonly<Record<string, string>> = {
  SLS_AWS_MONITORING_FREQUENCY: '200',
};
