import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  SimulatorOptions,
  TimeFilter,
  WeibanSimulator,
} from '../../../dev/simulator/index.js';
import { DynamoCorpBudget } from '../../../lib/store/corp-budget.js';
import { DynamoFindingsStore } from '../../../lib/store/findings.js';
import {
  QUESTIONS,
  type PollingModes,
  type QuestionKey,
  type Verdict,
  type WeibanFindings,
} from '../../../lib/weiban/findings.js';
import type { WireCall } from '../../../lib/probe/wire.js';
import { World } from '../../support/world.js';
import { cli, simulatorEnv, type CliResult } from './support.js';

interface ProbeOutput {
  readonly saved: boolean;
  readonly item: string;
  readonly findings: WeibanFindings;
  readonly modes: PollingModes;
  readonly calls: WireCall[];
}

/** Every question's verdict, for one assertion over all of them. */
const verdicts = (findings: WeibanFindings): Record<QuestionKey, Verdict> =>
  Object.fromEntries(QUESTIONS.map(([key]) => [key, findings[key].verdict])) as Record<
    QuestionKey,
    Verdict
  >;

/** The verdicts against a Weiban that plays every documented default (the simulator's). */
const DEFAULTS: Record<QuestionKey, Verdict> = {
  order: 'confirmed',
  timeFilter: 'confirmed',
  startInclusive: 'confirmed',
  endInclusive: 'confirmed',
  largestLimit: 'confirmed',
  formIdOptional: 'refuted',
  expiresIn: 'confirmed',
  tokenLifetime: 'undetermined',
  newTokenEndsOld: 'refuted',
};

// The limiter's hold (5 s of sends) plus the request timeout it keeps for sends in flight.
const HOLD_LAPSE_MS = 16_000;

const requestsMade = (sim: WeibanSimulator): number =>
  Object.values(sim.stats().requests).reduce((sum, n) => sum + n, 0);

describe('weiban-forms probe', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });
  const nowS = () => Math.floor(world.clock.now() / 1000);

  /**
   * A poller run, then the time its hold on the corp's budget lasts: an idle container gives
   * the budget up only at its next run, so the probe would wait that long.
   */
  async function pollOnce(): Promise<void> {
    await world.container()();
    world.clock.advance(HOLD_LAPSE_MS);
  }

  /**
   * Form 842: `rows` submitters a minute apart, two hours ago; form 901: three more. The poller
   * (FORM_IDS 842) starts three hours back, so a run of it reads Weiban.
   */
  async function setUp(simulator: SimulatorOptions = {}, rows = 6): Promise<void> {
    world = await World.create({
      simulator,
      env: { START_FROM: String(Math.floor(Date.now() / 1000) - 10_800) },
    });
    world.simulator.submitMany(842, rows, (i) => ({ submit_at: nowS() - 7_200 + i * 60 }));
    world.simulator.submitMany(901, 3, (i) => ({ submit_at: nowS() - 3_000 + i * 60 }));
  }

  const run = (args: string[] = [], options: Parameters<typeof cli>[2] = {}): Promise<CliResult> =>
    cli(world, ['probe', '--form', '842', ...args, '--table', world.tableName], {
      env: simulatorEnv(world),
      ...options,
    });

  /** Probes with --json --save; checks the bound, the count and what was stored. */
  async function probeJson(args: string[] = [], maxCalls = 30): Promise<ProbeOutput> {
    const before = requestsMade(world.simulator);
    const result = await run(['--json', '--save', ...args]);
    expect(result.stderr).not.toMatch(/^error:/m);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as ProbeOutput;
    const stored = await new DynamoFindingsStore({
      client: world.aws.doc,
      tableName: world.tableName,
      corpId: 'sim-corp',
    }).load();
    expect(output.findings.calls).toBeLessThanOrEqual(maxCalls);
    expect(output.findings.calls).toBe(requestsMade(world.simulator) - before);
    expect(output.calls).toHaveLength(output.findings.calls);
    expect(output.saved).toBe(true);
    expect(stored).toEqual(output.findings);
    return output;
  }

  it('answers every question against a Weiban that plays the documented defaults', async () => {
    await setUp();

    const result = await run(['--save']);

    expect(result.code).toBe(0);
    // Progress on stderr, the report alone on stdout.
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe(
      `Probing Weiban at ${world.simulator.url} for corp sim-corp with form 842: read-only, at most 30 call(s), from the corp's shared budget in table ${world.tableName}`,
    );
    expect(lines).toContain(
      '  #2 form/user/list form_id=842 status=submit limit=100 offset=0 → errcode 0: total 6, 6 rows',
    );
    expect(result.stdout.split('\n')[0]).toMatch(/^QUESTION +VERDICT +FINDING$/);
    expect(result.stdout).toMatch(/^sort order +confirmed +newest first over 6 rows/m);
    expect(result.stdout).toMatch(/^form_id optional +refuted +form_id is required: /m);
    expect(result.stdout).toMatch(
      /^new token ends the old +refuted +the first token still worked/m,
    );
    expect(result.stdout).toContain('  page size: limit 1000: Weiban accepted limit 1000');
    expect(result.stdout).toMatch(/^11 of at most 30 Weiban call\(s\), in \d+\.\ds\.$/m);
    expect(result.stdout).toContain(
      `Saved to table ${world.tableName} as CORP#sim-corp/FINDINGS; each poller container reads it at its first pass; running ones keep what they read.`,
    );
    const stored = await new DynamoFindingsStore({
      client: world.aws.doc,
      tableName: world.tableName,
      corpId: 'sim-corp',
    }).load();
    expect(stored && verdicts(stored)).toEqual(DEFAULTS);
    expect(stored).toMatchObject({ formId: 842, baseUrl: world.simulator.url, calls: 11 });
    expect(stored?.learnedAt).toBeLessThanOrEqual(world.clock.now());
  });

  it.each([
    ['desc', 'confirmed', 'newest first over 6 rows; no two rows shared a submit_at'],
    ['asc', 'refuted', 'oldest first over 6 rows; no two rows shared a submit_at'],
  ] as const)('tells the %s order, and the time filter in it', async (order, verdict, summary) => {
    await setUp({ order });

    const { findings } = await probeJson();

    expect(verdicts(findings)).toEqual({ ...DEFAULTS, order: verdict });
    expect(findings.order).toMatchObject({ observed: order, summary });
  });

  it.each<[TimeFilter, Verdict, Verdict, Verdict, boolean]>([
    ['exact', 'confirmed', 'confirmed', 'confirmed', true],
    ['exclusive-start', 'confirmed', 'refuted', 'confirmed', false],
    ['exclusive-end', 'confirmed', 'confirmed', 'refuted', false],
    ['exclusive-both', 'confirmed', 'refuted', 'refuted', false],
    ['ignored', 'refuted', 'undetermined', 'undetermined', false],
  ])(
    'tells a time filter that is %s',
    async (timeFilter, onSubmitAt, startInclusive, endInclusive, exact) => {
      await setUp({ timeFilter });

      const { findings, modes } = await probeJson();

      expect(verdicts(findings)).toEqual({
        ...DEFAULTS,
        timeFilter: onSubmitAt,
        startInclusive,
        endInclusive,
      });
      expect(modes.exactTimeFilter).toBe(exact);
      // The windows sit at the submit_at of rows the first listing showed.
      const known = new Set(world.simulator.rows(842).map((row) => row.submit_at));
      const windows = world.simulator.stats().listCalls.filter((c) => c.start_time !== undefined);
      expect(windows.length).toBeGreaterThanOrEqual(2);
      for (const call of windows.slice(0, 2)) {
        expect(known.has(call.start_time ?? 0) && known.has(call.end_time ?? 0)).toBe(true);
      }
    },
  );

  it.each([
    ['in the modes the saved findings prove', {}, 1000, 0],
    [
      'cautiously with WEIBAN_LARGER_PAGES and WEIBAN_TRUST_TIME_FILTER off',
      { WEIBAN_LARGER_PAGES: 'off', WEIBAN_TRUST_TIME_FILTER: 'off' },
      100,
      1,
    ],
  ])('lets a poller started after --save poll %s', async (_label, env, limit, early) => {
    const origin = Math.floor(Date.now() / 1000) - 10_800;
    world = await World.create({
      simulator: { timeFilter: 'exact' },
      env: { START_FROM: String(origin), ...env },
    });
    world.simulator.submitMany(842, 6, (i) => ({ submit_at: nowS() - 7_200 + i * 60 }));
    await probeJson(['--skip-new-token']);
    const before = world.simulator.stats().listCalls.length;

    const summary = await world.container()();

    expect(summary.forms).toMatchObject([{ form_id: 842, outcome: 'ok', new: 6, published: 6 }]);
    const polled = world.simulator.stats().listCalls.slice(before);
    expect(polled.length).toBeGreaterThan(0);
    for (const call of polled) expect(call.limit).toBe(limit);
    // START_FROM is the window's start: sent as it is once the filter proved exact.
    expect(polled[0]?.start_time).toBe(origin - early);
    expect(world.logs).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'polling modes' }),
    );
  });

  it('finds form_id required, and keeps one listing per form', async () => {
    await setUp({ formIdRequired: true });

    const { findings, modes } = await probeJson();

    expect(findings.formIdOptional).toMatchObject({
      verdict: 'refuted',
      formsSeen: [],
      windowOnSubmitAt: 'undetermined',
    });
    expect(findings.formIdOptional.summary).toMatch(
      /^form_id is required: without it Weiban answered 21901/,
    );
    expect(modes.corpWideListing).toBe(false);
  });

  it.each<[TimeFilter, Verdict, boolean]>([
    ['exact', 'confirmed', true],
    ['exclusive-end', 'refuted', false],
  ])(
    'finds form_id optional, listing the whole corp, with a %s time window',
    async (timeFilter, inclusive, exact) => {
      await setUp({ formIdRequired: false, timeFilter });

      const { findings, modes } = await probeJson();

      expect(findings.formIdOptional).toMatchObject({
        verdict: 'confirmed',
        formsSeen: [842, 901],
        documentedFields: true,
        windowOnSubmitAt: 'confirmed',
        windowInclusive: inclusive,
      });
      expect(modes).toMatchObject({ corpWideListing: true, exactTimeFilter: exact });
      expect(world.simulator.stats().listCalls.filter((c) => c.formId === undefined)).toHaveLength(
        2,
      );
    },
  );

  it('leaves form_id undetermined when only the probed form has submitters', async () => {
    world = await World.create({ simulator: { formIdRequired: false } });
    world.simulator.submitMany(842, 6, (i) => ({ submit_at: nowS() - 7_200 + i * 60 }));

    const { findings, modes } = await probeJson();

    expect(findings.formIdOptional).toMatchObject({ verdict: 'undetermined', formsSeen: [842] });
    expect(findings.formIdOptional.summary).toContain(
      'one form’s rows cannot show a listing of the whole corp',
    );
    expect(modes.corpWideListing).toBe(false);
  });

  it.each([
    // PAGE_SIZE 100 is refused: the probe falls back to the documented 10 and searches from there.
    [50, 120, { verdict: 'refuted', accepted: 50, refused: 51 }, 100],
    [200, 120, { verdict: 'refuted', accepted: 200, refused: 201 }, 200],
    [5000, 6, { verdict: 'confirmed', accepted: 1000 }, 1000],
  ] as const)(
    'finds the largest limit when Weiban accepts up to %i',
    async (maxLimit, rows, expected, pageSize) => {
      await setUp({ maxLimit }, rows);

      const { findings, modes } = await probeJson();

      expect(findings.largestLimit).toMatchObject({ ...expected, searchedUpTo: 1000 });
      expect(modes.pageSize).toBe(pageSize);
      // The order and the time filter are still read, from a page of part of the form.
      expect(verdicts(findings)).toMatchObject({
        order: 'confirmed',
        timeFilter: 'confirmed',
        startInclusive: 'confirmed',
        endInclusive: 'confirmed',
      });
    },
  );

  it('says PAGE_SIZE must come down when Weiban refuses it', async () => {
    await setUp({ maxLimit: 50 }, 20);

    const result = await run();

    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'Limit 100 was refused; listing with 10, the documentation’s example',
    );
    expect(result.stdout).toMatch(
      /^largest limit +refuted +the largest limit accepted is 50: 51 got 21901$/m,
    );
    expect(result.stdout).toContain(
      '  page size: PAGE_SIZE 100: Weiban refused limit 51 with 21901 and accepted 50: lower PAGE_SIZE',
    );
  });

  it.each([
    [true, 'confirmed', 'the first token got 10001 once a second was issued'],
    [false, 'refuted', 'the first token still worked after a second was issued'],
  ] as const)(
    'tells whether a new token ends the old (%s), and the poller carries on with the shared one',
    async (newTokenEndsOld, verdict, summary) => {
      await setUp({ newTokenEndsOld });
      await pollOnce();
      const tokensBefore = world.simulator.stats().requests.token;

      const { findings } = await probeJson();
      const tokensByProbe = world.simulator.stats().requests.token - tokensBefore;
      // The form's turn comes again a pass interval after the first run.
      world.clock.advance(60_000);
      const after = await world.container()();

      expect(findings.newTokenEndsOld.verdict).toBe(verdict);
      expect(findings.newTokenEndsOld.summary).toContain(summary);
      expect(tokensByProbe).toBe(1);
      // A fresh poller takes the probe's token from the table: no fetch, no 10001.
      expect(after.forms.map((form) => form.outcome)).toEqual(['ok']);
      expect(world.simulator.stats().requests.token - tokensBefore).toBe(1);
      expect(world.simulator.stats().errors['10001'] ?? 0).toBe(newTokenEndsOld ? 1 : 0);
    },
  );

  it('reports what expires_in says and that the real lifetime needs time to see', async () => {
    await setUp({ tokenTtlSeconds: 3600 });

    const { findings } = await probeJson();

    expect(findings.expiresIn).toMatchObject({
      verdict: 'refuted',
      seconds: 3600,
      summary: 'expires_in 3600 s',
    });
    expect(findings.tokenLifetime.verdict).toBe('undetermined');
    expect(findings.tokenLifetime.summary).toMatch(
      /^expires_in says 3600 s; a token’s real life shows only over time/,
    );
  });

  it.each([
    ['one submitter', [100]],
    ['submitters who all share one submit_at', [100, 100, 100]],
  ])('says which questions need more data than a form with %s has', async (_label, offsets) => {
    world = await World.create();
    const base = nowS() - 7_200;
    offsets.forEach((offset) => world.simulator.submit(842, { submit_at: base + offset }));

    const result = await run();

    expect(result.code).toBe(0);
    for (const label of [
      'sort order',
      'time filter on submit_at',
      'start_time inclusive',
      'end_time inclusive',
    ]) {
      expect(result.stdout).toMatch(
        new RegExp(`^${label} +undetermined +needs two submitters with different submit_at`, 'm'),
      );
    }
    expect(result.stdout).toMatch(/^largest limit +confirmed/m);
    expect(result.stdout).toMatch(/^form_id optional +refuted/m);
    expect(result.stdout).toMatch(/^new token ends the old +refuted/m);
  });

  it('answers what it can of an empty form', async () => {
    world = await World.create();

    const { findings } = await probeJson();

    expect(verdicts(findings)).toEqual({
      ...DEFAULTS,
      order: 'undetermined',
      timeFilter: 'undetermined',
      startInclusive: 'undetermined',
      endInclusive: 'undetermined',
    });
    expect(findings.order.summary).toBe(
      'needs two submitters with different submit_at; the form has 0',
    );
  });

  it.each([
    [
      3,
      [
        'timeFilter',
        'startInclusive',
        'endInclusive',
        'largestLimit',
        'formIdOptional',
        'newTokenEndsOld',
      ],
      {
        formIdOptional: 'no calls left (at most 3)',
        newTokenEndsOld: 'needs 4 calls and 0 are left (at most 3)',
      },
    ],
    [8, ['largestLimit', 'newTokenEndsOld'], {}],
    [12, [], {}],
  ] as const)(
    'makes no more than --max-calls %i, and says what it left open',
    async (maxCalls, open, summaries: Partial<Record<QuestionKey, string>>) => {
      await setUp({ maxLimit: 200 });

      const { findings } = await probeJson(['--max-calls', String(maxCalls)], maxCalls);

      const undetermined = QUESTIONS.map(([key]) => key).filter(
        (key) => findings[key].verdict === 'undetermined' && key !== 'tokenLifetime',
      );
      expect(undetermined).toEqual(open);
      expect(findings.largestLimit.summary).toContain(
        'the search stopped: calls kept for the other questions',
      );
      for (const [key, summary] of Object.entries(summaries) as [QuestionKey, string][]) {
        expect(findings[key].summary).toBe(summary);
      }
    },
  );

  it('skips the new-token test with --skip-new-token, fetching no token of its own', async () => {
    await setUp();
    await pollOnce();

    const { findings } = await probeJson(['--skip-new-token']);

    expect(findings.newTokenEndsOld).toMatchObject({
      verdict: 'undetermined',
      summary: 'skipped (--skip-new-token): the test costs a token fetch',
    });
    expect(findings.expiresIn.verdict).toBe('undetermined');
    expect(world.simulator.stats().requests.token).toBe(1);
  });

  it('takes its calls from the corp’s shared budget as the holder "probe"', async () => {
    await setUp();
    const budget = new DynamoCorpBudget({
      client: world.aws.doc,
      tableName: world.tableName,
      corpId: 'sim-corp',
    });
    const holders: string[] = [];
    const watching: typeof fetch = async (input, init) => {
      const record = await budget.read();
      if (record?.holder !== undefined) holders.push(record.holder.label);
      return fetch(input, init);
    };

    const result = await run([], { fetch: watching });

    expect(result.code).toBe(0);
    expect(new Set(holders)).toEqual(new Set(['probe']));
    const shared = await budget.read();
    expect(shared?.holder).toBeUndefined();
    const listSends = Object.values(shared?.sends.minutes['form/user/list'] ?? {});
    expect(listSends.reduce((sum, n) => sum + n, 0)).toBe(world.simulator.stats().requests.list);
  });

  it('stops at a block Weiban imposed on the poller, and saves nothing', async () => {
    await setUp();
    world.simulator.fault({ kind: 'errcode', errcode: 10053, endpoint: 'list' });
    await expect(world.container()()).rejects.toThrow(/rate limited \(errcode 10053\)/);
    // Past the poller's hold on the budget, well within Weiban's 60 s block.
    world.clock.advance(HOLD_LAPSE_MS);
    const listsBefore = world.simulator.stats().requests.list;

    const result = await run(['--save']);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^sort order +undetermined +the first listing failed: Weiban blocks form\/user\/list until /m,
    );
    expect(result.stdout).toContain('Not saved: nothing was learned.');
    expect(result.stderr).toMatch(/^error: the probe of form 842 learned nothing: /m);
    expect(world.simulator.stats().requests.list).toBe(listsBefore);
    const stored = await new DynamoFindingsStore({
      client: world.aws.doc,
      tableName: world.tableName,
      corpId: 'sim-corp',
    }).load();
    expect(stored).toBeUndefined();
  });

  it('stops asking when Weiban blocks it midway, leaving the rest undetermined', async () => {
    await setUp({ maxLimit: 200 });
    let lists = 0;
    const blockThird: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.includes('/form/user/list') && ++lists === 3) {
        world.simulator.fault({ kind: 'errcode', errcode: 10053, endpoint: 'list' });
      }
      return fetch(input, init);
    };

    const result = await run(['--json'], { fetch: blockThird });

    const { findings } = JSON.parse(result.stdout) as ProbeOutput;
    expect(result.code).toBe(0);
    expect(world.simulator.stats().requests.list).toBe(3);
    expect(findings.largestLimit.summary).toMatch(
      /the search stopped: Weiban blocks form\/user\/list until .* \(errcode 10053\)/,
    );
    for (const key of ['timeFilter', 'formIdOptional', 'newTokenEndsOld'] as const) {
      expect(findings[key].verdict).toBe('undetermined');
    }
  });

  it('never shows a token or the secret, in its output or in what it saved', async () => {
    await setUp({ newTokenEndsOld: true });
    const tokens: string[] = [];
    const watching: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const body = (await response.clone().json()) as { access_token?: string };
      if (body.access_token !== undefined) tokens.push(body.access_token);
      return response;
    };

    const text = await run(['--save'], { fetch: watching });
    const json = await run(['--json', '--save'], { fetch: watching });
    const stored = await world.aws.doc.send(
      new GetCommand({
        TableName: world.tableName,
        Key: { pk: 'CORP#sim-corp', sk: 'FINDINGS' },
      }),
    );

    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const everything = [
      text.stdout,
      text.stderr,
      json.stdout,
      json.stderr,
      JSON.stringify(stored.Item),
    ].join('\n');
    for (const secret of [...tokens, 'sim-secret']) expect(everything).not.toContain(secret);
  });

  it('refuses a --max-calls beyond its bound', async () => {
    world = await World.create();

    const result = await run(['--max-calls', '101']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: --max-calls must be a whole number from 1 to 100; got "101"\n',
    );
  });
});
