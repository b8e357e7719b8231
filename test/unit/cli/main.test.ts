import { describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../../cli/io.js';
import { main } from '../../../cli/main.js';
import { systemClock } from '../../../lib/clock.js';

function io(env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const clients = vi.fn(() => {
    throw new Error('no AWS client should be needed');
  });
  const value: CliIo = {
    env,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    clients,
    clock: systemClock,
  };
  return { value, clients, out: () => stdout, err: () => stderr };
}

describe('the weiban-forms command line', () => {
  it.each([
    ['the stage’s region in serverless.yml', {}, 'ap-northeast-1'],
    ['AWS_REGION over serverless.yml', { AWS_REGION: 'us-east-1' }, 'us-east-1'],
    ['AWS_DEFAULT_REGION over serverless.yml', { AWS_DEFAULT_REGION: 'eu-west-1' }, 'eu-west-1'],
  ])('builds the AWS clients of --stage without --region for %s', async (_label, env, region) => {
    const cli = io(env);

    const code = await main(['status', '--stage', 'prod'], cli.value);

    expect(code).toBe(1);
    expect(cli.clients.mock.calls).toEqual([[region]]);
  });

  it('builds the AWS clients for --region, whatever the environment says', async () => {
    const cli = io({ AWS_REGION: 'us-east-1' });

    await main(['status', '--stage', 'prod', '--region', 'us-west-2'], cli.value);

    expect(cli.clients.mock.calls).toEqual([['us-west-2']]);
  });

  it('lists every command with --help and exits 0', async () => {
    const cli = io();

    const code = await main(['--help'], cli.value);

    expect(code).toBe(0);
    for (const command of ['status', 'replay', 'backfill', 'reset', 'token-check', 'probe']) {
      expect(cli.out()).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    }
  });

  it('prints a command’s own help', async () => {
    const cli = io();

    const code = await main(['replay', '--help'], cli.value);

    expect(code).toBe(0);
    expect(cli.out()).toMatch(
      /^Usage: weiban-forms replay --form ID \(--since T \[--until T\] \| --u-id N\)/,
    );
  });

  it.each([
    [[], 2, /^weiban-forms: look after/],
    [['stats'], 2, /^error: unknown command "stats"/],
    [
      ['replay', '--form', '842', '--since', 'yesterday'],
      2,
      /^error: --since must be unix seconds/,
    ],
    [
      ['replay', '--form', '842'],
      2,
      /^error: replay needs --since T \[--until T\], or --u-id N\n$/,
    ],
    [
      ['backfill', '--form', '842', '--since', 'now', '--until', '1'],
      2,
      /^error: --since must not be later than --until\n$/,
    ],
    [
      ['status', 'extra'],
      2,
      /^error: Unexpected argument 'extra' \(see weiban-forms status --help\)\n$/,
    ],
    [['status'], 2, /^error: say which deployment: --stage STAGE/],
  ])('refuses %j with exit code %i and one line', async (argv, exitCode, message) => {
    const cli = io();

    const code = await main(argv, cli.value);

    expect(code).toBe(exitCode);
    expect(cli.err()).toMatch(message);
    expect(cli.err()).not.toMatch(/^\s+at /m);
  });

  it('turns an unexpected failure into one sentence and exit code 1', async () => {
    const cli = io({ TABLE_NAME: 'weiban-forms-dev' });
    cli.clients.mockImplementation(() => {
      throw Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      });
    });

    const code = await main(['status'], cli.value);

    expect(code).toBe(1);
    expect(cli.err()).toBe(
      'error: no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values work against the local emulators)\n',
    );
  });
});
