import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, startMoto, type Service } from '../../dev/emulators.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DynamoDB Local, shared by every integration test file; use your own table names. */
    dynamoEndpoint: string;
    /** moto (SNS, SQS, SSM…), shared likewise; use your own topic and queue names. */
    motoEndpoint: string;
  }
}

/** Starts DynamoDB Local and moto once for the integration project; stops them afterwards. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = await Promise.allSettled([startDynamoDbLocal(), startMoto()]);
  const services = started.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const stopAll = async (): Promise<void> => {
    await Promise.all(services.map((service: Service) => service.stop()));
  };
  const failures = started.flatMap((result): unknown[] =>
    result.status === 'rejected' ? [result.reason] : [],
  );
  if (failures.length > 0) {
    await stopAll();
    const [first] = failures;
    throw failures.length === 1 && first instanceof Error
      ? first
      : new AggregateError(failures, failures.map((failure) => String(failure)).join('; '));
  }
  const [dynamo, moto] = services;
  if (dynamo === undefined || moto === undefined) throw new Error('an emulator did not start');
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('motoEndpoint', moto.endpoint);
  return stopAll;
}
