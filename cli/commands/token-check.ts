import { loadWeibanConfig } from '../../lib/config.js';
import { secretSource } from '../../lib/secret.js';
import { tokenFetcher } from '../../lib/weiban/client.js';
import { WeibanApiError } from '../../lib/weiban/errors.js';
import { WeibanLimiter } from '../../lib/weiban/limiter.js';
import { WeibanTransport } from '../../lib/weiban/transport.js';
import type { Command, CommandContext } from '../command.js';
import { CliError } from '../errors.js';
import { formatDuration } from '../format.js';
import { println } from '../io.js';
import { withStageSecret } from '../target.js';

export const tokenCheckCommand: Command = {
  name: 'token-check',
  summary: 'obtain a Weiban token with the configured credentials (the token is never shown)',
  targeted: false,
  options: { stage: { type: 'string' }, region: { type: 'string' } },
  help: `Usage: weiban-forms token-check [--stage STAGE] [--region REGION]

Asks Weiban for an access token with WEIBAN_CORP_ID and WEIBAN_SECRET (or the SSM
parameter WEIBAN_SECRET_PARAM names) and says whether it worked. Neither the token nor the
secret is printed. WEIBAN_BASE_URL selects another Weiban origin (e.g. the local simulator).

  --stage STAGE     without a secret variable, read the stage's SSM parameter
                    /weiban-forms/STAGE/weiban-secret
  --region REGION   the parameter's region (default: AWS_REGION or AWS_DEFAULT_REGION,
                    else with --stage the stage's region in serverless.yml)

Example: WEIBAN_CORP_ID=wwa1b2c3 weiban-forms token-check --stage prod`,
  run: tokenCheck,
};

async function tokenCheck(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const config = loadWeibanConfig(withStageSecret(io.env, ctx.string('stage')));
  const transport = new WeibanTransport({
    baseUrl: config.weibanBaseUrl,
    limiter: new WeibanLimiter({ maxInFlight: 1, perMinute: config.maxPerMinute, clock: io.clock }),
    clock: io.clock,
    requestTimeoutMs: config.requestTimeoutMs,
    ...(io.fetch !== undefined && { fetch: io.fetch }),
  });
  const { region } = ctx;
  const secretFrom =
    config.secret.kind === 'plain'
      ? 'WEIBAN_SECRET'
      : `SSM parameter ${config.secret.name}${region.from === 'serverless.yml' ? ` in ${region.region ?? ''} (the stage's region in serverless.yml)` : ''}`;
  const fetchToken = tokenFetcher(
    transport,
    config.corpId,
    secretSource(config.secret, ctx.clients().ssm, io.clock),
  );
  let expiresIn: number | undefined;
  try {
    ({ expiresIn } = await fetchToken(io.signal));
  } catch (error: unknown) {
    if (error instanceof WeibanApiError) {
      throw new CliError(
        `Weiban refused the credentials of corp ${config.corpId} (secret from ${secretFrom}): ${error.message}`,
      );
    }
    throw error;
  }
  const validity =
    expiresIn === undefined ? 'no expires_in given' : `valid for ${formatDuration(expiresIn)}`;
  println(
    io.stdout,
    `Token OK: ${config.weibanBaseUrl} issued an access token to corp ${config.corpId} with the secret from ${secretFrom} (${validity}). The token is not shown.`,
  );
  return 0;
}
