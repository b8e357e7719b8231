import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { eventIds, World } from '../support/world.js';

const SECRET = 'S3cr3t-9f8e7d6c5b4a';
const FORM = 842;

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Every byte the process writes to stdout and stderr while `run` goes: logs and EMF metrics. */
async function captureOutput<T>(
  run: () => Promise<T>,
): Promise<{ result: T | Error; output: string }> {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(
      typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'),
    );
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    const result = await run().catch((error: unknown) =>
      error instanceof Error ? error : new Error(String(error)),
    );
    return { result, output: chunks.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const context = (remainingMs = 60_000): Context => {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: crypto.randomUUID(),
    functionName: 'weiban-forms-dev-poll',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:weiban-forms-dev-poll',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/weiban-forms-dev-poll',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as Context;
};

describe('the deployed handler, configured by its environment variables alone', () => {
  let world: World;
  const saved = { ...process.env };

  beforeEach(async () => {
    world = await World.create({ simulator: { secret: SECRET } });
    const origin = Math.floor(world.clock.now() / 1000) - 3_600;
    Object.assign(process.env, {
      WEIBAN_BASE_URL: world.simulator.url,
      WEIBAN_CORP_ID: 'sim-corp',
      WEIBAN_SECRET: SECRET,
      FORM_IDS: String(FORM),
      TABLE_NAME: world.tableName,
      TOPIC_ARN: world.topicArn,
      START_FROM: String(origin),
      WEIBAN_REQUEST_TIMEOUT_MS: '1000',
      // One pass per invocation: on the real clock, passes would fill each minute.
      POLL_INTERVAL_SECONDS: '60',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      // The SDK's standard variables aim the real handler's clients at the emulators
      // (docs/guarantees.md#config).
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      AWS_ENDPOINT_URL_SNS: inject('motoEndpoint'),
      POWERTOOLS_METRICS_DISABLED: 'false',
      LOG_LEVEL: 'DEBUG',
    });
    vi.resetModules();
  });

  afterEach(async () => {
    for (const key of Object.keys(process.env))
      if (!(key in saved)) Reflect.deleteProperty(process.env, key);
    Object.assign(process.env, saved);
    await world.close();
  });

  it('delivers every submitter once and never lets the secret or the token out (G9)', async () => {
    const nowS = Math.floor(world.clock.now() / 1000);
    world.simulator.submitMany(FORM, 30, (i) => ({ submit_at: nowS - 2_000 + i }));
    const { handler } = (await import('../../functions/poll.js')) as { handler: Handler };

    // A clean run caches the token; then faults that could carry it somewhere visible.
    const runs = [await captureOutput(() => handler({}, context()))];
    const token = await sharedToken(world);
    world.simulator.submitMany(FORM, 5, (i) => ({ submit_at: nowS - 500 + i }));
    world.simulator.fault({
      kind: 'body',
      body: JSON.stringify({
        errcode: 40001,
        errmsg: `invalid access_token=${token} for secret ${SECRET}`,
      }),
      endpoint: 'list',
    });
    runs.push(await captureOutput(() => handler({}, context())));
    world.simulator.revokeTokens();
    world.simulator.fault({ kind: 'html502', endpoint: 'list', times: 10 });
    runs.push(await captureOutput(() => handler({}, context())));
    world.simulator.clearFaults();
    world.simulator.fault({ kind: 'slow', delayMs: 3_000, endpoint: 'list', times: 10 });
    runs.push(await captureOutput(() => handler({}, context())));
    world.simulator.clearFaults();
    runs.push(await captureOutput(() => handler({}, context())));
    const newToken = await sharedToken(world);

    const messages = await world.received({ expected: 35 });
    const stored = await world.aws.doc.send(new ScanCommand({ TableName: world.tableName }));
    const errorsInTable = (stored.Items ?? []).map((item) =>
      JSON.stringify(item.last_error ?? null),
    );
    const visible = [
      ...runs.map((run) => run.output),
      ...runs.map((run) =>
        run.result instanceof Error
          ? `${run.result.message} ${String(run.result.stack)}`
          : JSON.stringify(run.result),
      ),
      ...messages.map((message) => JSON.stringify(message.raw)),
      ...errorsInTable,
    ].join('\n');

    expect(new Set(eventIds(messages)).size).toBe(35);
    expect(visible).toContain('errcode 40001');
    expect(visible).toContain('"_aws"');
    expect(newToken).not.toBe(token);
    for (const secret of [SECRET, token, newToken]) expect(visible).not.toContain(secret);
  });
});

async function sharedToken(world: World): Promise<string> {
  const out = await world.aws.doc.send(
    new GetCommand({ TableName: world.tableName, Key: { pk: 'CORP#sim-corp', sk: 'TOKEN' } }),
  );
  const token: unknown = out.Item?.token;
  if (typeof token !== 'string' || token.length < 8) throw new Error('no shared token stored');
  return token;
}
