import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTable } from '../../../dev/table.js';
import { runSchedule, type Coverage, type Emulators } from './run-schedule.js';
import { corpWideScheduleArb, scheduleArb, type Schedule } from './schedule.js';

// `npm run test:faults -- --runs N [--seed S]` soaks with more schedules; a failure prints
// the seed and the shrunk schedule: `--seed S` reruns the same sequence, and
// `--replay '<schedule>'` runs just that schedule, with the run's logs (scripts/test-faults.ts).
const RUNS = Number(process.env.FAULT_RUNS ?? 200);
const SEED =
  process.env.FAULT_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FAULT_SEED);
const REPLAY = process.env.FAULT_REPLAY;
/** A tenth as many again on the corp-wide listing, at least 10. */
const CORP_RUNS = Math.max(10, Math.round(RUNS / 10));

describe('the guarantees under random faults, crashes and overlapping runs', () => {
  let emulators: Emulators;
  let dynamo: DynamoDBClient;

  beforeAll(async () => {
    const dynamoEndpoint = inject('dynamoEndpoint');
    dynamo = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoint: dynamoEndpoint,
    });
    const tableName = `faults-${randomUUID().slice(0, 8)}`;
    await createTable(dynamo, tableName);
    emulators = { dynamoEndpoint, motoEndpoint: inject('motoEndpoint'), tableName };
  });

  afterAll(() => {
    dynamo.destroy();
  });

  it.runIf(REPLAY !== undefined)('replays one schedule', async () => {
    const schedule = JSON.parse(REPLAY ?? '{}') as Schedule;

    const { violations } = await runSchedule(emulators, schedule, 1);

    expect(violations).toEqual([]);
  });

  it.runIf(REPLAY === undefined)(
    `keeps G1, G2 and G4 over ${RUNS} schedules (seed ${SEED})`,
    async () => {
      const failure = await soak('fault suite', scheduleArb, RUNS, SEED, 0);

      expect(failure).toBeUndefined();
    },
    3_600_000,
  );

  // The corp-wide listing is drawn by few random schedules: these all run on it.
  it.runIf(REPLAY === undefined)(
    `keeps G1, G2 and G4 over ${CORP_RUNS} schedules on the corp-wide listing (seed ${SEED + 1})`,
    async () => {
      const failure = await soak(
        'fault suite, corp-wide listing',
        corpWideScheduleArb,
        CORP_RUNS,
        SEED + 1,
        50_000,
      );

      expect(failure).toBeUndefined();
    },
    3_600_000,
  );

  /**
   * Runs `runs` schedules (indices, and so form ids, start after `firstIndex`); what failed, with
   * its seed, or undefined.
   */
  async function soak(
    label: string,
    arbitrary: fc.Arbitrary<Schedule>,
    runs: number,
    seed: number,
    firstIndex: number,
  ): Promise<string | undefined> {
    console.log(`${label}: ${runs} schedules, seed ${seed} (replay with FAULT_SEED=${SEED})`);
    let index = firstIndex;
    const covered: Coverage = {};
    const result = await fc.check(
      fc.asyncProperty(arbitrary, async (schedule) => {
        const { violations, coverage } = await runSchedule(emulators, schedule, (index += 1));
        for (const [key, value] of Object.entries(coverage)) {
          covered[key] = key.startsWith('maxInFlight')
            ? Math.max(covered[key] ?? 0, value)
            : (covered[key] ?? 0) + value;
        }
        if (violations.length > 0) throw new Error(violations.slice(0, 8).join('\n'));
      }),
      { numRuns: runs, seed, endOnFailure: false, maxSkipsPerRun: 0 },
    );
    console.log(`${label} covered: ${JSON.stringify(covered, Object.keys(covered).sort())}`);
    if (result.failed) console.error(fc.defaultReportMessage(result));
    return result.failed ? `seed ${seed}: ${String(result.errorInstance)}` : undefined;
  }
});
