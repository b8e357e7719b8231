/**
 * The fault suite as a soak: `npm run test:faults -- --runs 2000 [--seed 42]`, or one
 * schedule from a failure report: `npm run test:faults -- --replay '<schedule json>'`.
 * Starts the same emulators as `npm test` (through vitest's global setup).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    seed: { type: 'string' },
    replay: { type: 'string' },
  },
});

const env: NodeJS.ProcessEnv = { ...process.env };
for (const [flag, variable] of [
  ['runs', 'FAULT_RUNS'],
  ['seed', 'FAULT_SEED'],
  ['replay', 'FAULT_REPLAY'],
] as const) {
  const value = values[flag];
  if (value === undefined) continue;
  if (flag !== 'replay' && !/^\d+$/.test(value)) {
    console.error(`--${flag} must be a whole number, got "${value}"`);
    process.exit(2);
  }
  env[variable] = value;
}

const result = spawnSync(
  'npx',
  ['vitest', 'run', '--project', 'integration', 'test/integration/faults/faults.test.ts'],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
