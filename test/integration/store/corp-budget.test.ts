import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTable } from '../../../dev/table.js';
import { DynamoCorpBudget } from '../../../lib/store/corp-budget.js';
import type { BudgetHolder } from '../../../lib/weiban/budget.js';
import { awsClients, type AwsClients } from '../../support/aws.js';

const NOW = 1_800_000_000_000;
const holder = (owner: string, at = NOW): BudgetHolder => ({
  owner,
  label: owner,
  sendUntil: at + 5_000,
  until: at + 15_000,
  quota: 8,
});
const sends = {
  seconds: { 'form/user/list': { [String(NOW / 1000)]: 3, [String(NOW / 1000 + 1)]: 2 } },
  minutes: { 'form/user/list': { [String(NOW / 60_000)]: 5 } },
};

describe('the corp budget record in DynamoDB Local', () => {
  let aws: AwsClients;
  const tableName = `budget-${randomUUID().slice(0, 8)}`;
  const store = (corpId: string) => new DynamoCorpBudget({ client: aws.doc, tableName, corpId });

  beforeAll(async () => {
    const moto = inject('motoEndpoint');
    aws = awsClients({
      dynamoEndpoint: inject('dynamoEndpoint'),
      snsEndpoint: moto,
      sqsEndpoint: moto,
    });
    await createTable(aws.dynamo, tableName);
  });
  afterAll(() => {
    aws.destroy();
  });

  it('lets one caller hold the budget, refuses a second until the first is done, and hands over its sends', async () => {
    const budget = store('corp-a');
    const first = await budget.claim(holder('first'), NOW);
    const refused = await budget.claim(holder('second'), NOW + 1_000);
    await budget.wait('second', NOW + 10_000);
    const renewed = await budget.renew(holder('first', NOW + 2_000), sends, NOW + 2_000);
    await budget.release('first', sends, undefined, NOW + 3_000);
    const second = await budget.claim(holder('second', NOW + 3_000), NOW + 3_000);

    expect(first).toEqual({ claimed: true, before: undefined });
    expect(refused).toMatchObject({ claimed: false, current: { holder: { owner: 'first' } } });
    expect(renewed?.waiting).toEqual({ second: NOW + 10_000 });
    expect(second).toMatchObject({ claimed: true, before: { writer: 'first', sends } });
    expect(second.claimed && second.before?.holder).toBeUndefined();
  });

  it('lets a successor take the budget of a holder whose time ran out, and shows what it held', async () => {
    const budget = store('corp-b');
    await budget.claim(holder('dead'), NOW);

    const early = await budget.claim(holder('next', NOW + 14_000), NOW + 14_000);
    const late = await budget.claim(holder('next', NOW + 15_000), NOW + 15_000);

    expect(early.claimed).toBe(false);
    expect(late).toMatchObject({ claimed: true, before: { holder: { owner: 'dead', quota: 8 } } });
  });

  it('keeps a releasing holder named, without sending, while its abandoned requests may run', async () => {
    const budget = store('corp-c');
    await budget.claim(holder('first'), NOW);
    await budget.release('first', sends, NOW + 12_000, NOW + 2_000);

    const during = await budget.claim(holder('second', NOW + 5_000), NOW + 5_000);
    const after = await budget.claim(holder('second', NOW + 12_000), NOW + 12_000);

    expect(during.claimed).toBe(false);
    expect(after).toMatchObject({
      claimed: true,
      before: { holder: { owner: 'first', quota: 0, sendUntil: NOW + 2_000, until: NOW + 12_000 } },
    });
  });

  it('refuses a renewal by a caller that lost the budget, and ignores its late release', async () => {
    const budget = store('corp-d');
    await budget.claim(holder('slow'), NOW);
    await budget.claim(holder('fast', NOW + 20_000), NOW + 20_000);

    const renewal = await budget.renew(holder('slow', NOW + 21_000), sends, NOW + 21_000);
    await budget.release('slow', sends, undefined, NOW + 21_000);

    expect(renewal).toBeUndefined();
    expect((await budget.read())?.holder?.owner).toBe('fast');
  });

  it('shares a block with every caller, whoever holds the budget', async () => {
    const budget = store('corp-e');
    await budget.claim(holder('first'), NOW);

    await budget.block('form/user/list', { until: NOW + 3_600_000, level: 2 });

    expect((await budget.read())?.blocks).toEqual({
      'form/user/list': { until: NOW + 3_600_000, level: 2 },
    });
  });
});
