import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { WeibanSimulator, type ListCall, type TimeFilter } from '../../../dev/simulator/index.js';
import { createTopicWithQueue } from '../../../dev/topic.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { loadConfig } from '../../../lib/config.js';
import type { RunSummary } from '../../../lib/model.js';
import { probe } from '../../../lib/probe/probe.js';
import { WireLog } from '../../../lib/probe/wire.js';
import { createWeiban, NEXT_RUN_GUARD_MS } from '../../../lib/service.js';
import { DynamoFindingsStore } from '../../../lib/store/findings.js';
import { pollingModes, type PollingModes } from '../../../lib/weiban/findings.js';
import { FORM_LIST_KEY } from '../../../lib/store/keys.js';
import { FaultPlan, LambdaProcess, readStates, type Journal } from './harness.js';
import type { Schedule, Step } from './schedule.js';

const LOOKBACK_S = 600;
const MINUTE_MS = 60_000;
const BUDGET = 500;
const CLEAN_RUNS = 4;
/** The probe's default bound (weiban-forms probe --max-calls). */
const PROBE_CALLS = 30;
const SUB_MINUTE_SCALE = 10;
const PASSES_PER_INVOCATION = 2;

export interface Emulators {
  readonly dynamoEndpoint: string;
  readonly motoEndpoint: string;
  readonly tableName: string;
}

/** What a schedule found wrong; empty when every guarantee held. */
export type Violations = string[];

/** What a schedule exercised, summed over the suite for its report. */
export type Coverage = Record<string, number>;

/**
 * Drives the real handler through one schedule, then a few clean runs, and checks G1, G2,
 * the cursor rule and G4 (docs/guarantees.md#g1, #g2, #g4) against what SNS delivered to a
 * subscribed queue.
 */
export async function runSchedule(
  emulators: Emulators,
  schedule: Schedule,
  index: number,
): Promise<{ violations: Violations; coverage: Coverage }> {
  const world = await ScheduleWorld.create(emulators, schedule, index);
  try {
    world.seedInitialRows();
    if (schedule.probed === true) await world.probe();
    for (const step of schedule.steps) await world.step(step);
    await world.cleanRuns();
    const violations = await world.verify();
    return { violations, coverage: world.coverage() };
  } finally {
    await world.close();
  }
}

class ScheduleWorld {
  readonly plan = new FaultPlan();
  readonly logs: string[] = [];
  readonly violations: Violations = [];
  readonly journal: Journal = [];
  readonly #processes: LambdaProcess[] = [];
  #warm: LambdaProcess | undefined;
  #overlapped = false;
  #lastSummaries: RunSummary[] = [];
  #invocations = 0;
  #passes = 0;
  #events = 0;
  readonly #outcomes: Record<string, number> = {};
  /** The modes the probe's saved findings allow; the cautious ones when nothing was probed. */
  #probedModes: PollingModes | undefined;
  /** The probe's own listings, first in the simulator's log of them. */
  #probeListCalls = 0;
  /** The 21901 answers the probe's limit search drew. */
  #probe21901 = 0;

  private constructor(
    readonly clock: VirtualClock,
    readonly emulators: Emulators,
    readonly schedule: Schedule,
    readonly simulator: WeibanSimulator,
    readonly corpId: string,
    readonly formIds: readonly number[],
    readonly clients: {
      doc: DynamoDBDocumentClient;
      base: DynamoDBClient;
      sns: SNSClient;
      sqs: SQSClient;
    },
    readonly queueUrl: string,
    readonly config: ReturnType<typeof loadConfig>,
  ) {}

  static async create(
    emulators: Emulators,
    schedule: Schedule,
    index: number,
  ): Promise<ScheduleWorld> {
    const region = 'us-east-1';
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    const corpId = `corp-${index}-${Date.now().toString(36)}`;
    const formIds = Array.from({ length: schedule.forms }, (_, k) => index * 10 + k + 1);
    const intervalS = schedule.intervalSeconds ?? 60;
    // Sub-minute passes sleep between them, on a clock ten times faster. The Lambda times the
    // schedule sets are scaled with it, so they stand for as much real work.
    const scale = intervalS < 60 ? SUB_MINUTE_SCALE : 1;
    const clock = new VirtualClock({ scale });
    const simulator = new WeibanSimulator({
      clock,
      corpId,
      secret: 'sim-secret',
      order: schedule.order,
      timeFilter: timeFilterOf(schedule),
      ...(schedule.maxLimit !== undefined && { maxLimit: schedule.maxLimit }),
      ...(schedule.formIdRequired !== undefined && { formIdRequired: schedule.formIdRequired }),
      ...(schedule.corpListingOmitsLast === true &&
        schedule.forms >= 3 && { corpListingOmits: formIds.slice(-1) }),
      perMinute: BUDGET,
      // On the faster clock, as much real time as in the other schedules.
      latencyMs: schedule.latencyMs * scale,
    });
    const url = await simulator.start();
    const base = new DynamoDBClient({ region, credentials, endpoint: emulators.dynamoEndpoint });
    const clients = {
      base,
      doc: DynamoDBDocumentClient.from(base),
      sns: new SNSClient({ region, credentials, endpoint: emulators.motoEndpoint }),
      sqs: new SQSClient({ region, credentials, endpoint: emulators.motoEndpoint }),
    };
    const topic = await createTopicWithQueue({ sns: clients.sns, sqs: clients.sqs, name: corpId });
    // The schedules share one table, one after another: each starts with a form list of its own
    // forms only (FORM_IDS seeds it), as a stack of its own would, not with every earlier
    // schedule's forms as well.
    await clients.doc.send(
      new DeleteCommand({ TableName: emulators.tableName, Key: FORM_LIST_KEY }),
    );
    const nowS = Math.floor(clock.now() / 1000);
    const config = loadConfig({
      WEIBAN_BASE_URL: url,
      WEIBAN_CORP_ID: corpId,
      WEIBAN_SECRET: 'sim-secret',
      FORM_IDS: formIds.join(','),
      TABLE_NAME: emulators.tableName,
      TOPIC_ARN: topic.topicArn,
      START_FROM: schedule.startMode === 'now' ? 'now' : String(nowS - 3_600),
      LOOKBACK_SECONDS: String(LOOKBACK_S),
      PAGE_SIZE: String(schedule.pageSize),
      WEIBAN_MAX_PER_MINUTE: String(BUDGET),
      DEADLINE_MARGIN_MS: String(2_000 * scale),
      WEIBAN_REQUEST_TIMEOUT_MS: String(5_000 * scale),
      // 60: one pass per invocation, each step one schedule tick.
      POLL_INTERVAL_SECONDS: String(intervalS),
    });
    return new ScheduleWorld(
      clock,
      emulators,
      schedule,
      simulator,
      corpId,
      formIds,
      clients,
      topic.queueUrl,
      config,
    );
  }

  get scale(): number {
    return this.config.pollIntervalSeconds < 60 ? SUB_MINUTE_SCALE : 1;
  }

  /**
   * The EventBridge event. With sub-minute passes, one dated so that PASSES_PER_INVOCATION
   * passes fit before the next invocation is due: as if it started late, as EventBridge may.
   */
  #scheduledEvent(): unknown {
    const intervalMs = this.config.pollIntervalSeconds * 1000;
    const periodMs = this.config.schedulePeriodSeconds * 1000;
    if (intervalMs >= periodMs) return undefined;
    const span = (PASSES_PER_INVOCATION - 1) * intervalMs + 1_000 + NEXT_RUN_GUARD_MS;
    this.#events += 1;
    return {
      id: `${this.corpId}-${this.#events}`,
      time: new Date(this.clock.now() + span - periodMs).toISOString(),
    };
  }

  get #nowS(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  seedInitialRows(): void {
    const nowS = this.#nowS;
    this.formIds.forEach((formId, k) => {
      const count = this.schedule.initial[k] ?? 0;
      // Spread over the last hour: a backfill for START_FROM=<time>, history for START_FROM=now.
      this.simulator.submitMany(formId, count, (i) => ({
        submit_at: nowS - 3_500 + Math.floor((i * 3_400) / Math.max(1, count)),
      }));
    });
  }

  /**
   * `weiban-forms probe --form <first> --save`, as an operator runs it on day one: the real
   * probe, through the corp's shared budget, against this schedule's Weiban.
   */
  async probe(): Promise<void> {
    const wire = new WireLog(PROBE_CALLS, globalThis.fetch, () => undefined);
    // WEIBAN_SECRET is plain: no parameter is read.
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    const weiban = createWeiban({
      config: this.config,
      tableName: this.emulators.tableName,
      clients: { dynamo: this.clients.doc, ssm },
      label: 'probe',
      clock: this.clock,
      fetch: wire.fetch,
      retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    });
    try {
      const { findings, failed } = await probe(
        { weiban: weiban.client, tokens: weiban.tokens, wire, clock: this.clock },
        {
          corpId: this.corpId,
          baseUrl: this.config.weibanBaseUrl,
          formId: this.formIds[0] ?? 0,
          pageSize: this.config.pageSize,
          newToken: false,
        },
      );
      if (failed !== undefined) {
        this.violations.push(`the probe failed against a healthy Weiban: ${failed}`);
        return;
      }
      const store = new DynamoFindingsStore({
        client: this.clients.doc,
        tableName: this.emulators.tableName,
        corpId: this.corpId,
      });
      await store.save(findings);
      this.#probedModes = pollingModes(findings, this.config);
    } finally {
      await weiban.limiter.release().catch(() => undefined);
      ssm.destroy();
      const stats = this.simulator.stats();
      this.#probeListCalls = stats.listCalls.length;
      this.#probe21901 = stats.errors['21901'] ?? 0;
    }
  }

  async step(step: Step): Promise<void> {
    const states = await readStates(this.clients.doc, this.emulators.tableName, this.formIds);
    const nowS = this.#nowS;
    this.formIds.forEach((formId, k) => {
      for (let i = 0; i < (step.arrivals[k] ?? 0); i += 1) {
        this.simulator.submit(formId, { submit_at: nowS - ((i * 7) % 30) });
      }
      const state = states.get(formId);
      if (state !== undefined) {
        for (let i = 0; i < (step.late[k] ?? 0); i += 1) {
          this.simulator.submit(formId, {
            submit_at: Math.max(state.origin, state.cursor - 60 - i * 97),
          });
        }
      }
    });
    if (step.whilePaging !== null) {
      const formId = this.formIds[step.whilePaging.form] ?? this.formIds[0] ?? 0;
      // Late relative to the present: such a row may land after a window's last page, and
      // G1 (docs/guarantees.md#g1) then promises it only while it is inside the lookback of the
      // cursor that follows.
      // Dated when they land, as a real submission is: a page may be served long after this
      // step (say, once an hourly block is over).
      const { afterPages, count, late } = step.whilePaging;
      this.simulator.insertWhilePaging(formId, afterPages, () =>
        Array.from({ length: count }, () => ({ submit_at: this.#nowS - (late ? 200 : 0) })),
      );
    }

    this.plan.arm(step);
    const slow = step.weiban.some((armed) => armed.fault === 'slow');
    const remainingMs = slow ? 3_000 : step.tight ? 2_300 : MINUTE_MS;
    const first = this.#process();
    first.crash = step.crash;
    if (step.invocation === 'overlap') {
      this.#overlapped = true;
      const second = this.#fresh();
      await Promise.all([
        this.#invoke(first, remainingMs, this.#scheduledEvent()),
        this.#invoke(second, remainingMs, this.#scheduledEvent()),
      ]);
    } else {
      // A double delivery is the same event twice.
      const event = this.#scheduledEvent();
      await this.#invoke(first, remainingMs, event);
      if (step.invocation === 'double' && !first.dead)
        await this.#invoke(first, remainingMs, event);
    }
    first.crash = null;
    this.plan.disarm();
    this.simulator.clearFaults();
    await this.#checkCursors('after a faulty step');
    await this.#minutePasses();
  }

  /**
   * A scheduled minute later. Real time passes for what is still out at Weiban (a dead
   * process's slow request goes on being processed) before the clock jumps, as it would.
   */
  async #minutePasses(): Promise<void> {
    await waitFor(() => this.simulator.inFlight === 0);
    this.clock.advance(MINUTE_MS);
  }

  async cleanRuns(): Promise<void> {
    // 10053s in a row read as Weiban's hourly (or daily) block: the service rests that long, so
    // the clean runs begin once the block it recorded for the corp is over.
    const blockedUntil = await this.#corpBlockedUntil();
    if (blockedUntil > this.clock.now())
      this.clock.advance(blockedUntil - this.clock.now() + 1_000);
    this.#lastSummaries = [];
    for (let run = 0; run < CLEAN_RUNS; run += 1) {
      const summary = await this.#invoke(this.#process(), MINUTE_MS, this.#scheduledEvent());
      if (summary !== undefined) this.#lastSummaries.push(summary);
      await this.#checkCursors('after a clean run');
      await this.#minutePasses();
    }
  }

  async #invoke(
    process: LambdaProcess,
    remainingMs: number,
    event: unknown,
  ): Promise<RunSummary | undefined> {
    this.#invocations += 1;
    const summary = await process.invoke(remainingMs * this.scale, event);
    this.#passes += summary?.passes ?? 0;
    for (const form of summary?.forms ?? [])
      this.#outcomes[form.outcome] = (this.#outcomes[form.outcome] ?? 0) + 1;
    return summary;
  }

  coverage(): Coverage {
    const count = (values: readonly string[]) =>
      Object.fromEntries(
        [...new Set(values)].map((value) => [value, values.filter((v) => v === value).length]),
      );
    const steps = this.schedule.steps;
    const stats = this.simulator.stats();
    return {
      schedules: 1,
      steps: steps.length,
      invocations: this.#invocations,
      passes: this.#passes,
      crashes: this.#processes.filter((process) => process.crashed && !process.timedOut).length,
      deadlineKills: this.#processes.filter((process) => process.timedOut).length,
      recordFailures: this.#processes.filter((process) => process.recordFault).length,
      catchUpPasses: this.logs.filter((line) => line.includes('rows moved while paging')).length,
      overlappingRuns: steps.filter((step) => step.invocation === 'overlap').length,
      doubleDeliveries: steps.filter((step) => step.invocation === 'double').length,
      insertsWhilePaging: steps.filter((step) => step.whilePaging !== null).length,
      lateArrivals: steps.reduce((sum, step) => sum + step.late.reduce((a, b) => a + b, 0), 0),
      ...prefixed('outcome', this.#outcomes),
      ...prefixed(
        'weiban',
        count(steps.flatMap((step) => step.weiban.map((armed) => armed.fault))),
      ),
      ...prefixed(
        'sns',
        count(steps.flatMap((step) => (step.sns.fault === 'none' ? [] : [step.sns.fault]))),
      ),
      ...prefixed(
        'dynamo',
        count(steps.flatMap((step) => (step.dynamo.fault === 'none' ? [] : [step.dynamo.fault]))),
      ),
      ...this.#modeCoverage(),
      [this.#overlapped ? 'maxInFlightOverlapping' : 'maxInFlight']: stats.maxInFlight,
    };
  }

  /** The poller's own listings: those after the probe's. */
  #pollerListCalls(): ListCall[] {
    return this.simulator.stats().listCalls.slice(this.#probeListCalls);
  }

  #omitsForm(): boolean {
    return this.schedule.corpListingOmitsLast === true && this.schedule.forms >= 3;
  }

  /** The poller's listings without form_id: the corp-wide listing. */
  #corpListings(): number {
    return this.#pollerListCalls().filter((call) => call.formId === undefined).length;
  }

  /** Processes that read Weiban trusting its time filter, from their 'polling modes' lines. */
  #trustedTimeFilter(): number {
    return this.logs.filter(
      (line) => line.startsWith('info polling modes') && line.includes('"exactTimeFilter":true'),
    ).length;
  }

  #modeCoverage(): Coverage {
    const larger = this.#pollerListCalls().some((call) => call.limit > this.schedule.pageSize);
    return {
      probed: this.#probedModes === undefined ? 0 : 1,
      'mode.largerPages': larger ? 1 : 0,
      'mode.exactTimeFilter': this.#trustedTimeFilter() > 0 ? 1 : 0,
      'mode.corpWide': this.#corpListings() > 0 ? 1 : 0,
      'mode.corpWide.omitting': this.#corpListings() > 0 && this.#omitsForm() ? 1 : 0,
      [`timeFilter.${this.#timeFilter}`]: 1,
    };
  }

  get #timeFilter(): TimeFilter {
    return timeFilterOf(this.schedule);
  }

  /**
   * The poller uses the modes the findings prove and never one this Weiban contradicts
   * (docs/guarantees.md#findings).
   */
  #checkModes(): void {
    const v = this.violations;
    if (this.#trustedTimeFilter() > 0 && this.#timeFilter !== 'exact') {
      v.push(`the poller trusted a time filter that is ${this.#timeFilter}`);
    }
    // A listing Weiban refused (a limit above its largest, a form_id it needs left out) never
    // reaches the simulator's log of listings: its 21901 answers count it. The probe's own
    // search for the largest limit is counted apart.
    const refused = (this.simulator.stats().errors['21901'] ?? 0) - this.#probe21901;
    if (refused > 0) v.push(`Weiban refused ${refused} poller listing(s) with 21901`);
    // PAGE_SIZE, or the larger page the findings prove; a process whose read of the findings
    // failed keeps to PAGE_SIZE until it reads them again, and says so in its log.
    const unread = this.logs.some((line) => line.includes('probe findings unreadable'));
    const proven = this.#probedModes?.pageSize ?? this.schedule.pageSize;
    const limits = new Set(this.#pollerListCalls().map((call) => call.limit));
    for (const limit of limits) {
      if (limit !== proven && !(unread && limit === this.schedule.pageSize)) {
        v.push(`the poller listed with limit ${limit}; the findings allow ${proven}`);
      }
    }
    if (!unread && proven > this.schedule.pageSize && !limits.has(proven)) {
      v.push(`the findings prove limit ${proven}, but the poller never listed with it`);
    }
    if (this.#corpListings() > 0 && this.#probedModes?.corpWideListing !== true) {
      v.push('the poller listed without form_id, which the findings do not allow');
    }
    if (!unread && this.#probedModes?.exactTimeFilter === true && this.#trustedTimeFilter() === 0) {
      v.push('the findings prove the time filter exact, but no run trusted it');
    }
  }

  async verify(): Promise<Violations> {
    const v = this.violations;
    this.#checkModes();
    if (process.env.FAULT_REPLAY !== undefined) {
      console.log(JSON.stringify(this.simulator.stats().listCalls));
      console.log(this.logs.filter((line) => !line.startsWith('debug')).join('\n'));
      for (const formId of this.formIds) console.log(JSON.stringify(this.simulator.rows(formId)));
    }
    const delivered = await drain(this.clients.sqs, this.queueUrl);
    const published = this.journal
      .filter((entry) => entry.kind === 'publish')
      .map((entry) => entry.id);
    if (!sameMultiset(delivered, published)) {
      v.push(`the queue got ${delivered.length} events but SNS accepted ${published.length}`);
    }
    const counts = tally(delivered);
    const states = await readStates(this.clients.doc, this.emulators.tableName, this.formIds);

    for (const formId of this.formIds) {
      const state = states.get(formId);
      if (state === undefined) {
        v.push(`form ${formId} has no state after the clean runs`);
        continue;
      }
      for (const row of this.simulator.rows(formId)) {
        const id = `weiban:${this.corpId}:${formId}:${row.u_id}`;
        if (row.submit_at >= state.origin && row.submit_at <= state.cursor && !counts.has(id)) {
          v.push(
            `lost: ${id} (submit_at ${row.submit_at}, origin ${state.origin}, cursor ${state.cursor})`,
          );
        }
        if (row.submit_at < state.origin && counts.has(id)) {
          v.push(`history before the start was published: ${id} (G7)`);
        }
      }
    }

    // G2 (docs/guarantees.md#g2): nothing is published once recorded, and a publish left without
    // its record comes only from a process that died or whose record write failed (the one allowed
    // duplicate).
    const recorded = new Set<string>();
    const open = new Map<string, LambdaProcess>();
    for (const entry of this.journal) {
      if (entry.kind === 'record') {
        recorded.add(entry.id);
        open.delete(entry.id);
        continue;
      }
      if (recorded.has(entry.id))
        v.push(`duplicate: ${entry.id} published again after it was recorded`);
      const before = open.get(entry.id);
      if (before !== undefined && !before.crashed && !before.recordFault) {
        v.push(
          `duplicate: ${entry.id} published twice; the first publish had no crash or record failure to excuse it`,
        );
      }
      open.set(entry.id, entry.process);
    }
    for (const [id, process] of open) {
      if (!process.crashed && !process.recordFault)
        v.push(`published but never recorded, with no crash or fault: ${id}`);
    }

    const last = this.#lastSummaries.at(-1);
    if (last === undefined) v.push('the last clean run failed as a whole');
    else {
      const stuck = last.forms.filter((form) => form.outcome !== 'ok');
      if (stuck.length > 0)
        v.push(`after the faults stopped, forms did not recover: ${JSON.stringify(stuck)}`);
    }

    // G4 (docs/guarantees.md#g4), as Weiban counts it: per corp, whichever containers sent them.
    const stats = this.simulator.stats();
    if (stats.maxInFlight > 4) v.push(`Weiban saw ${stats.maxInFlight} requests in flight (cap 4)`);
    for (const [endpoint, peak] of Object.entries(stats.peakPerMinute)) {
      if (peak > BUDGET)
        v.push(`Weiban saw ${peak} ${endpoint} calls in a minute (budget ${BUDGET})`);
    }
    const organic10053 = (stats.errors['10053'] ?? 0) - this.plan.injected10053;
    if (organic10053 > 0) v.push(`Weiban blocked the corp ${organic10053} time(s) (10053)`);
    return v;
  }

  async close(): Promise<void> {
    for (const process of this.#processes) process.destroy();
    await this.simulator.stop();
    this.clients.doc.destroy();
    this.clients.base.destroy();
    this.clients.sns.destroy();
    this.clients.sqs.destroy();
  }

  /** The end of the longest block the corp's shared budget record holds (epoch ms, 0 for none). */
  async #corpBlockedUntil(): Promise<number> {
    const out = await this.clients.doc.send(
      new GetCommand({
        TableName: this.emulators.tableName,
        Key: { pk: `CORP#${this.corpId}`, sk: 'BUDGET' },
        ConsistentRead: true,
      }),
    );
    const blocks = (out.Item?.blocks ?? {}) as Record<string, { until?: unknown }>;
    return Math.max(0, ...Object.values(blocks).map((block) => Number(block.until ?? 0)));
  }

  // The cursor never passes a submitter that is not published (docs/guarantees.md#g1): everything
  // older than the lookback behind it must be out. Newer late arrivals are still inside the next
  // window.
  async #checkCursors(when: string): Promise<void> {
    const states = await readStates(this.clients.doc, this.emulators.tableName, this.formIds);
    const published = new Set(
      this.journal.filter((entry) => entry.kind === 'publish').map((entry) => entry.id),
    );
    for (const [formId, state] of states) {
      for (const row of this.simulator.rows(formId)) {
        const id = `weiban:${this.corpId}:${formId}:${row.u_id}`;
        if (
          row.submit_at >= state.origin &&
          row.submit_at <= state.cursor - LOOKBACK_S &&
          !published.has(id)
        ) {
          this.violations.push(
            `${when}: cursor ${state.cursor} of form ${formId} passed unpublished ${id} (submit_at ${row.submit_at})`,
          );
        }
      }
    }
  }

  /** The warm container, or a fresh one when the last died (as Lambda would start one). */
  #process(): LambdaProcess {
    if (this.#warm === undefined || this.#warm.dead) this.#warm = this.#fresh();
    return this.#warm;
  }

  #fresh(): LambdaProcess {
    const process = new LambdaProcess({
      config: this.config,
      clock: this.clock,
      scale: this.scale,
      simulator: this.simulator,
      plan: this.plan,
      dynamoEndpoint: this.emulators.dynamoEndpoint,
      motoEndpoint: this.emulators.motoEndpoint,
      logs: this.logs,
      journal: this.journal,
    });
    this.#processes.push(process);
    return process;
  }
}

/** A recorded schedule may spell it the older way (filterByTime). */
const timeFilterOf = ({ timeFilter, filterByTime }: Schedule): TimeFilter =>
  timeFilter ?? (filterByTime === false ? 'ignored' : 'exact');

/** Every event id in the queue. moto delivers SNS to SQS synchronously, so no waiting is needed. */
async function drain(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (messages.length === 0) return ids;
    for (const message of messages) {
      const envelope = JSON.parse(message.Body ?? '{}') as { Message?: string };
      ids.push((JSON.parse(envelope.Message ?? '{}') as { id: string }).id);
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
        })),
      }),
    );
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

function prefixed(prefix: string, counts: Record<string, number>): Coverage {
  return Object.fromEntries(
    Object.entries(counts).map(([key, value]) => [`${prefix}.${key}`, value]),
  );
}

function tally(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const counts = tally(a);
  for (const id of b) {
    const left = (counts.get(id) ?? 0) - 1;
    if (left < 0) return false;
    counts.set(id, left);
  }
  return true;
}
