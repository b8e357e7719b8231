import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../../support/world.js';
import { cli, motoClients, simulatorEnv } from './support.js';

describe('weiban-forms token-check', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  /** A fetch that remembers every access_token Weiban handed out. */
  function watchingTokens(): { fetch: typeof fetch; tokens: string[] } {
    const tokens: string[] = [];
    return {
      tokens,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const body = (await response.clone().json()) as { access_token?: string };
        if (body.access_token !== undefined) tokens.push(body.access_token);
        return response;
      },
    };
  }

  it('reports that a token was issued, and never prints it or the secret', async () => {
    world = await World.create();
    const watch = watchingTokens();

    const result = await cli(world, ['token-check'], {
      env: simulatorEnv(world),
      fetch: watch.fetch,
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `Token OK: ${world.simulator.url} issued an access token to corp sim-corp with the secret from WEIBAN_SECRET (valid for 2h). The token is not shown.\n`,
    );
    expect(watch.tokens).toHaveLength(1);
    for (const secret of [...watch.tokens, 'sim-secret']) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it('reads the secret from the SSM parameter WEIBAN_SECRET_PARAM names', async () => {
    world = await World.create();
    const name = `/weiban-forms/${randomUUID().slice(0, 8)}/weiban-secret`;
    const { ssm, cloudFormation } = motoClients();
    await ssm.send(
      new PutParameterCommand({ Name: name, Value: 'sim-secret', Type: 'SecureString' }),
    );
    ssm.destroy();
    cloudFormation.destroy();

    const result = await cli(world, ['token-check'], {
      env: { ...simulatorEnv(world), WEIBAN_SECRET: undefined, WEIBAN_SECRET_PARAM: name },
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`with the secret from SSM parameter ${name}`);
    expect(result.stdout).not.toContain('sim-secret');
  });

  it('says in one line that Weiban refused a wrong secret, without the secret', async () => {
    world = await World.create();
    const wrong = 'wrong-secret-4711';

    const result = await cli(world, ['token-check'], {
      env: { ...simulatorEnv(world), WEIBAN_SECRET: wrong },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: Weiban refused the credentials of corp sim-corp \(secret from WEIBAN_SECRET\): Weiban access_token\/get answered errcode 10003: .*\n$/,
    );
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });

  it('names the missing variable', async () => {
    world = await World.create();

    const result = await cli(world, ['token-check'], { env: { WEIBAN_SECRET: 'x' } });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: WEIBAN_CORP_ID is required: /);
  });
});
