import type { Schedule } from './schedule.js';

/**
 * Counterexamples the fault suite found, shrunk, each kept as a named case that runs on every
 * `npm test` (test/integration/faults/regressions.test.ts). Add one whenever a seed fails.
 */
export const REGRESSIONS: readonly { readonly name: string; readonly schedule: Schedule }[] = [
  {
    // Seed 818825267: a dead container's slow request was still in processing at Weiban when
    // the next container sent its own four (G4 counts per corp, not per process).
    name: "a fresh container never adds its requests to a dead container's slow one",
    schedule: {
      forms: 4,
      latencyMs: 30,
      order: 'desc',
      filterByTime: false,
      pageSize: 2,
      startMode: 'time',
      initial: [0, 0, 0, 0],
      steps: [
        {
          arrivals: [0, 0, 0, 0],
          late: [0, 0, 0, 0],
          whilePaging: null,
          weiban: [{ fault: 'slow', nth: 1 }],
          sns: { fault: 'batch', times: 1 },
          dynamo: { fault: 'none', nth: 0 },
          crash: { at: 'list', nth: 1, when: 'after' },
          invocation: 'double',
          tight: true,
        },
      ],
    },
  },
  {
    // Seed 818825267 again, shrunk from the same run: two containers at once each sent their
    // own four requests.
    name: 'two containers polling at once share the corp in-flight cap',
    schedule: {
      forms: 6,
      latencyMs: 30,
      order: 'desc',
      filterByTime: false,
      pageSize: 2,
      startMode: 'time',
      initial: [3, 0, 3, 11, 10, 5],
      steps: [
        {
          arrivals: [6, 0, 0, 2, 0, 0],
          late: [0, 0, 2, 2, 2, 2],
          whilePaging: { form: 0, afterPages: 2, count: 1, late: true },
          weiban: [],
          sns: { fault: 'none', times: 0 },
          dynamo: { fault: 'none', nth: 0 },
          crash: null,
          invocation: 'overlap',
          tight: false,
        },
      ],
    },
  },
  {
    // Seed 818825267, after the corp budget landed: 10053 in two minutes in a row is Weiban's
    // hourly block; the forms recover once it is over, and no call goes into it.
    name: 'rests through the hourly block when 10053 persists past the 60 s one',
    schedule: {
      forms: 1,
      latencyMs: 0,
      order: 'desc',
      filterByTime: false,
      pageSize: 2,
      startMode: 'time',
      initial: [0],
      steps: [
        {
          arrivals: [0],
          late: [0],
          whilePaging: { form: 0, afterPages: 1, count: 1, late: false },
          weiban: [{ fault: '10053', nth: 1 }],
          sns: { fault: 'none', times: 0 },
          dynamo: { fault: 'none', nth: 0 },
          crash: null,
          invocation: 'overlap',
          tight: true,
        },
        {
          arrivals: [0],
          late: [0],
          whilePaging: { form: 0, afterPages: 1, count: 1, late: false },
          weiban: [{ fault: '10053', nth: 1 }],
          sns: { fault: 'none', times: 0 },
          dynamo: { fault: 'none', nth: 0 },
          crash: null,
          invocation: 'double',
          tight: true,
        },
      ],
    },
  },
];
