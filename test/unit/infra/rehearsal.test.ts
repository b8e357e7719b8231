import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { expectedOutputs } from '../../../scripts/rehearsal/checks.js';
import { RehearsalError } from '../../../scripts/rehearsal/errors.js';
import { compareGaps, motoTail, skippedTypes } from '../../../scripts/rehearsal/moto.js';
import {
  EXPECTED_MOTO_SKIPS,
  EXPECTED_UNPROVEN,
  firstParams,
  paramArgs,
  updateParams,
} from '../../../scripts/rehearsal/plan.js';
import { requireSuccess, run } from '../../../scripts/rehearsal/processes.js';
import { explained } from '../../../scripts/rehearsal/rehearse.js';

const queueArn = (name: string) => `arn:aws:sqs:ap-northeast-1:123456789012:${name}`;

// What moto 5.2 prints while it deploys the stack (abridged).
const MOTO_OUTPUT = [
  'WARNING: This is a development server. Do not use it in a production deployment. Use a production WSGI server instead.',
  ' * Running on http://127.0.0.1:45123',
  'Press CTRL+C to quit',
  '127.0.0.1 - - [01/Dec/2026 11:23:40] "PUT /bucket/serverless/weiban-forms.zip?x-id=PutObject HTTP/1.1" 200 -',
  'No Moto CloudFormation support for AWS::S3::BucketPolicy',
  "/site-packages/moto/cloudformation/parsing.py:341: UserWarning: Tried to parse AWS::S3::BucketPolicy but it's not supported by moto's CloudFormation implementation",
  'No Moto CloudFormation support for AWS::SNS::Subscription',
  'No Moto CloudFormation support for AWS::CloudWatch::Alarm',
  'No Moto CloudFormation support for AWS::SNS::Subscription',
  '127.0.0.1 - - [01/Dec/2026 11:24:51] "POST / HTTP/1.1" 500 -',
  'Traceback (most recent call last):',
  "KeyError: 'sls-weiban-forms-rehearsal-ServerlessDeploymentBucketName'",
  '127.0.0.1 - - [01/Dec/2026 11:24:56] "POST / HTTP/1.1" 200 -',
].join('\n');

describe('the rehearsal params', () => {
  it('are passed to osls as --param, text as it is and lists as JSON', () => {
    expect(paramArgs(firstParams(queueArn))).toEqual([
      '--param=weibanCorpId=rehearsal-corp',
      '--param=formIds=842',
      '--param=alarmEmail=ops@example.com',
      `--param=subscriptions=${JSON.stringify([
        { name: 'Crm', protocol: 'https', endpoint: 'https://crm.example.com/weiban' },
        { protocol: 'sqs', endpoint: queueArn('rehearsal-intake') },
      ])}`,
      `--param=webhooks=${JSON.stringify([
        {
          name: 'Crm',
          format: 'standard',
          url: 'https://crm.example.com/hooks/weiban',
          secretParam: '/weiban-forms/rehearsal/crm-webhook-secret',
        },
      ])}`,
    ]);
  });

  it('change the forms and the subscriptions for the update, and keep the rest', () => {
    const first = firstParams(queueArn);
    const update = updateParams(queueArn);

    expect(update.formIds).toBe('842,901');
    expect(update.subscriptions).toEqual([
      {
        name: 'Crm',
        protocol: 'https',
        endpoint: 'https://crm.example.com/weiban',
        filterPolicy: { form_id: [842, 901] },
      },
      { protocol: 'sqs', endpoint: queueArn('rehearsal-intake-moved') },
    ]);
    expect({ ...update, formIds: first.formIds, subscriptions: first.subscriptions }).toEqual(
      first,
    );
  });

  it('expect a dead-letter queue output per subscription and the alarm email, and the webhook queues: the named subscription keeps its own, the moved one gets a new one', () => {
    const first = expectedOutputs(firstParams(queueArn));
    const update = expectedOutputs(updateParams(queueArn));
    const fixed = [
      'FormsTableName',
      'EventsTopicArn',
      'AlarmTopicArn',
      'Webhooks',
      'AlarmEmailDlqUrl',
      'EventsSubscriptionCrmDlqUrl',
    ];
    const webhook = ['WebhookCrmQueueUrl', 'WebhookCrmDlqUrl'];

    expect(first).toEqual([
      ...fixed,
      expect.stringMatching(/^EventsSubscriptionS[0-9a-f]{10}DlqUrl$/),
      ...webhook,
    ]);
    expect(update).toEqual([
      ...fixed,
      expect.stringMatching(/^EventsSubscriptionS[0-9a-f]{10}DlqUrl$/),
      ...webhook,
    ]);
    expect(update[6]).not.toBe(first[6]);
  });

  it('expect no alarm email dead-letter queue without an alarm email, and no webhook outputs without webhooks', () => {
    const rest = Object.fromEntries(
      Object.entries(firstParams(queueArn)).filter(
        ([name]) => name !== 'alarmEmail' && name !== 'webhooks',
      ),
    );

    expect(expectedOutputs(rest)).toEqual([
      'FormsTableName',
      'EventsTopicArn',
      'AlarmTopicArn',
      'Webhooks',
      'EventsSubscriptionCrmDlqUrl',
      expect.stringMatching(/^EventsSubscriptionS[0-9a-f]{10}DlqUrl$/),
    ]);
  });
});

describe("moto's output", () => {
  it('names the skipped resource types, each once, sorted', () => {
    expect(skippedTypes(MOTO_OUTPUT)).toEqual([
      'AWS::CloudWatch::Alarm',
      'AWS::S3::BucketPolicy',
      'AWS::SNS::Subscription',
    ]);
  });

  it('is shown without its banner and its log of answered requests, errors kept', () => {
    expect(motoTail(MOTO_OUTPUT, 3).split('\n')).toEqual([
      '127.0.0.1 - - [01/Dec/2026 11:24:51] "POST / HTTP/1.1" 500 -',
      'Traceback (most recent call last):',
      "KeyError: 'sls-weiban-forms-rehearsal-ServerlessDeploymentBucketName'",
    ]);
    expect(motoTail(MOTO_OUTPUT, 100)).not.toMatch(/development server|Running on|CTRL\+C|" 200 -/);
  });
});

describe('comparing what moto skipped with what the rehearsal expects', () => {
  it('passes when both lists are as expected', () => {
    expect(() => {
      compareGaps([...EXPECTED_MOTO_SKIPS], [...EXPECTED_UNPROVEN]);
    }).not.toThrow();
  });

  it('fails naming a resource type moto now creates, so the rehearsal can check it', () => {
    const skipped = EXPECTED_MOTO_SKIPS.filter((type) => type !== 'AWS::SNS::Subscription');

    expect(() => {
      compareGaps(skipped, [...EXPECTED_UNPROVEN]);
    }).toThrow(
      "moto now creates AWS::SNS::Subscription: check it in the rehearsal, and strike it from EXPECTED_MOTO_SKIPS (scripts/rehearsal/plan.ts) and README's checklist",
    );
  });

  it('fails naming a new resource type moto skips', () => {
    expect(() => {
      compareGaps([...EXPECTED_MOTO_SKIPS, 'AWS::Pipes::Pipe'], [...EXPECTED_UNPROVEN]);
    }).toThrow(/^moto skipped AWS::Pipes::Pipe, which EXPECTED_MOTO_SKIPS does not list/);
  });

  it('fails naming a setting moto now applies, and one it stopped applying', () => {
    const applied = EXPECTED_UNPROVEN.filter(
      (setting) => setting !== 'FormsTable SSESpecification',
    );

    expect(() => {
      compareGaps([...EXPECTED_MOTO_SKIPS], applied);
    }).toThrow(/^moto now applies FormsTable SSESpecification: make it a check/);
    expect(() => {
      compareGaps(
        [...EXPECTED_MOTO_SKIPS],
        [...EXPECTED_UNPROVEN, 'FormsTable DeletionProtectionEnabled'],
      );
    }).toThrow(
      /^moto did not apply FormsTable DeletionProtectionEnabled, which EXPECTED_UNPROVEN does not list/,
    );
  });
});

describe('a failed step', () => {
  it('says which command failed and how, with the end of its output', async () => {
    const finished = await run(
      process.execPath,
      [
        '-e',
        'for (let i = 1; i <= 50; i++) console.log(`line ${i}`); console.error("Error: no such param"); process.exit(3)',
      ],
      { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' }, timeoutMs: 30_000 },
    );

    let failure: unknown;
    try {
      requireSuccess(finished, 'osls deploy --stage rehearsal', 'osls output');
    } catch (error: unknown) {
      failure = error;
    }

    expect(failure).toBeInstanceOf(RehearsalError);
    expect(failure).toMatchObject({ message: 'osls deploy --stage rehearsal exited with 3.' });
    const [osls] = (failure as RehearsalError).tails;
    expect(osls?.label).toBe('osls output');
    expect(osls?.text.split('\n')).toHaveLength(40);
    expect(osls?.text).toMatch(/line 50\nError: no such param$/);
  });

  it('that is not a rehearsal check gets the last osls lines and moto’s errors added', () => {
    const sdkError = Object.assign(
      new Error('Stack with id weiban-forms-rehearsal does not exist'),
      {
        name: 'ValidationError',
      },
    );

    const failure = explained(sdkError, {
      osls: 'Deploying weiban-forms\n✔ Service deployed',
      moto: MOTO_OUTPUT,
    });

    expect(failure.message).toBe(
      'ValidationError: Stack with id weiban-forms-rehearsal does not exist',
    );
    expect(failure.tails.map((each) => each.label)).toEqual(['osls output', 'moto output']);
    expect(failure.tails[1]?.text).toContain(
      "KeyError: 'sls-weiban-forms-rehearsal-ServerlessDeploymentBucketName'",
    );
  });

  it('stops a child that runs past its time', async () => {
    const finished = await run(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 200,
    });

    expect(finished.signal).toBe('SIGTERM');
    expect(() => requireSuccess(finished, 'osls remove', 'osls output')).toThrow(
      'osls remove was killed (SIGTERM).',
    );
  });
});
