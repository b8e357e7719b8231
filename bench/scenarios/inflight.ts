import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backfill } from '../../cli/backfill.js';
import { WeibanSimulator } from '../../dev/simulator/index.js';
import type { Clock } from '../../lib/clock.js';
import { HARD_MAX_IN_FLIGHT, loadBackfillConfig, loadConfig } from '../../lib/config.js';
import type { EventPublisher, OutgoingMessage, PublishResult } from '../../lib/ports.js';
import { createPollService, createWeiban } from '../../lib/service.js';
import type { BackfillProgress } from '../../lib/store/backfill-progress.js';
import type { BudgetHolder, BudgetRecord, Claim, EndpointBlock } from '../../lib/weiban/budget.js';
import type { SharedSends } from '../../lib/weiban/send-log.js';
import { MemoryBudgetStore } from '../../test/support/memory-budget.js';
import { MemoryFormStateStore, MemoryLedger } from '../../test/support/memory-stores.js';
import { MemoryTokenStore } from '../../test/support/memory-token-store.js';
import { BenchLog } from '../deployment.js';
import { EventClock } from '../event-clock.js';

const MINUTE_MS = 60_000;
// A whole minute, so the schedule's ticks fall on minute boundaries as EventBridge's do.
const START_MS = Date.UTC(2026, 0, 5, 0, 0, 0);
/** The deployed function's timeout (serverless.yml custom.poll.timeoutSeconds). */
const TIMEOUT_MS = 70_000;
/** When each invocation begins after its scheduled minute (EventBridge and a warm start). */
const START_DELAY_MS = 500;
/**
 * How long before the first invocation the backfill starts: it holds the corp's budget when the
 * poller comes, the order that costs the poller most (it must wait for a hand-over). Short, so
 * that its sends before the poller's start take little of the minute the drain is measured in.
 */
const BACKFILL_LEAD_MS = 1_000;
/**
 * One DynamoDB round trip to the corp's budget item (a conditional UpdateItem or a consistent
 * GetItem in the region): the in-memory record answers after this long, half on the way there
 * and half on the way back. Every other store answers at once: their cost is not the budget's.
 */
export const BUDGET_ROUND_TRIP_MS = 10;
/** The backfill command's own defaults (`weiban-forms backfill --help`). */
export const BACKFILL_DEFAULTS = { maxInFlight: 2, maxPerMinute: 200 } as const;
const LIST_PATH = '/form/user/list';

export interface InflightCase {
  readonly latencyMs: number;
  /** The poller's backlog: forms × submitters each, from a day ago. */
  readonly forms: number;
  readonly perForm: number;
  readonly pageSize: number;
  /** WEIBAN_MAX_PER_MINUTE of the poller (the configuration's default unless given). */
  readonly budgetPerMinute: number;
  /** A backfill of one more form, at the same time, through cli/backfill.ts; none when absent. */
  readonly backfill?: {
    readonly rows: number;
    readonly maxInFlight: number;
    readonly maxPerMinute: number;
  };
}

export interface ProcessShare {
  readonly label: string;
  /** `form/user/list` calls it sent inside the measured span. */
  readonly listCalls: number;
  readonly submitters: number;
  /** Most of its own requests in flight at once (its limiter's slots). */
  readonly maxInFlight: number;
  /** Longest time inside the span with none of its list calls in flight (ms). */
  readonly longestGapMs: number;
}

export interface InflightResult {
  readonly case: InflightCase;
  /** From the first invocation's start to the poller's backlog published (ms). */
  readonly drainMs: number;
  /**
   * What is measured: the drain, or its whole minutes when it lasts longer than one (a drain
   * bound by the minute sends its budget at the start of each window).
   */
  readonly spanMs: number;
  readonly listCalls: number;
  readonly submitters: number;
  readonly requestsPerSecond: number;
  readonly submittersPerSecond: number;
  /** What an ideal per-corp limiter allows: min(4 in flight / latency, budget / 60 s), per s. */
  readonly boundPerSecond: number;
  /** Which of the two sets the bound. */
  readonly boundBy: 'in-flight' | 'minute';
  /** requestsPerSecond / boundPerSecond. */
  readonly ratio: number;
  readonly processes: readonly ProcessShare[];
  /** The backfill's whole run, from its start to its last page (ms). */
  readonly backfillMs?: number;
  /** The simulator's most requests in processing at once, corp-wide (Weiban allows 4). */
  readonly corpMaxInFlight: number;
  readonly errors10052: number;
  readonly errors10053: number;
  readonly otherErrors: Record<string, number>;
  /** The busiest rolling minute of list calls, as the simulator counted them. */
  readonly peakListMinute: number;
  /** Budget-record requests (claims, renewals, waits, reads, releases) in the span. */
  readonly budgetRequests: number;
  /** Hand-overs of the budget from one process to the other. */
  readonly handovers: number;
  /** Where the span went: ms with 0, 1, 2, 3 and 4 list calls of the corp in flight. */
  readonly inFlightTimeMs: readonly number[];
  readonly logProblems: number;
  readonly wallMs: number;
}

export interface InflightResults {
  readonly date: string;
  readonly durationS: number;
  readonly cases: readonly InflightResult[];
}

/**
 * The cases `npm run bench -- --only=inflight` measures: at 80 ms, a backlog that fits one
 * minute's budget (the in-flight cap binds) and one that lasts several minutes (the minute
 * binds); at 500 ms the in-flight cap binds. Each alone, then with a backfill begun first.
 */
export function inflightCases(): InflightCase[] {
  const base = { forms: 20, perForm: 2_000, pageSize: 100, budgetPerMinute: 500 };
  const backfill = { rows: 20_000, ...BACKFILL_DEFAULTS };
  const shapes: InflightCase[] = [
    { ...base, latencyMs: 80 },
    { ...base, latencyMs: 80, perForm: 5_000 },
    { ...base, latencyMs: 500 },
  ];
  return shapes.flatMap((shape) => [shape, { ...shape, backfill }]);
}

/**
 * Throughput of `form/user/list` with the corp's budget shared through its record (one holder at
 * a time, docs/guarantees.md#g4): the poller draining a backlog alone, and with a backfill of the
 * same corp at once, each against what an ideal per-corp limiter allows. All on the event clock.
 */
export async function inflight(progress: (text: string) => void): Promise<InflightResults> {
  const started = performance.now();
  const cases: InflightResult[] = [];
  for (const shape of inflightCases()) {
    const who =
      shape.backfill === undefined
        ? 'poller alone'
        : `poller + backfill (${shape.backfill.maxInFlight} in flight, ${shape.backfill.maxPerMinute}/min)`;
    progress(
      `inflight: ${who}, ${shape.forms} × ${shape.perForm} submitters, Weiban latency ${shape.latencyMs} ms`,
    );
    cases.push(await runCase(shape));
  }
  return {
    date: new Date().toISOString(),
    durationS: (performance.now() - started) / 1000,
    cases,
  };
}

interface ListSend {
  readonly label: string;
  readonly at: number;
  answeredAt?: number;
}

export async function runCase(shape: InflightCase): Promise<InflightResult> {
  const wallStart = performance.now();
  const clock0 = START_MS - BACKFILL_LEAD_MS;
  const clock = new EventClock(clock0);
  // Weiban's limits: fewer than 5 in processing per corp (10052), 600 per endpoint a minute.
  const simulator = new WeibanSimulator({
    clock,
    latencyMs: shape.latencyMs,
    maxInFlight: HARD_MAX_IN_FLIGHT,
    perMinute: 600,
    seed: 9,
  });
  const formIds = Array.from({ length: shape.forms }, (_, index) => 7001 + index);
  const backfillFormId = 7001 + shape.forms;
  const dayAgoS = Math.floor(START_MS / 1000) - 86_400;
  const fill = (formId: number, count: number): void => {
    simulator.submitMany(formId, count, (index) => ({
      // Spread over the day, the newest two minutes before the first tick.
      submit_at: dayAgoS + 1 + Math.floor(((86_400 - 120) * index) / count),
    }));
  };
  for (const formId of formIds) fill(formId, shape.perForm);
  if (shape.backfill !== undefined) fill(backfillFormId, shape.backfill.rows);
  const pollerRows = shape.forms * shape.perForm;

  // One table and one topic for both processes, as in a deployed stage.
  const budget = new RoundTripBudget(clock, BUDGET_ROUND_TRIP_MS);
  const token = new MemoryTokenStore();
  const ledger = new MemoryLedger();
  const sends: ListSend[] = [];
  const fetchFor =
    (label: string): typeof fetch =>
    async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const send: ListSend | undefined = url.pathname.endsWith(LIST_PATH)
        ? { label, at: clock.now() }
        : undefined;
      if (send !== undefined) sends.push(send);
      try {
        return await simulator.fetch(input, init);
      } finally {
        if (send !== undefined) send.answeredAt = clock.now();
      }
    };
  // Never called: every store is in memory and the secret is plain text.
  const unreachable = { region: 'ap-northeast-1', endpoint: 'http://127.0.0.1:9' };
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const clients = {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ ...unreachable, credentials })),
    sns: new SNSClient({ ...unreachable, credentials }),
    ssm: new SSMClient({ ...unreachable, credentials }),
  };
  const weibanEnv = {
    WEIBAN_BASE_URL: 'http://weiban.invalid',
    WEIBAN_CORP_ID: 'sim-corp',
    WEIBAN_SECRET: 'sim-secret',
    PAGE_SIZE: String(shape.pageSize),
  };
  const log = new BenchLog();

  // The poller: the real service, its passes and schedule, one container for the whole run.
  const config = loadConfig({
    ...weibanEnv,
    TABLE_NAME: 'bench',
    TOPIC_ARN: 'arn:aws:sns:ap-northeast-1:123456789012:bench',
    FORM_IDS: formIds.join(','),
    START_FROM: String(dayAgoS),
    WEIBAN_MAX_PER_MINUTE: String(shape.budgetPerMinute),
  });
  const pollerPublisher = new CountingPublisher(clock);
  const pollerWeiban = createWeiban({
    config,
    tableName: config.tableName,
    clients,
    label: 'poller',
    clock,
    fetch: fetchFor('poller'),
    shared: { budget, token },
  });
  const service = createPollService({
    config,
    clients,
    log,
    clock,
    weiban: pollerWeiban,
    stores: {
      forms: new MemoryFormStateStore(),
      ledger,
      publisher: pollerPublisher,
      findings: { load: () => Promise.resolve(undefined) },
    },
  });
  let pollerDoneAt: number | undefined;
  let backfillDoneAt: number | undefined;
  let stop = false;
  const polling = (async () => {
    for (let tick = 0; !stop; tick += 1) {
      const scheduledAt = START_MS + tick * MINUTE_MS;
      const invokedAt = scheduledAt + START_DELAY_MS;
      await clock.sleep(invokedAt - clock.now());
      const deadline = invokedAt + TIMEOUT_MS;
      await service.run({
        runId: `run-${tick}`,
        remainingMs: () => Math.max(0, deadline - clock.now()),
        scheduledAt,
      });
      if (pollerPublisher.count >= pollerRows) {
        pollerDoneAt ??= pollerPublisher.lastAt;
        // Once both are done, the schedule stops too.
        if (shape.backfill === undefined || backfillDoneAt !== undefined) stop = true;
      }
    }
  })();

  // The backfill: cli/backfill.ts as `weiban-forms backfill` runs it, its own process.
  let backfillWeiban: ReturnType<typeof createWeiban> | undefined;
  const backfillPublisher = new CountingPublisher(clock);
  const backfilling = (async () => {
    const wanted = shape.backfill;
    if (wanted === undefined) return;
    const backfillConfig = loadBackfillConfig({
      ...weibanEnv,
      WEIBAN_MAX_IN_FLIGHT: String(wanted.maxInFlight),
      WEIBAN_MAX_PER_MINUTE: String(wanted.maxPerMinute),
    });
    const weiban = createWeiban({
      config: backfillConfig,
      tableName: 'bench',
      clients,
      label: 'backfill',
      clock,
      fetch: fetchFor('backfill'),
      shared: { budget, token },
    });
    backfillWeiban = weiban;
    const saved = new Map<number, BackfillProgress>();
    try {
      await backfill(
        {
          settings: backfillConfig,
          weiban: weiban.client,
          ledger,
          publisher: backfillPublisher,
          progress: {
            save: (formId, p) => {
              saved.set(formId, p);
              return Promise.resolve();
            },
            clear: (formId) => {
              saved.delete(formId);
              return Promise.resolve();
            },
          },
          clock,
          pause: () => weiban.limiter.yieldIfWanted(),
        },
        {
          formId: backfillFormId,
          from: {
            window: { start: dayAgoS, end: Math.floor(clock.now() / 1000) },
            offset: 0,
            published: 0,
            alreadyRecorded: 0,
            startedAt: clock.now(),
          },
        },
      );
      backfillDoneAt = clock.now();
    } finally {
      await weiban.limiter.release();
    }
  })();

  // The schedule stops once both are done; an hour is far more than any case needs.
  await clock.runUntil(START_MS + 60 * MINUTE_MS);
  stop = true;
  await clock.runUntil(START_MS + 62 * MINUTE_MS);
  await Promise.all([polling, backfilling]);
  if (pollerDoneAt === undefined) throw new Error('the poller did not drain its backlog');
  if (shape.backfill !== undefined && backfillDoneAt === undefined) {
    throw new Error('the backfill did not finish');
  }

  // Measured from the first invocation (the corp wants all 4 slots from then on) to the
  // poller's backlog published; over whole minutes when it lasts longer than one, so that a
  // budget-bound drain counts every minute's window once.
  const from = START_MS + START_DELAY_MS;
  const drainMs = pollerDoneAt - from;
  const spanMs = drainMs > MINUTE_MS ? Math.floor(drainMs / MINUTE_MS) * MINUTE_MS : drainMs;
  const to = from + spanMs;
  const inSpan = sends.filter((send) => send.at >= from && send.at < to);
  const labels = shape.backfill === undefined ? ['poller'] : ['poller', 'backfill'];
  const processes = labels.map((label): ProcessShare => {
    const own = inSpan.filter((send) => send.label === label);
    const weiban = label === 'poller' ? pollerWeiban : backfillWeiban;
    const publisher = label === 'poller' ? pollerPublisher : backfillPublisher;
    return {
      label,
      listCalls: own.length,
      submitters: publisher.countBetween(from, to),
      maxInFlight: weiban?.limiter.stats().maxInFlight ?? 0,
      longestGapMs: longestGap(own, from, to),
    };
  });
  const listCalls = inSpan.length;
  const submitters = processes.reduce((sum, share) => sum + share.submitters, 0);
  const byInFlight = (HARD_MAX_IN_FLIGHT * 1000) / shape.latencyMs;
  // A drain shorter than a minute may spend the whole minute's budget in it.
  const byMinute = (shape.budgetPerMinute * 1000) / Math.min(MINUTE_MS, spanMs);
  const boundPerSecond = Math.min(byInFlight, byMinute);
  const requestsPerSecond = (listCalls * 1000) / spanMs;
  const stats = simulator.stats();
  const { '10052': errors10052 = 0, '10053': errors10053 = 0, ...otherErrors } = stats.errors;
  return {
    case: shape,
    drainMs,
    spanMs,
    listCalls,
    submitters,
    requestsPerSecond,
    submittersPerSecond: (submitters * 1000) / spanMs,
    boundPerSecond,
    boundBy: byInFlight <= byMinute ? 'in-flight' : 'minute',
    ratio: requestsPerSecond / boundPerSecond,
    processes,
    ...(backfillDoneAt !== undefined && { backfillMs: backfillDoneAt - clock0 }),
    corpMaxInFlight: stats.maxInFlight,
    errors10052,
    errors10053,
    otherErrors,
    peakListMinute: stats.peakPerMinute.list,
    budgetRequests: budget.requestsBetween(from, to),
    handovers: budget.handoversBetween(from, to),
    inFlightTimeMs: inFlightTime(inSpan, from, to),
    logProblems: log.problems.length,
    wallMs: performance.now() - wallStart,
  };
}

/** Ms of [from, to) with 0, 1, 2, 3 and 4 (or more) of `sends` in flight. */
function inFlightTime(sends: readonly ListSend[], from: number, to: number): number[] {
  const time = [0, 0, 0, 0, 0];
  const edges = sends
    .flatMap((send) => [
      { at: send.at, delta: 1 },
      { at: Math.min(to, send.answeredAt ?? to), delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let since = from;
  for (const edge of edges) {
    const slot = Math.min(4, open);
    time[slot] = (time[slot] ?? 0) + (edge.at - since);
    since = edge.at;
    open += edge.delta;
  }
  time[0] = (time[0] ?? 0) + (to - since);
  return time;
}

/** The longest stretch inside [from, to) with none of `sends` in flight (ms). */
function longestGap(sends: readonly ListSend[], from: number, to: number): number {
  let longest = 0;
  let freeSince = from;
  let open = 0;
  const edges = sends
    .flatMap((send) => [
      { at: send.at, delta: 1 },
      { at: send.answeredAt ?? to, delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || b.delta - a.delta);
  for (const edge of edges) {
    if (edge.at >= to) break;
    if (open === 0 && edge.delta > 0) longest = Math.max(longest, edge.at - freeSince);
    open += edge.delta;
    if (open === 0) freeSince = edge.at;
  }
  return Math.max(longest, open === 0 ? to - freeSince : 0);
}

/** A publisher that only counts: SNS is not what this scenario measures. */
class CountingPublisher implements EventPublisher {
  count = 0;
  lastAt = 0;
  readonly #times: { at: number; count: number }[] = [];

  constructor(readonly clock: Clock) {}

  publish(messages: readonly OutgoingMessage[]): Promise<PublishResult> {
    this.count += messages.length;
    this.lastAt = this.clock.now();
    this.#times.push({ at: this.lastAt, count: messages.length });
    return Promise.resolve({ published: messages.map((message) => message.id), failed: [] });
  }

  /** Events published in [from, to]. */
  countBetween(from: number, to: number): number {
    return this.#times
      .filter((t) => t.at >= from && t.at <= to)
      .reduce((sum, t) => sum + t.count, 0);
  }
}

/**
 * The corp's budget record of test/support, answering after a DynamoDB round trip on the
 * clock: a claim or renewal the limiter waits for costs what it would in the region.
 */
class RoundTripBudget extends MemoryBudgetStore {
  readonly #clock: Clock;
  readonly #halfMs: number;
  readonly #times: number[] = [];
  readonly #handovers: number[] = [];
  #lastHolder: string | undefined;

  constructor(clock: Clock, roundTripMs: number) {
    super();
    this.#clock = clock;
    this.#halfMs = roundTripMs / 2;
  }

  /** Requests sent in [from, to). */
  requestsBetween(from: number, to: number): number {
    return this.#times.filter((t) => t >= from && t < to).length;
  }

  /** Times the holder changed in [from, to). */
  handoversBetween(from: number, to: number): number {
    return this.#handovers.filter((t) => t >= from && t < to).length;
  }

  async #trip<T>(apply: () => Promise<T>): Promise<T> {
    this.#times.push(this.#clock.now());
    await this.#clock.sleep(this.#halfMs);
    const result = await apply();
    const holder = this.record?.holder?.owner;
    if (holder !== undefined && holder !== this.#lastHolder) {
      if (this.#lastHolder !== undefined) this.#handovers.push(this.#clock.now());
      this.#lastHolder = holder;
    }
    await this.#clock.sleep(this.#halfMs);
    return result;
  }

  override claim(holder: BudgetHolder, now: number): Promise<Claim> {
    return this.#trip(() => super.claim(holder, now));
  }

  override renew(holder: BudgetHolder, sends: SharedSends): Promise<BudgetRecord | undefined> {
    return this.#trip(() => super.renew(holder, sends));
  }

  override release(
    owner: string,
    sends: SharedSends,
    keepUntil: number | undefined,
    now: number,
    handTo?: string,
  ): Promise<void> {
    return this.#trip(() => super.release(owner, sends, keepUntil, now, handTo));
  }

  override wait(owner: string, until: number): Promise<void> {
    return this.#trip(() => super.wait(owner, until));
  }

  override read(): Promise<BudgetRecord | undefined> {
    return this.#trip(() => super.read());
  }

  override block(endpoint: string, block: EndpointBlock): Promise<void> {
    return this.#trip(() => super.block(endpoint, block));
  }
}
