import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RehearsalReport } from '../../../scripts/rehearsal/rehearse.js';
import {
  launch,
  leftoverProcesses,
  leftovers,
  processesInGroup,
  ROOT,
  type Finished,
} from '../cli/processes.js';

// `npm run deploy:rehearse` as CI runs it: a real osls deploy, update and remove against its
// own moto. Its environment carries a developer's worst: an AWS profile and keys, and a proxy
// that answers nothing. osls sends every SDK request through a proxy when one is set, so the
// rehearsal passes only if none of it reaches osls, the CLI or the function.
const POISON = {
  AWS_PROFILE: 'rehearsal-must-not-read-a-profile',
  AWS_ACCESS_KEY_ID: 'AKIAREALKEYMUSTNOTBEUSED',
  AWS_SECRET_ACCESS_KEY: 'a-real-secret-must-not-be-used',
  AWS_SESSION_TOKEN: 'a-real-session-must-not-be-used',
  AWS_REGION: 'eu-west-3',
  HTTP_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
};

// moto 5.2. A change here is a moto upgrade to act on: see scripts/rehearsal/plan.ts.
const MOTO_SKIPS = [
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
];

const PHASES = [
  'copy the service with the rehearsal config',
  'start moto and the Weiban simulator',
  'create the sqs subscribers’ queues in moto',
  'osls deploy --stage rehearsal',
  'check the stack against the template',
  'run the deployed function’s configuration: two polls',
  'weiban-forms status and replay --stage rehearsal',
  'osls deploy --stage rehearsal (update)',
  'check the updated stack: nothing replaced, state intact',
  'poll with the updated configuration',
  'osls remove --stage rehearsal',
  'check what remove left: the table, and only it',
  'compare what moto skipped with what the rehearsal expects',
];

/** What a deploy from the repository itself would change: tracked files, and osls's build output. */
const repositoryState = () => ({
  git: execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }),
  build: ['.serverless', '.esbuild'].map((dir) => {
    const path = join(ROOT, dir);
    return existsSync(path) ? `${dir} ${statSync(path).mtimeMs}` : `${dir} absent`;
  }),
});

describe('npm run deploy:rehearse', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'weiban-rehearsal-test-'));
  // The rehearsal's TMPDIR: whatever it leaves there, it left behind.
  const tmp = join(scratch, 'tmp');
  const reportPath = join(scratch, 'report.json');
  const marker = randomUUID();
  let run: Finished;
  let report: RehearsalReport;
  let left: { marked: string[]; group: string[] };
  let repositoryBefore: ReturnType<typeof repositoryState>;

  beforeAll(async () => {
    mkdirSync(tmp);
    repositoryBefore = repositoryState();
    const launched = launch('npm', ['run', 'deploy:rehearse', '--', '--report', reportPath], {
      marker,
      env: { ...POISON, TMPDIR: tmp },
    });
    run = await launched.done;
    left = {
      marked: await leftovers(marker),
      group: await leftoverProcesses(() => processesInGroup(launched.pid ?? -1)),
    };
    if (run.code !== 0) throw new Error(`the rehearsal failed:\n${run.stdout}\n${run.stderr}`);
    report = JSON.parse(readFileSync(reportPath, 'utf8')) as RehearsalReport;
  }, 600_000);

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('prints each phase with its time, in order, and passes', () => {
    const done = [...run.stdout.matchAll(/^✓ (.+) \((\d+\.\d) s\)$/gm)].map((line) => line[1]);

    expect(run.code).toBe(0);
    expect(done).toEqual(PHASES);
    expect(report.phases.map((phase) => phase.title)).toEqual(PHASES);
    expect(run.stdout).toMatch(/^Rehearsal passed in \d+\.\d s\.$/m);
    expect(run.stderr).not.toMatch(/NodeVersionSupportWarning|^\s+at /m);
  });

  it('deploys a complete stack with the outputs and the export consumers use', () => {
    expect(report.stack).toBe('weiban-forms-rehearsal');
    expect(report.region).toBe('ap-northeast-1');
    expect(report.first.status).toBe('UPDATE_COMPLETE');
    expect(report.first.outputs).toMatchObject({
      FormsTableName: 'weiban-forms-rehearsal',
      EventsTopicArn: 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-rehearsal-events',
      AlarmTopicArn: 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-rehearsal-alarms',
      EventsSubscriptionCrmDlqUrl: expect.stringMatching(/^https?:\/\/\S+\/123456789012\/\S+$/),
      WebhookCrmQueueUrl: expect.stringMatching(
        /\/123456789012\/weiban-forms-rehearsal-webhook-Crm$/,
      ),
      WebhookCrmDlqUrl: expect.stringMatching(
        /\/123456789012\/weiban-forms-rehearsal-deadletter-Crm$/,
      ),
    });
    // The two subscriptions', the alarm email's and the webhook's.
    expect(
      Object.keys(report.first.outputs)
        .filter((key) => key.endsWith('DlqUrl'))
        .sort(),
    ).toEqual([
      'AlarmEmailDlqUrl',
      'EventsSubscriptionCrmDlqUrl',
      expect.stringMatching(/^EventsSubscriptionS[0-9a-f]+DlqUrl$/),
      'WebhookCrmDlqUrl',
    ]);
    // What the CLI reads to find the endpoints: no URL, no parameter name.
    expect(JSON.parse(report.first.outputs.Webhooks ?? 'null')).toEqual([
      {
        name: 'Crm',
        format: 'standard',
        queueUrl: report.first.outputs.WebhookCrmQueueUrl,
        dlqUrl: report.first.outputs.WebhookCrmDlqUrl,
        ratePerMinute: 600,
      },
    ]);
  });

  it("delivers the deployed function's event to a subscriber, and replays it unchanged", () => {
    expect(report.delivered).toMatchObject({
      id: `weiban:rehearsal-corp:842:${report.delivered.data.u_id}`,
      type: 'weiban.form.submitted',
      data: { form_id: 842 },
    });
    expect(report.replayed).toEqual(report.delivered);
    expect(report.status).toMatchObject({
      target: 'stack weiban-forms-rehearsal (ap-northeast-1)',
      forms: [{ form_id: 842, started: true, recorded: 1 }],
    });
  });

  it('updates in place: the table, key, topics and webhook queues keep their ids, and the next poll goes on from the cursor', () => {
    expect(report.update.status).toBe('UPDATE_COMPLETE');
    for (const logicalId of [
      'FormsTable',
      'EventsKey',
      'EventsTopic',
      'AlarmTopic',
      'WebhookCrmQueue',
      'WebhookCrmDlq',
    ]) {
      expect(report.update.physicalIds[logicalId]).toBe(report.first.physicalIds[logicalId]);
    }
    const dlqs = (outputs: Readonly<Record<string, string>>) =>
      Object.keys(outputs).filter((key) => key.endsWith('DlqUrl'));
    expect(dlqs(report.update.outputs)).toContain('EventsSubscriptionCrmDlqUrl');
    expect(report.update.outputs.EventsSubscriptionCrmDlqUrl).toBe(
      report.first.outputs.EventsSubscriptionCrmDlqUrl,
    );
    expect(dlqs(report.update.outputs)).not.toEqual(dlqs(report.first.outputs));
    // One new submitter of 842; the one already delivered is not delivered again, and the
    // added form 901 starts at the present (START_FROM=now) with nothing from before.
    expect(report.afterUpdate).toHaveLength(1);
    expect(report.afterUpdate[0]?.data.form_id).toBe(842);
    expect(report.afterUpdate[0]?.data.u_id).not.toBe(report.delivered.data.u_id);
  });

  it('removes the stack but keeps the table', () => {
    expect(report.tableRetained).toBe(true);
  });

  it("reports moto's skipped resource types and unapplied settings, as expected for moto 5.2", () => {
    expect(report.motoSkipped).toEqual(MOTO_SKIPS);
    expect(report.unproven).toEqual([
      'EventsTopic SignatureVersion',
      'EventsTopicArn export in ListExports',
      'FormsTable PointInTimeRecoverySpecification',
      'FormsTable SSESpecification',
      'FormsTable TimeToLiveSpecification',
      'PollLambdaFunction Architectures',
    ]);
    expect(run.stdout).toContain(`moto did not create (unproven): ${MOTO_SKIPS.join(', ')}.`);
  });

  it('leaves no process, no temporary directory and nothing in the repository', () => {
    expect(left).toEqual({ marked: [], group: [] });
    expect(existsSync(report.tempDir)).toBe(false);
    // tsx, which runs the script, keeps its cache there; the rest is the rehearsal's.
    expect(readdirSync(tmp).filter((name) => !/^tsx-\d+$/.test(name))).toEqual([]);
    expect(repositoryState()).toEqual(repositoryBefore);
  });
});
