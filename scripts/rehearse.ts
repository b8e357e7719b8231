/**
 * `npm run deploy:rehearse`: a real `osls deploy` of the stage `rehearsal` into moto (a local
 * AWS), checked against the template; the deployed function's configuration run for a few
 * polls against the Weiban simulator; the CLI against the stack; an update and a remove.
 * No AWS credentials, no network. Run it before every real deploy (README "Deploying").
 *
 *   npm run deploy:rehearse
 *   npm run deploy:rehearse -- --report rehearsal.json   also write what it saw as JSON
 *   npm run deploy:rehearse -- --keep                    keep the temporary directory
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RehearsalError } from './rehearsal/errors.js';
import { rehearse, seconds } from './rehearsal/rehearse.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// package.json supports Node 20.19+; the SDK's notice about its future needs says nothing here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const SECOND_SIGNAL_MS = 1_000;

async function main(): Promise<number> {
  let values: { report?: string | undefined; keep?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      options: { report: { type: 'string' }, keep: { type: 'boolean' } },
      strict: true,
    }));
  } catch (error: unknown) {
    process.stderr.write(
      `${error instanceof Error ? error.message : String(error)}\nUsage: npm run deploy:rehearse [-- --report FILE] [-- --keep]\n`,
    );
    return 2;
  }

  const interrupt = new AbortController();
  let interruptedAt = 0;
  const onSignal = () => {
    if (!interrupt.signal.aborted) {
      interruptedAt = Date.now();
      process.stdout.write('\nStopping: cleaning up…\n');
      interrupt.abort();
      return;
    }
    // tsx relays the terminal's Ctrl-C once more; only a later, second one means "leave now"
    // (moto's exit hook and watchdog still end it; the temporary directory stays).
    if (Date.now() - interruptedAt > SECOND_SIGNAL_MS) process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const print = (line: string) => process.stdout.write(`${line}\n`);
  print('Rehearsing a deploy of the stage "rehearsal" into moto: no AWS account, no network.');
  try {
    const report = await rehearse({
      root: ROOT,
      print,
      keep: values.keep === true,
      signal: interrupt.signal,
    });
    if (values.report !== undefined) {
      await writeFile(values.report, `${JSON.stringify(report, null, 2)}\n`);
    }
    print('');
    print(`Rehearsal passed in ${seconds(report.totalMs)}.`);
    print(`moto did not create (unproven): ${report.motoSkipped.join(', ')}.`);
    print(`moto did not apply (unproven): ${report.unproven.join(', ')}.`);
    print('Check these on the real account after deploying: README.md, "Deploying".');
    if (values.keep === true) print(`Kept: ${report.tempDir}`);
    return 0;
  } catch (error: unknown) {
    if (interrupt.signal.aborted) {
      process.stderr.write('Rehearsal interrupted.\n');
      return 130;
    }
    const failure =
      error instanceof RehearsalError
        ? error
        : new RehearsalError(error instanceof Error ? error.message : String(error));
    process.stderr.write(`\nRehearsal failed: ${failure.message}\n`);
    for (const { label, text } of failure.tails) {
      process.stderr.write(`\n--- ${label} (last lines) ---\n${text}\n`);
    }
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main();
