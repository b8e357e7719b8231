import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RUNS = 7;

export interface ImportTiming {
  readonly label: string;
  readonly nodeOptions: string;
  /** Median ms for `require()` of the bundle inside the child, after node itself started. */
  readonly requireMs: number;
  /** Median ms from spawning `node` to its exit. */
  readonly processMs: number;
  readonly samples: readonly number[];
}

export interface ColdStartResult {
  readonly zipName: string;
  readonly zipBytes: number;
  readonly bundleBytes: number;
  readonly sourceMapBytes: number;
  /** Packages the bundle `require()`s at run time instead of carrying them. */
  readonly externals: readonly string[];
  readonly packageMs: number;
  readonly imports: readonly ImportTiming[];
  readonly nodeVersion: string;
}

// Enough for lib/config.ts to load at import time; nothing is called, so nothing is reached.
const HANDLER_ENV = {
  WEIBAN_CORP_ID: 'bench-corp',
  WEIBAN_SECRET_PARAM: '/weiban-forms/bench/weiban-secret',
  FORM_IDS: '842,901',
  TABLE_NAME: 'weiban-forms-bench',
  TOPIC_ARN: 'arn:aws:sns:ap-northeast-1:123456789012:weiban-forms-bench-events',
  AWS_REGION: 'ap-northeast-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'weiban-forms-bench',
  POWERTOOLS_METRICS_NAMESPACE: 'WeibanForms',
  LOG_LEVEL: 'WARN',
};

const CHILD = `
const started = performance.now();
require(process.argv[1]);
const requireMs = performance.now() - started;
process.stdout.write(JSON.stringify({ requireMs }));
`;

/**
 * Cold start: `npm run package` (no AWS credentials, no network), the zip's size, which
 * packages stay external, and the time a fresh `node` takes to require the bundled handler,
 * with and without the --enable-source-maps the function is deployed with. Works outside the
 * repository, so no build output is left for the linters to find.
 */
export async function coldStart(root: string): Promise<ColdStartResult> {
  const scratch = await mkdtemp(join(tmpdir(), 'weiban-forms-bench-'));
  try {
    return await packageAndTime(root, scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function packageAndTime(root: string, scratch: string): Promise<ColdStartResult> {
  const packageDir = join(scratch, 'package');
  const unpacked = join(scratch, 'cold-start');
  const packaging = performance.now();
  await run('npm', ['run', 'package', '--', '--package', packageDir], {
    cwd: root,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const packageMs = performance.now() - packaging;
  const zipPath = join(packageDir, 'weiban-forms.zip');
  const zipBytes = (await stat(zipPath)).size;
  await run('unzip', ['-q', '-o', zipPath, '-d', unpacked]);
  const bundle = join(unpacked, 'functions', 'poll.cjs');
  const bundleBytes = (await stat(bundle)).size;
  const sourceMapBytes = await stat(`${bundle}.map`).then(
    (found) => found.size,
    () => 0,
  );
  const code = await readFile(bundle, 'utf8');
  const externals = [...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))]
    .filter((name): name is string => name !== undefined && !name.startsWith('node:'))
    .sort();
  // The bundle leaves @aws-sdk/* to the Lambda runtime; here the project's copy stands in.
  const nodePath = join(root, 'node_modules');
  const imports = [
    await timeImports(bundle, nodePath, 'as deployed', '--enable-source-maps'),
    await timeImports(bundle, nodePath, 'without source maps', ''),
  ];
  return {
    zipName: 'weiban-forms.zip',
    zipBytes,
    bundleBytes,
    sourceMapBytes,
    externals,
    packageMs,
    imports,
    nodeVersion: process.version,
  };
}

async function timeImports(
  bundle: string,
  nodePath: string,
  label: string,
  nodeOptions: string,
): Promise<ImportTiming> {
  const requires: number[] = [];
  const processes: number[] = [];
  for (let index = 0; index < RUNS; index += 1) {
    const started = performance.now();
    const { stdout } = await run(process.execPath, ['-e', CHILD, bundle], {
      env: {
        PATH: process.env.PATH,
        ...HANDLER_ENV,
        NODE_OPTIONS: nodeOptions,
        NODE_PATH: nodePath,
      },
    });
    processes.push(performance.now() - started);
    const parsed = JSON.parse(stdout) as { requireMs: number };
    requires.push(parsed.requireMs);
  }
  return {
    label,
    nodeOptions,
    requireMs: median(requires),
    processMs: median(processes),
    samples: requires.map((ms) => Math.round(ms)),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
