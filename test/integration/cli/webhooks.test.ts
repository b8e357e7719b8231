import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StandardReceiver, WecomRobotFake } from '../../../dev/receivers/index.js';
import { recentAttempts } from '../../../lib/store/webhook-log-query.js';
import { formEvent } from '../../fixtures/events.js';
import { newSecret, WebhookWorld } from '../webhooks/support.js';
import { cli, motoClients, type CliOptions } from './support.js';

const ROBOT_KEY = 'sales-robot-key-0042';

/** A CRM (`standard`) and the sales group's WeCom robot, as npm start sets them up. */
async function world({ crmRate }: { crmRate?: number } = {}) {
  const secret = newSecret();
  const w = await WebhookWorld.create((clock) => [
    {
      name: 'crm',
      format: 'standard',
      secret,
      receiver: new StandardReceiver({ clock, secrets: [secret] }),
      ...(crmRate !== undefined && { ratePerMinute: crmRate }),
    },
    { name: 'sales', format: 'wecom', receiver: new WecomRobotFake({ clock, key: ROBOT_KEY }) },
  ]);
  return { w, secret };
}

const crmOf = (w: WebhookWorld) => w.endpoint('crm').spec.receiver as StandardReceiver;
const salesOf = (w: WebhookWorld) => w.endpoint('sales').spec.receiver as WecomRobotFake;

/** `weiban-forms webhooks …` with the endpoints of `w`, as `npm start`'s env file sets them. */
const webhooks = (w: WebhookWorld, args: readonly string[], options: CliOptions = {}) =>
  cli(w, ['webhooks', ...args], { ...options, env: { ...w.cliEnv, ...options.env } });

/** Nothing the CLI printed may carry a secret or a robot key. */
function expectNoSecrets(output: string, secret: string) {
  expect(output).not.toContain(secret);
  expect(output).not.toContain(secret.slice('whsec_'.length));
  expect(output).not.toContain(ROBOT_KEY);
}

describe('weiban-forms webhooks', () => {
  let w: WebhookWorld;
  const temp = mkdtempSync(join(tmpdir(), 'weiban-webhooks-'));
  afterEach(async () => {
    await w.close();
  });
  afterAll(() => {
    rmSync(temp, { recursive: true, force: true });
  });

  it('lists every endpoint with its format, rate, queue and dead letters, and what to do about them', async () => {
    let secret: string;
    ({ w, secret } = await world());
    crmOf(w).fault({ kind: 'status', status: 410 });
    await w.publish([formEvent({ u_id: 1 }), formEvent({ u_id: 2 })]);
    await w.drain(['crm']);
    // The robot's two events wait in its queue: its event source has not run.

    const listed = await webhooks(w, ['list']);

    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(
      [
        `table ${w.tableName} · 2 webhook endpoint(s)`,
        'NAME   FORMAT    RATE     QUEUED  DEAD LETTERS',
        'crm    standard  600/min  0       1',
        'sales  wecom     20/min   2       0',
        'crm: 1 event(s) could not be delivered. See why with "weiban-forms webhooks log --endpoint crm", then move them back with "weiban-forms webhooks redrive --endpoint crm".',
        '',
      ].join('\n'),
    );
    expectNoSecrets(listed.stdout + listed.stderr, secret);
  });

  it('sends a signed sample event to a standard endpoint and a robot, showing each answer and never a key', async () => {
    let secret: string;
    ({ w, secret } = await world());

    const crm = await webhooks(w, ['test', '--endpoint', 'crm']);
    const sales = await webhooks(w, ['test', '--endpoint', 'sales']);

    const [delivery] = crmOf(w).deliveries;
    expect(crm.code).toBe(0);
    expect(crm.stdout).toMatch(
      /^Sent the test event (weiban:webhooks-test:1:\d+) to crm \(standard, http:\/\/127\.0\.0\.1:\d+\/hooks\/weiban\)\.\nHTTP 200 in \d+ ms: delivered\.\nAnswer: \{"ok":true\}\n$/,
    );
    expect(crm.stdout).toContain(delivery?.id ?? 'no delivery');
    expect(crmOf(w).refusals).toEqual([]);
    expect(sales.code).toBe(0);
    expect(sales.stdout).toMatch(
      /to sales \(wecom, http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/webhook\/send\?key=\*\*\*\)\.\nHTTP 200, code 0 in \d+ ms: delivered\.\nAnswer: \{"errcode":0,"errmsg":"ok"\}\n$/,
    );
    expect(salesOf(w).transcript()).toContain('新线索：测试用户（上海市）提交了《webhooks test》');
    const [logged] = await recentAttempts({ client: w.aws.doc, tableName: w.tableName }, 'sales');
    expect(logged).toMatchObject({ outcome: 'delivered', code: 0, attempt: 1 });
    expectNoSecrets(crm.stdout + crm.stderr + sales.stdout + sales.stderr, secret);
  });

  it('says why a test was not delivered, and exits 1', async () => {
    ({ w } = await world());
    crmOf(w).fault({ kind: 'status', status: 410 });
    salesOf(w).fault({ kind: 'invalidKey' });

    const crm = await webhooks(w, ['test', '--endpoint', 'crm']);
    const sales = await webhooks(w, ['test', '--endpoint', 'sales']);

    expect(crm.code).toBe(1);
    expect(crm.stdout).toContain('HTTP 410 in ');
    expect(crm.stdout).toContain(
      ' ms: refused; the delivery would dead-letter it: the receiver is gone (410).\nAnswer: {"error":"scripted 410"}\n',
    );
    expect(sales.code).toBe(1);
    expect(sales.stdout).toContain(
      ': refused; the delivery would dead-letter it: the robot key is invalid or the robot was removed (93000).',
    );
    expect(sales.stdout).not.toContain(ROBOT_KEY);
  });

  it('sends nothing when the endpoint’s shared window is full, and says when to try again', async () => {
    ({ w } = await world({ crmRate: 1 }));

    const first = await webhooks(w, ['test', '--endpoint', 'crm']);
    const second = await webhooks(w, ['test', '--endpoint', 'crm']);

    expect(first.code).toBe(0);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /^error: crm's send window is full \(1 a minute, shared with the deliveries\): nothing was sent; try again in (\d+s|1m( \d+s)?)\n$/,
    );
    expect(crmOf(w).arrivals).toHaveLength(1);
  });

  it('shows an endpoint’s attempts newest first, with outcome, status, code, latency and answer', async () => {
    ({ w } = await world());
    salesOf(w).fault({ kind: 'status', status: 502 });
    const event = formEvent({ u_id: 7 });
    await w.publish([event]);
    await w.drain(['sales']);

    const all = await webhooks(w, ['log', '--endpoint', 'sales']);
    const one = await webhooks(w, ['log', '--endpoint', 'sales', '--limit', '1']);

    const rows = all.stdout.trimEnd().split('\n').slice(2);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n')[0]).toBe(
      `table ${w.tableName} · sales (wecom) · the last 2 attempt(s), newest first`,
    );
    expect(all.stdout.split('\n')[1]).toMatch(
      /^TIME +EVENT +TRY +OUTCOME +STATUS +CODE +LATENCY +ANSWER +REASON$/,
    );
    expect(rows.map((row) => row.split(/ {2,}/).slice(1, 6))).toEqual([
      [event.id, '2', 'delivered', '200', '0'],
      [event.id, '1', 'retry', '502', '—'],
    ]);
    expect(rows[0]).toMatch(/ \d+ ms +\{"errcode":0,"errmsg":"ok"\} +—$/);
    expect(rows[1]).toMatch(/ \d+ ms +\{"error":"scripted 502"\} +the receiver failed \(502\)$/);
    expect(one.stdout.trimEnd().split('\n').slice(2)).toEqual([rows[0]]);
    expect(all.stdout).not.toContain(ROBOT_KEY);
  });

  it('lists a robot digest once for each event it told of, marked as a digest of them all', async () => {
    ({ w } = await world());
    // More than the robot's 20 a minute in one batch: they are merged into one digest.
    const events = Array.from({ length: 30 }, (_, index) => formEvent({ u_id: 100 + index }));
    await w.publish(events);
    await w.drain(['sales']);

    const listed = await webhooks(w, ['log', '--endpoint', 'sales', '--limit', '100']);

    const rows = listed.stdout.trimEnd().split('\n').slice(2);
    expect(listed.code).toBe(0);
    expect(salesOf(w).messages).toHaveLength(1);
    expect(rows.map((row) => row.split(/ {2,}/).slice(1, 4))).toEqual(
      [...events].reverse().map((event) => [`${event.id} (digest of 30)`, '1', 'delivered']),
    );
  });

  it('redrives dead letters with progress and a count, and their events get the full schedule again', async () => {
    ({ w } = await world());
    crmOf(w).fault({ kind: 'status', status: 410, times: 3 });
    const events = [1, 2, 3].map((uId) => formEvent({ u_id: uId }));
    await w.publish(events);
    await w.drain(['crm']);
    expect(await w.deadLetters('crm')).toHaveLength(3);

    const redriven = await webhooks(w, ['redrive', '--endpoint', 'crm']);
    await w.drain(['crm']);
    const again = await webhooks(w, ['redrive', '--endpoint', 'crm']);

    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toMatch(
      /^Moving about 3 dead letter\(s\) of crm back to its queue; each event's attempt count starts again\.\nredrive crm 1\/3 dead letters · moved back · [\d.,]+\/s\n(.*\n)*Moved 3 dead letter\(s\) back to crm's queue in [\d.]+s; the deliver function sends them with the full retry schedule\.\nThey had been dead-lettered because:\n {2}3 × the receiver is gone \(410\)\n$/,
    );
    expect(crmOf(w).ids()).toEqual(new Set(events.map((event) => event.id)));
    expect(await w.deadLetters('crm')).toEqual([]);
    // Counted from 1 again: the redrive reset each event's attempts.
    const log = await recentAttempts({ client: w.aws.doc, tableName: w.tableName }, 'crm');
    expect(log.filter((a) => a.outcome === 'delivered').map((a) => a.attempt)).toEqual([1, 1, 1]);
    expect(again.stdout).toBe("crm's dead-letter queue is empty: nothing to redrive.\n");
  });

  it('rotates a standard secret: the new one printed once on a terminal, both valid while the grace lasts', async () => {
    let secret: string;
    ({ w, secret } = await world());
    const param = `/${w.tableName}/crm/secret`;

    const piped = await webhooks(w, ['rotate-secret', '--endpoint', 'crm']);
    const rotated = await webhooks(w, ['rotate-secret', '--endpoint', 'crm', '--grace', '2h'], {
      terminal: true,
    });
    await w.publish([formEvent({ u_id: 5 })]);
    await w.drain(['crm']);

    expect(piped.code).toBe(2);
    expect(piped.stderr).toBe(
      'error: rotate-secret prints the new secret only to a terminal, and this output is not one (it could end up in a log): give --out FILE\n',
    );
    expect(rotated.code).toBe(0);
    const fresh =
      /^-{4} the new secret, shown this once: give it to the receiver -{4}\n(whsec_[A-Za-z0-9+/=]+)\n-{4} end of the new secret -{4}$/m.exec(
        rotated.stdout,
      )?.[1];
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.stdout.split(fresh ?? 'none')).toHaveLength(2);
    expect(rotated.stdout).toContain(`Rotated the signing secret of crm in ${param}.`);
    expect(rotated.stdout).toContain('The old secret stays valid until ');
    expectNoSecrets(rotated.stdout + rotated.stderr, secret);
    const stored = JSON.parse(await parameter(param)) as unknown;
    expect(stored).toEqual({
      current: fresh,
      previous: [{ secret, until: expect.any(Number) as unknown }],
    });
    const until = (stored as { previous: { until: number }[] }).previous[0]?.until ?? 0;
    expect(Math.abs(until - (w.clock.now() + 2 * 3_600_000))).toBeLessThan(60_000);
    // The delivery signs with both: a receiver with either secret alone verifies it.
    const [arrival] = crmOf(w).arrivals;
    expect(arrival?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    for (const key of [secret, fresh ?? '']) {
      expect(() =>
        new Webhook(key).verify(arrival?.body ?? '', arrival?.headers ?? {}),
      ).not.toThrow();
    }
  });

  it('writes the new secret to --out with mode 600 and never over an existing file', async () => {
    let secret: string;
    ({ w, secret } = await world());
    const param = `/${w.tableName}/crm/secret`;
    const out = join(temp, `secret-${randomUUID()}`);
    const taken = join(temp, `taken-${randomUUID()}`);
    writeFileSync(taken, 'keep me\n');

    const written = await webhooks(w, ['rotate-secret', '--endpoint', 'crm', '--out', out]);
    const afterFirst = await parameter(param);
    const refused = await webhooks(w, ['rotate-secret', '--endpoint', 'crm', '--out', taken]);

    const fresh = readFileSync(out, 'utf8').trim();
    expect(written.code).toBe(0);
    expect(written.stdout).toContain(
      `The new secret is in ${out} (mode 600): give it to the receiver.`,
    );
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(JSON.parse(afterFirst)).toMatchObject({ current: fresh, previous: [{ secret }] });
    expectNoSecrets(written.stdout + written.stderr, fresh);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error: ${taken} exists already: give --out a new file (nothing was rotated)\n`,
    );
    expect(await parameter(param)).toBe(afterFirst);
    expect(readFileSync(taken, 'utf8')).toBe('keep me\n');
  });

  it('refuses to rotate a robot’s secret, saying where a robot’s secret comes from', async () => {
    ({ w } = await world());

    const rotated = await webhooks(w, [
      'rotate-secret',
      '--endpoint',
      'sales',
      '--out',
      '/nonexistent/x',
    ]);
    const badGrace = await webhooks(w, ['rotate-secret', '--endpoint', 'crm', '--grace', '2 days']);

    expect(rotated.code).toBe(1);
    expect(rotated.stderr).toBe(
      'error: sales is a WeCom robot: WeCom robots sign nothing, so there is no secret to rotate\n',
    );
    expect(badGrace.code).toBe(2);
    expect(badGrace.stderr).toBe(
      'error: --grace must be a length of time such as 90m, 24h or 7d, at most 30d; got "2 days"\n',
    );
  });

  it('names the endpoints there are when --endpoint is missing or unknown, and where to find them', async () => {
    ({ w } = await world());

    const missing = await webhooks(w, ['log']);
    const unknown = await webhooks(w, ['redrive', '--endpoint', 'nope']);
    const nowhere = await cli(w, ['webhooks', 'list', '--table', w.tableName]);
    const help = await webhooks(w, ['rotate-secret', '--help']);

    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('error: --endpoint is required: the endpoints are crm, sales\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `error: table ${w.tableName} has no webhook endpoint "nope": the endpoints are crm, sales\n`,
    );
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/^error: say where the webhook endpoints are: --stage STAGE/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: weiban-forms webhooks rotate-secret --endpoint NAME/);
    expect(help.stdout).toContain('Without a terminal (a pipe, CI) it\nis never printed');
  });

  it('finds a deployed stage’s endpoints in its Webhooks output, and their settings in the deliver function', async () => {
    let secret: string;
    ({ w, secret } = await world());
    const stage = `w${randomUUID().slice(0, 8)}`;
    const crm = w.endpoint('crm');
    const sales = w.endpoint('sales');
    const { cloudFormation, ssm, lambda } = motoClients();
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: `weiban-forms-${stage}`,
        TemplateBody: JSON.stringify(deployedStack(stage, w)),
      }),
    );
    for (const client of [cloudFormation, ssm, lambda]) client.destroy();
    await w.publish([formEvent({ u_id: 9 })]);

    // The stage's WEBHOOKS setting is the function's, not the shell's: none is set here.
    const listed = await cli(w, ['webhooks', 'list', '--stage', stage]);
    const tested = await cli(w, ['webhooks', 'test', '--stage', stage, '--endpoint', 'crm']);

    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(
      `stack weiban-forms-${stage} (us-east-1) · 2 webhook endpoint(s)`,
    );
    expect(listed.stdout).toMatch(/\ncrm +standard +600\/min +1 +0\nsales +wecom +20\/min +1 +0\n/);
    expect(crm.queueUrl).not.toBe(sales.queueUrl);
    expect(tested.code).toBe(0);
    expect(tested.stdout).toContain('HTTP 200 in ');
    expect(crmOf(w).ids().size).toBe(1);
    expectNoSecrets(listed.stdout + tested.stdout + tested.stderr, secret);
  });
});

async function parameter(name: string): Promise<string> {
  const { ssm, cloudFormation, lambda } = motoClients();
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return out.Parameter?.Value ?? '';
  } finally {
    for (const client of [ssm, cloudFormation, lambda]) client.destroy();
  }
}

/**
 * A stack as the template deploys it, as far as the CLI reads it: the table output, the
 * Webhooks output, and the deliver function with its WEBHOOKS setting.
 */
function deployedStack(stage: string, w: WebhookWorld) {
  const list = [...w.endpoints.values()].map((endpoint) => ({
    name: endpoint.spec.name,
    format: endpoint.spec.format,
    queueUrl: endpoint.queueUrl,
    dlqUrl: endpoint.dlqUrl,
    ratePerMinute: endpoint.spec.format === 'standard' ? 600 : 20,
  }));
  return {
    Resources: {
      DeliverRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: `weiban-forms-${stage}-deliver`,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'lambda.amazonaws.com' },
                Action: 'sts:AssumeRole',
              },
            ],
          },
        },
      },
      DeliverLambdaFunction: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          FunctionName: `weiban-forms-${stage}-deliver`,
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: { 'Fn::GetAtt': ['DeliverRole', 'Arn'] },
          Code: { ZipFile: 'exports.handler = async () => ({ batchItemFailures: [] });' },
          Environment: {
            // The local receivers listen on loopback: as in npm start, the function allows it.
            Variables: {
              TABLE_NAME: w.tableName,
              WEBHOOKS: w.cliEnv.WEBHOOKS ?? '[]',
              WEBHOOK_ALLOW_LOOPBACK: 'true',
            },
          },
        },
      },
    },
    Outputs: {
      FormsTableName: { Value: w.tableName },
      EventsTopicArn: { Value: w.topicArn },
      Webhooks: { Value: JSON.stringify(list) },
    },
  };
}
