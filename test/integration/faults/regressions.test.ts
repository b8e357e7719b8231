import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTable } from '../../../dev/table.js';
import { REGRESSIONS } from './regressions.js';
import { runSchedule, type Emulators } from './run-schedule.js';

describe('counterexamples the fault suite once found', () => {
  let emulators: Emulators;
  let dynamo: DynamoDBClient;

  beforeAll(async () => {
    const dynamoEndpoint = inject('dynamoEndpoint');
    dynamo = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoint: dynamoEndpoint,
    });
    const tableName = `regressions-${randomUUID().slice(0, 8)}`;
    await createTable(dynamo, tableName);
    emulators = { dynamoEndpoint, motoEndpoint: inject('motoEndpoint'), tableName };
  });

  afterAll(() => {
    dynamo.destroy();
  });

  it.each(REGRESSIONS.map((regression, index) => [regression.name, regression, index] as const))(
    'keeps G1, G2 and G4: %s',
    async (_name, { schedule }, index) => {
      const { violations } = await runSchedule(emulators, schedule, 9_000 + index);

      expect(violations).toEqual([]);
    },
  );
});
