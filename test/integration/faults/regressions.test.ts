import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTable } from '../../../dev/table.js';
import { REGRESSIONS } from './regressions.js';
import { runSchedule, type Emulators } from './run-schedule.js';
import type { Schedule, Step } from './schedule.js';

/** Arrivals, late rows and a row inserted while paging; no fault. */
const calmStep: Step = {
  arrivals: [4, 2],
  late: [1, 1],
  whilePaging: { form: 0, afterPages: 1, count: 2, late: true },
  weiban: [],
  sns: { fault: 'none', times: 0 },
  dynamo: { fault: 'none', nth: 0 },
  crash: null,
  invocation: 'single',
  tight: false,
};

/**
 * Weiban as each variant the probe can meet, probed and saved before the first step: a late
 * row, arrivals and a page boundary, then the guarantees and the modes the poller chose.
 */
const probedWeiban = (timeFilter: NonNullable<Schedule['timeFilter']>): Schedule => ({
  forms: 2,
  latencyMs: 0,
  order: timeFilter === 'exclusive-end' ? 'asc' : 'desc',
  timeFilter,
  maxLimit: 7,
  formIdRequired: timeFilter !== 'exact',
  probed: true,
  pageSize: 3,
  startMode: 'time',
  initial: [9, 4],
  steps: [calmStep],
});

describe('schedules that always run', () => {
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

  // Counterexamples the fault suite once found.
  it.each(REGRESSIONS.map((regression, index) => [regression.name, regression, index] as const))(
    'keeps G1, G2 and G4: %s',
    async (_name, { schedule }, index) => {
      const { violations } = await runSchedule(emulators, schedule, 9_000 + index);

      expect(violations).toEqual([]);
    },
  );

  // The poller in each mode the stored findings allow (docs/guarantees.md#findings).
  // Each case its own forms: the table is shared.
  it.each([
    ['exact', 1, 9_500],
    ['exclusive-start', 0, 9_501],
    ['exclusive-end', 0, 9_502],
    ['exclusive-both', 0, 9_503],
    ['ignored', 0, 9_504],
  ] as const)(
    'keeps G1, G2 and G4 with a probed Weiban whose time filter is %s (trusted: %i)',
    async (timeFilter, trusted, index) => {
      const { violations, coverage } = await runSchedule(
        emulators,
        probedWeiban(timeFilter),
        index,
      );

      expect(violations).toEqual([]);
      expect(coverage).toMatchObject({
        probed: 1,
        'mode.largerPages': 1,
        'mode.exactTimeFilter': trusted,
      });
    },
  );

  // One listing for the corp between sweeps (docs/guarantees.md#corp-wide), passes every 4 s:
  // new rows, late rows and rows landing while the listing pages, through a crash between a
  // publish and its record, then an overlap of two containers and a refused request; and the
  // listing leaves the third form out, whose rows the sweeps must still deliver.
  it('keeps G1, G2 and G4 with the corp-wide listing, through a crash and an overlap', async () => {
    const quiet = { ...calmStep, whilePaging: null };
    const schedule: Schedule = {
      ...probedWeiban('exact'),
      intervalSeconds: 4,
      corpListingOmitsLast: true,
      forms: 3,
      initial: [5, 3, 0],
      steps: [
        { ...quiet, arrivals: [2, 1, 0], late: [0, 1, 0] },
        {
          ...quiet,
          arrivals: [3, 0, 1],
          late: [1, 0, 0],
          whilePaging: { form: 1, afterPages: 1, count: 2, late: true },
          crash: { at: 'record', nth: 1, when: 'before' },
        },
        {
          ...quiet,
          arrivals: [0, 2, 2],
          late: [0, 0, 1],
          weiban: [{ fault: '10052', nth: 1 }],
          invocation: 'overlap',
        },
        { ...quiet, arrivals: [0, 0, 0], late: [0, 0, 0] },
      ],
    };

    const { violations, coverage } = await runSchedule(emulators, schedule, 9_520);

    expect(violations).toEqual([]);
    expect(coverage).toMatchObject({
      probed: 1,
      'mode.corpWide': 1,
      'mode.corpWide.omitting': 1,
      crashes: 1,
    });
  });

  // Sub-minute passes (docs/guarantees.md#g10): a crash between a publish and its record, then
  // two containers at once, each running passes until the next invocation is due.
  it('keeps G1, G2 and G4 with passes every 4 s through a crash and an overlap', async () => {
    const schedule: Schedule = {
      ...probedWeiban('exact'),
      probed: false,
      intervalSeconds: 4,
      steps: [
        { ...calmStep, crash: { at: 'record', nth: 2, when: 'before' } },
        {
          ...calmStep,
          arrivals: [3, 1],
          whilePaging: null,
          weiban: [{ fault: '10052', nth: 2 }],
          invocation: 'overlap',
        },
      ],
    };

    const { violations, coverage } = await runSchedule(emulators, schedule, 9_510);

    expect(violations).toEqual([]);
    expect(coverage['crashes']).toBe(1);
    // A crashed invocation returns no summary; the rest ran two passes each.
    expect(coverage['passes']).toBeGreaterThan(coverage['invocations'] ?? Infinity);
  });
});
