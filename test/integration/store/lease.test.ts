import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTable } from '../../../dev/table.js';
import { LeaseHeldError } from '../../../lib/errors.js';
import { DynamoFormStateStore } from '../../../lib/store/form-state.js';
import { awsClients, type AwsClients } from '../../support/aws.js';

const NOW = 1_800_000_000_000;
const FORM = 842;

describe('a form lease in DynamoDB Local', () => {
  let aws: AwsClients;
  let store: DynamoFormStateStore;
  const tableName = `lease-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const moto = inject('motoEndpoint');
    aws = awsClients({
      dynamoEndpoint: inject('dynamoEndpoint'),
      snsEndpoint: moto,
      sqsEndpoint: moto,
    });
    await createTable(aws.dynamo, tableName);
    store = new DynamoFormStateStore({ client: aws.doc, tableName });
    await store.create(FORM, { cursor: NOW / 1000, origin: NOW / 1000, startMode: 'now' }, NOW);
  });
  afterAll(() => {
    aws.destroy();
  });

  it('renews while it holds, refuses a lapsed lease, and lets a successor take the form', async () => {
    const taken = await store.acquireLease(FORM, 'run-a', NOW + 15_000, NOW);
    await store.renewLease(FORM, 'run-a', NOW + 25_000, NOW + 10_000);
    await expect(store.acquireLease(FORM, 'run-b', NOW + 35_000, NOW + 20_000)).rejects.toThrow(
      LeaseHeldError,
    );
    // run-a froze past its renewed term: its lease is gone for good.
    await expect(store.renewLease(FORM, 'run-a', NOW + 41_000, NOW + 26_000)).rejects.toThrow(
      LeaseHeldError,
    );
    const successor = await store.acquireLease(FORM, 'run-b', NOW + 41_000, NOW + 26_000);

    expect(successor.lease).toEqual({ owner: 'run-b', until: NOW + 41_000 });
    // Renewing left the version alone: only the two takes moved it.
    expect(successor.version).toBe(taken.version + 1);
    await expect(store.renewLease(FORM, 'run-a', NOW + 50_000, NOW + 27_000)).rejects.toThrow(
      LeaseHeldError,
    );
  });
});
