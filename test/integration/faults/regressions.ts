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
];
