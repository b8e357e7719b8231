import type { Context } from 'aws-lambda';

/** A Lambda context for invoking a handler outside Lambda (tests, the benchmark, local runs). */
export function lambdaContext({
  awsRequestId,
  getRemainingTimeInMillis,
  functionName = 'weiban-forms-test-poll',
}: {
  awsRequestId: string;
  getRemainingTimeInMillis: () => number;
  functionName?: string;
}): Context {
  // Context's deprecated callback members are left out: the handler returns a promise.
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    awsRequestId,
    getRemainingTimeInMillis,
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:ap-northeast-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
  };
  return context as Context;
}
