#!/usr/bin/env node
// The operator CLI (cli/). It is TypeScript, run through tsx, a devDependency: use it from a
// checkout after `npm ci`.
import process from 'node:process';

let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch {
  process.stderr.write(
    'error: weiban-forms needs its dev dependencies: run npm ci in its checkout\n',
  );
  process.exit(1);
}
register();
const { runFromProcess } = await import('../cli/main.ts');
await runFromProcess();
