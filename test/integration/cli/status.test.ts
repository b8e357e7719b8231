import { randomUUID } from 'node:crypto';
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTime } from '../../../cli/format.js';
import type { FormStatus } from '../../../cli/commands/status.js';
import type { TopicSubscriptions } from '../../../cli/subscriptions.js';
import { World } from '../../support/world.js';
import { cli, motoClients, targetOf } from './support.js';

const HOUR_S = 3_600;
const NO_RETRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };

/** The table's rows as cells (columns are two or more spaces apart). */
const rowsOf = (stdout: string): string[][] =>
  stdout
    .split('\n')
    .filter((line) => /^\d+ /.test(line))
    .map((line) => line.split(/ {2,}/));

describe('weiban-forms status', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });
  const nowS = () => Math.floor(world.clock.now() / 1000);

  it('shows each form’s cursor, lag, submitters recorded and last run as the poller left them', async () => {
    world = await World.create({
      env: { FORM_IDS: '842,901', START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    world.simulator.submitMany(842, 12, (i) => ({ submit_at: nowS() - 1_000 + i }));
    world.simulator.submitMany(901, 5, (i) => ({ submit_at: nowS() - 500 + i }));
    const summary = await world.container()();
    const cursorOf = (formId: number) =>
      summary.forms.find((form) => form.form_id === formId)?.cursor ?? -1;

    const table = await cli(world, ['status', ...targetOf(world)]);
    const json = await cli(world, ['status', '--json', ...targetOf(world)]);

    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`table ${world.tableName}`);
    expect(rowsOf(table.stdout)).toEqual([
      [
        '842',
        formatTime(cursorOf(842)),
        expect.stringMatching(/^\d+s$/),
        // One poll so far: no interval achieved yet.
        '—',
        '12',
        expect.stringMatching(/ago$/),
        '—',
        'time',
        '—',
      ],
      [
        '901',
        formatTime(cursorOf(901)),
        expect.stringMatching(/^\d+s$/),
        '—',
        '5',
        expect.stringMatching(/ago$/),
        '—',
        'time',
        '—',
      ],
    ]);
    const forms = (JSON.parse(json.stdout) as { forms: FormStatus[] }).forms;
    expect(forms).toEqual([
      expect.objectContaining({
        form_id: 842,
        cursor_unix: cursorOf(842),
        recorded: 12,
        continuation: null,
        start_mode: 'time',
        last_error: null,
      }),
      expect.objectContaining({ form_id: 901, cursor_unix: cursorOf(901), recorded: 5 }),
    ]);
    expect(forms[0]?.last_ok_at).not.toBeNull();
  });

  it('shows the interval each form was actually polled at', async () => {
    world = await World.create({ env: { FORM_IDS: '842' } });
    const container = world.container();
    await container();
    world.clock.advance(40_000);
    world.simulator.submit(842, { submit_at: nowS() - 2 });
    await container();

    const table = await cli(world, ['status', ...targetOf(world)]);
    const json = await cli(world, ['status', '--json', ...targetOf(world)]);

    // 40 s on the test's clock, plus the real moments the two runs took.
    expect(rowsOf(table.stdout)[0]?.[3]).toMatch(/^4[0-4]s$/);
    const forms = (JSON.parse(json.stdout) as { forms: FormStatus[] }).forms;
    expect(forms[0]?.polled_every_seconds).toBeGreaterThanOrEqual(40);
    expect(forms[0]?.polled_every_seconds).toBeLessThan(45);
  });

  it('shows an unfinished window and the last error', async () => {
    world = await World.create({
      env: {
        FORM_IDS: '842,901',
        START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S),
        DEADLINE_MARGIN_MS: '5000',
      },
    });
    world.simulator.submitMany(842, 300, (i) => ({ submit_at: nowS() - 2_000 + i }));
    world.simulator.submitMany(901, 3, (i) => ({ submit_at: nowS() - 2_000 + i }));
    world.simulator.fault({ kind: 'html502', endpoint: 'list', formId: 901 });
    // Plenty of time for form 842's first page, then less than the 5 s margin.
    const pagesOf842 = () =>
      world.simulator.stats().listCalls.filter((call) => call.formId === 842).length;
    await world.container(NO_RETRY)({
      remainingMs: () => (pagesOf842() === 0 ? 60_000 : 4_000),
    });

    const table = await cli(world, ['status', ...targetOf(world)]);
    const json = await cli(world, ['status', '--json', ...targetOf(world)]);

    const [row842, row901] = rowsOf(table.stdout);
    expect(row842?.[6]).toBe('offset 100/300');
    expect(row901?.[8]).toMatch(/ago: Weiban form\/user\/list gave no usable answer: HTTP 502/);
    const forms = (JSON.parse(json.stdout) as { forms: FormStatus[] }).forms;
    expect(forms[0]?.continuation).toMatchObject({ offset: 100, total: 300 });
    expect(forms[1]?.last_error).toMatchObject({ name: 'TransportError' });
  });

  it('lists a form named with --form that was never polled as not started', async () => {
    world = await World.create();

    const result = await cli(world, ['status', '--form', '842,555', ...targetOf(world)]);

    expect(result.code).toBe(0);
    expect(rowsOf(result.stdout)).toEqual([
      ['842', 'not started', '—', '—', '0', '—', '—', '—', '—'],
      ['555', 'not started', '—', '—', '0', '—', '—', '—', '—'],
    ]);
  });

  it('says so when no form has state yet', async () => {
    world = await World.create();

    const result = await cli(world, ['status', ...targetOf(world)]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No form has state yet');
  });

  it('counts the events topic’s subscriptions by protocol, in the table and in --json', async () => {
    world = await World.create();
    const { aws, topicArn } = world;
    const subscribe = (Protocol: string, Endpoint: string) =>
      aws.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol, Endpoint }));
    await subscribe('sqs', 'arn:aws:sqs:us-east-1:123456789012:crm-intake');
    await subscribe('https', 'https://crm.example.com/hooks/weiban');
    await subscribe('lambda', 'arn:aws:lambda:us-east-1:123456789012:function:crm-sync');

    const table = await cli(world, ['status', ...targetOf(world)]);
    const json = await cli(world, ['status', '--json', ...targetOf(world)]);

    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[1]).toBe('Subscriptions: https 1, lambda 1, sqs 2');
    expect(table.stdout).not.toContain('reach nobody');
    expect(
      (JSON.parse(json.stdout) as { subscriptions: TopicSubscriptions }).subscriptions,
    ).toEqual({
      topic_arn: topicArn,
      total: 4,
      pending_confirmation: 0,
      by_protocol: [
        { protocol: 'https', confirmed: 1, pending_confirmation: 0 },
        { protocol: 'lambda', confirmed: 1, pending_confirmation: 0 },
        { protocol: 'sqs', confirmed: 2, pending_confirmation: 0 },
      ],
    });
  });

  it('says that events reach nobody when the events topic has no subscription', async () => {
    world = await World.create();
    const { TopicArn: lonely = '' } = await world.aws.sns.send(
      new CreateTopicCommand({ Name: `${world.tableName}-lonely` }),
    );
    const target = ['--table', world.tableName, '--topic', lonely];

    const table = await cli(world, ['status', ...target]);
    const json = await cli(world, ['status', '--json', ...target]);
    const noTopic = await cli(world, ['status', '--table', world.tableName]);

    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[1]).toBe(
      "No subscriptions: events published now reach nobody (add one with the stage's subscriptions param).",
    );
    expect(
      (JSON.parse(json.stdout) as { subscriptions: TopicSubscriptions }).subscriptions,
    ).toEqual({ topic_arn: lonely, total: 0, pending_confirmation: 0, by_protocol: [] });
    expect(noTopic.stdout.split('\n')[1]).toBe(
      'Subscriptions: not checked (give --topic ARN or --stage STAGE to see where events go).',
    );
  });

  it('finds the table of a deployed stage in its stack outputs', async () => {
    world = await World.create({
      env: { START_FROM: String(Math.floor(Date.now() / 1000) - HOUR_S) },
    });
    world.simulator.submitMany(842, 4, (i) => ({ submit_at: nowS() - 100 + i }));
    await world.container()();
    const stage = `t${randomUUID().slice(0, 8)}`;
    const { cloudFormation, ssm } = motoClients();
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: `weiban-forms-${stage}`,
        TemplateBody: JSON.stringify({
          Resources: { Marker: { Type: 'AWS::SNS::Topic', Properties: { TopicName: stage } } },
          Outputs: {
            FormsTableName: { Value: world.tableName },
            EventsTopicArn: { Value: world.topicArn },
          },
        }),
      }),
    );
    cloudFormation.destroy();
    ssm.destroy();

    const found = await cli(world, ['status', '--stage', stage]);
    const missing = await cli(world, ['status', '--stage', 'nosuchstage']);

    expect(found.code).toBe(0);
    expect(found.stdout).toContain(`stack weiban-forms-${stage} (us-east-1)`);
    const [row] = rowsOf(found.stdout);
    expect([row?.[0], row?.[4]]).toEqual(['842', '4']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'error: stack weiban-forms-nosuchstage does not exist in us-east-1: check --stage and --region\n',
    );
  });
});
