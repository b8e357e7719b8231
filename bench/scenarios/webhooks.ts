import { randomBytes, randomUUID } from 'node:crypto';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  startLocalWebhooks,
  type LocalEndpointSpec,
  type LocalWebhooks,
} from '../../dev/local-webhooks.js';
import { StandardReceiver, WecomRobotFake } from '../../dev/receivers/index.js';
import { createTable } from '../../dev/table.js';
import { VirtualClock } from '../../dev/virtual-clock.js';
import { buildEvent, type FormEvent } from '../../lib/events.js';
import { toMessage } from '../../lib/publish/message.js';
import { SnsPublisher } from '../../lib/publish/sns.js';
import { recentAttempts } from '../../lib/store/webhook-log-query.js';
import { awsClients, type AwsClients } from '../../test/support/aws.js';
import type { Endpoints } from '../deployment.js';
import { meterRequests, RequestCounter } from '../sdk-meter.js';
import { fixed, whole, type TargetRow } from '../targets.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const SECOND = 1_000;
// The WeCom group robot's documented limit (docs/receivers.md#wecom).
const WECOM_PER_MINUTE = 20;

export interface WebhooksShape {
  /** Events delivered to one standard endpoint, back to back. */
  readonly throughputEvents: number;
  /**
   * Published this many at a time, each lot drained before the next: moto's ReceiveMessage
   * takes time in proportion to the queue's length (150 ms with 100 messages waiting, 1.1 s
   * with 1,000, on the bench machine), which SQS's does not.
   */
  readonly throughputLot: number;
  /** Rounds of `perRound` events, `gapMs` of virtual time apart, for the latency. */
  readonly rounds: number;
  readonly perRound: number;
  readonly gapMs: number;
  /** Rounds whose first delivery the receiver answers 503 (retried 5 s later). */
  readonly faultEvery: number;
  /** Submissions published at once to a WeCom robot. */
  readonly burst: number;
}

export const WEBHOOKS_SHAPE: WebhooksShape = {
  throughputEvents: 1_000,
  throughputLot: 50,
  rounds: 30,
  perRound: 10,
  gapMs: 2 * SECOND,
  faultEvery: 10,
  burst: 500,
};

export interface WebhooksResult {
  readonly throughput: {
    readonly events: number;
    /** Published this many at a time (see WebhooksShape.throughputLot). */
    readonly lot: number;
    readonly ratePerMinute: number;
    readonly verified: number;
    readonly distinct: number;
    readonly refused: number;
    readonly wallMs: number;
    readonly deliveriesPerSecond: number;
    readonly invocations: number;
    readonly dynamoPerEvent: number;
    readonly dynamoByCommand: Record<string, number>;
  };
  readonly latency: {
    readonly events: number;
    readonly retried: number;
    readonly p50Ms: number;
    readonly p95Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
  readonly wecomBurst: {
    readonly submissions: number;
    /** Messages the fake accepted, and of those the digests. */
    readonly messages: number;
    readonly digests: number;
    /** Submissions the accepted messages told of (a digest's count, 1 for a single). */
    readonly told: number;
    /** Events the attempt log records as delivered. */
    readonly deliveredEvents: number;
    readonly peakPerMinute: number;
    readonly rejected: Record<string, number>;
    /** Virtual ms from the publish to the message that told of the last submission. */
    readonly lastReachedMs: number;
    readonly deadLetters: number;
    readonly dynamoPerSubmission: number;
  };
}

/**
 * Webhook delivery through the real deliver handler, fed from moto's SQS by the local event
 * source mapping (two containers), on a virtual clock: deliveries per second to one standard
 * endpoint that verifies every signature; publish-to-delivery latency with one delivery in a
 * hundred answered 503 and retried; and a burst to a WeCom robot fake, kept within 20 a minute
 * by digests.
 */
export async function webhooks(
  endpoints: Endpoints,
  shape: WebhooksShape = WEBHOOKS_SHAPE,
): Promise<WebhooksResult> {
  return {
    throughput: await throughput(endpoints, shape),
    latency: await latency(endpoints, shape),
    wecomBurst: await wecomBurst(endpoints, shape),
  };
}

async function throughput(endpoints: Endpoints, shape: WebhooksShape) {
  // Far above what one machine delivers: the figure is the delivery path's, not the limit's.
  const ratePerMinute = 100_000;
  const stack = await Stack.create(endpoints, (clock, secret) => [
    {
      name: 'crm',
      format: 'standard',
      secret,
      ratePerMinute,
      receiver: new StandardReceiver({ clock, secrets: [secret] }),
    },
  ]);
  try {
    const events = eventsFor(shape.throughputEvents, 1);
    let wallMs = 0;
    let invocations = 0;
    let dynamoRequests = 0;
    let dynamoByCommand: Record<string, number> = {};
    stack.dynamoRequests.reset();
    for (let start = 0; start < events.length; start += shape.throughputLot) {
      await stack.publish(events.slice(start, start + shape.throughputLot));
      const started = performance.now();
      const drained = await stack.endpoint('crm').source.drain();
      wallMs += performance.now() - started;
      invocations += drained.invocations;
      dynamoRequests += stack.dynamoRequests.total();
      dynamoByCommand = sumCounts(dynamoByCommand, stack.dynamoRequests.byCommand());
      stack.dynamoRequests.reset();
    }
    const receiver = stack.standard('crm');
    if (receiver.ids().size !== events.length) {
      throw new Error(`throughput: ${receiver.ids().size} of ${events.length} delivered`);
    }
    return {
      events: events.length,
      lot: shape.throughputLot,
      ratePerMinute,
      verified: receiver.deliveries.length,
      distinct: receiver.ids().size,
      refused: receiver.refusals.length,
      wallMs,
      deliveriesPerSecond: (receiver.deliveries.length / wallMs) * 1000,
      invocations,
      dynamoPerEvent: dynamoRequests / events.length,
      dynamoByCommand,
    };
  } finally {
    await stack.close();
  }
}

async function latency(endpoints: Endpoints, shape: WebhooksShape) {
  const stack = await Stack.create(endpoints, (clock, secret) => [
    {
      name: 'crm',
      format: 'standard',
      secret,
      receiver: new StandardReceiver({ clock, secrets: [secret] }),
    },
  ]);
  try {
    const receiver = stack.standard('crm');
    const publishedAt = new Map<string, number>();
    let retried = 0;
    for (let round = 0; round < shape.rounds; round += 1) {
      if (round > 0) stack.clock.advance(shape.gapMs);
      if ((round + 1) % shape.faultEvery === 0) {
        receiver.fault({ kind: 'status', status: 503 });
        retried += 1;
      }
      const events = eventsFor(shape.perRound, 1 + round * shape.perRound);
      for (const event of events) publishedAt.set(event.id, stack.clock.now());
      await stack.publish(events);
      await stack.endpoint('crm').source.drain();
    }
    // The delivery that verified is an event's last arrival: a delivered event is not sent again.
    const arrivedAt = new Map<string, number>();
    for (const arrival of receiver.arrivals) {
      arrivedAt.set(arrival.headers['webhook-id'] ?? '', arrival.at);
    }
    const latencies = [...publishedAt].map(([id, at]) => {
      const arrived = arrivedAt.get(id);
      if (arrived === undefined || !receiver.ids().has(id)) {
        throw new Error(`latency: ${id} was not delivered`);
      }
      return arrived - at;
    });
    latencies.sort((a, b) => a - b);
    return {
      events: latencies.length,
      retried,
      p50Ms: percentile(latencies, 0.5),
      p95Ms: percentile(latencies, 0.95),
      p99Ms: percentile(latencies, 0.99),
      maxMs: latencies.at(-1) ?? 0,
    };
  } finally {
    await stack.close();
  }
}

async function wecomBurst(endpoints: Endpoints, shape: WebhooksShape) {
  const stack = await Stack.create(endpoints, (clock) => [
    {
      name: 'sales',
      format: 'wecom',
      receiver: new WecomRobotFake({ clock, key: randomBytes(16).toString('hex') }),
    },
  ]);
  try {
    const events = eventsFor(shape.burst, 1);
    const publishedAt = stack.clock.now();
    await stack.publish(events);
    stack.dynamoRequests.reset();
    await stack.endpoint('sales').source.drain();
    const dynamoRequests = stack.dynamoRequests.total();
    const robot = stack.wecom('sales');
    const counts = robot.messages.map((message) => {
      const digest = /^\*\*(\d+) 条新线索\*\*/.exec(message.text)?.[1];
      return digest === undefined ? 1 : Number(digest);
    });
    const log = await recentAttempts(
      { client: stack.aws.doc, tableName: stack.tableName },
      'sales',
      shape.burst * 2,
    );
    const delivered = new Set(
      log.filter((entry) => entry.outcome === 'delivered').map((entry) => entry.eventId),
    );
    const last = robot.messages.at(-1)?.at ?? publishedAt;
    return {
      submissions: events.length,
      messages: robot.messages.length,
      digests: counts.filter((count) => count > 1).length,
      told: counts.reduce((sum, count) => sum + count, 0),
      deliveredEvents: delivered.size,
      peakPerMinute: robot.stats().peakPerMinute,
      rejected: robot.stats().rejected,
      lastReachedMs: last - publishedAt,
      deadLetters: (await stack.deadLetterCount('sales')) ?? 0,
      dynamoPerSubmission: dynamoRequests / events.length,
    };
  } finally {
    await stack.close();
  }
}

/** The figures as target rows: the WeCom burst's limit, and every standard delivery verified. */
export function webhookTargets(result: WebhooksResult): TargetRow[] {
  const { throughput: run, wecomBurst: burst } = result;
  const allTold = burst.told === burst.submissions && burst.deliveredEvents === burst.submissions;
  const clean = Object.keys(burst.rejected).length === 0 && burst.deadLetters === 0;
  return [
    {
      id: 'webhooks-wecom-burst',
      target: `WeCom burst: ${burst.submissions} submissions delivered, never above ${WECOM_PER_MINUTE} messages a minute`,
      measured: `${burst.told} told in ${burst.messages} messages (${burst.digests} digests), peak ${burst.peakPerMinute}/min, ${Object.keys(burst.rejected).length === 0 ? 'none refused' : `refused ${JSON.stringify(burst.rejected)}`}`,
      ratio: allTold && clean ? burst.peakPerMinute / WECOM_PER_MINUTE : 2,
      met: allTold && clean && burst.peakPerMinute <= WECOM_PER_MINUTE,
      kind: 'target',
    },
    {
      id: 'webhooks-standard-verified',
      target: 'standard: every delivery verified by the standardwebhooks package, each event once',
      measured: `${run.verified} verified, ${run.distinct} distinct of ${run.events}, ${run.refused} refused`,
      ratio: run.refused === 0 && run.distinct === run.events ? run.verified / run.events : 2,
      met: run.refused === 0 && run.distinct === run.events && run.verified === run.events,
      kind: 'variant',
    },
  ];
}

/** The measurements as [scenario, measure, value] rows. */
export function webhookRows(result: WebhooksResult): string[][] {
  const { throughput: run, latency: lat, wecomBurst: burst } = result;
  const standard = `webhooks: ${whole(run.events)} events to one standard endpoint (lots of ${run.lot})`;
  const latencySection = `webhooks: publish → delivery, ${whole(lat.events)} events`;
  const wecom = `webhooks: ${whole(burst.submissions)} submissions to a WeCom robot`;
  const commands = (byCommand: Record<string, number>) =>
    Object.entries(byCommand)
      .map(([name, count]) => `${name.replace('Command', '')} ${whole(count)}`)
      .join(', ');
  return [
    [
      standard,
      'deliveries per second (wall), verified',
      `${fixed(run.deliveriesPerSecond, 0)}/s over ${fixed(run.wallMs / 1000, 1)} s, ${run.invocations} invocations, ${run.verified} verified, ${run.refused} refused`,
    ],
    [standard, 'DynamoDB requests per event', fixed(run.dynamoPerEvent, 2)],
    [standard, '  by command', commands(run.dynamoByCommand)],
    [
      latencySection,
      'p50 · p95 · p99 · max (virtual ms)',
      `${whole(lat.p50Ms)} · ${whole(lat.p95Ms)} · ${whole(lat.p99Ms)} · ${whole(lat.maxMs)}`,
    ],
    [latencySection, 'answered 503 once, retried 5 s later', `${lat.retried} of ${lat.events}`],
    [
      wecom,
      'messages · digests · submissions told',
      `${burst.messages} · ${burst.digests} · ${whole(burst.told)}`,
    ],
    [
      wecom,
      'peak per minute seen by the fake (limit 20) · refused',
      `${burst.peakPerMinute} · ${Object.keys(burst.rejected).length === 0 ? 0 : JSON.stringify(burst.rejected)}`,
    ],
    [
      wecom,
      'last submission in the group after (virtual)',
      `${fixed(burst.lastReachedMs / 1000, 1)} s`,
    ],
    [
      wecom,
      'events logged delivered · dead letters · DynamoDB per submission',
      `${whole(burst.deliveredEvents)} · ${burst.deadLetters} · ${fixed(burst.dynamoPerSubmission, 3)}`,
    ],
  ];
}

type Specs = (clock: VirtualClock, secret: string) => readonly LocalEndpointSpec[];

/** One webhook stack in the emulators: table, topic, queues, receivers, two deliver containers. */
class Stack {
  readonly clock = new VirtualClock();
  readonly aws: AwsClients;
  readonly ssm: SSMClient;
  readonly tableName = `bench-hooks-${randomUUID().slice(0, 8)}`;
  readonly dynamoRequests = new RequestCounter();
  topicArn = '';
  #local: LocalWebhooks | undefined;

  private constructor(endpoints: Endpoints) {
    this.aws = awsClients({
      dynamoEndpoint: endpoints.dynamo,
      snsEndpoint: endpoints.moto,
      sqsEndpoint: endpoints.moto,
    });
    this.ssm = new SSMClient({
      region: REGION,
      credentials: CREDENTIALS,
      endpoint: endpoints.moto,
    });
    meterRequests(this.aws.dynamo, this.dynamoRequests);
  }

  static async create(endpoints: Endpoints, specs: Specs): Promise<Stack> {
    const stack = new Stack(endpoints);
    await createTable(stack.aws.dynamo, stack.tableName);
    const { TopicArn: topicArn } = await stack.aws.sns.send(
      new CreateTopicCommand({ Name: stack.tableName }),
    );
    stack.topicArn = topicArn ?? '';
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    stack.#local = await startLocalWebhooks({
      sns: stack.aws.sns,
      sqs: stack.aws.sqs,
      sqsConfig: { region: REGION, credentials: CREDENTIALS, endpoint: endpoints.moto },
      ssm: stack.ssm,
      dynamo: stack.aws.doc,
      tableName: stack.tableName,
      topicArn: stack.topicArn,
      specs: specs(stack.clock, secret),
      clock: stack.clock,
      prefix: stack.tableName,
      // A real second, as the deployed mapping's 5 s would only add idle wall time here.
      robotBatchingWindowMs: 1_000,
      log: () => quietLog,
    });
    return stack;
  }

  endpoint(name: string) {
    const found = this.#local?.endpoints.get(name);
    if (found === undefined) throw new Error(`no endpoint ${name}`);
    return found;
  }

  standard(name: string): StandardReceiver {
    const { receiver } = this.endpoint(name).spec;
    if (!(receiver instanceof StandardReceiver)) throw new Error(`${name} is no standard endpoint`);
    return receiver;
  }

  wecom(name: string): WecomRobotFake {
    const { receiver } = this.endpoint(name).spec;
    if (!(receiver instanceof WecomRobotFake)) throw new Error(`${name} is no WeCom robot`);
    return receiver;
  }

  async publish(events: readonly FormEvent[]): Promise<void> {
    const publisher = new SnsPublisher({ client: this.aws.sns, topicArn: this.topicArn });
    const result = await publisher.publish(events.map((event) => toMessage(event)));
    if (result.failed.length > 0) throw new Error(`SNS refused ${result.failed.length} event(s)`);
  }

  async deadLetterCount(name: string): Promise<number | undefined> {
    const out = await this.aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.endpoint(name).dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    const count = out.Attributes?.ApproximateNumberOfMessages;
    return count === undefined ? undefined : Number(count);
  }

  async close(): Promise<void> {
    await this.#local?.close();
    this.ssm.destroy();
    this.aws.destroy();
  }
}

function sumCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [key, count] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + count;
  return sum;
}

const quiet = (): void => undefined;
const quietLog = { debug: quiet, info: quiet, warn: quiet, error: quiet };

/** `count` submissions of form 842, u_id from `firstUId`, each a name and city of its own. */
function eventsFor(count: number, firstUId: number): FormEvent[] {
  const cities = ['上海市', '北京市', '杭州市', '深圳市', '南昌市'];
  const nowS = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, index) => {
    const uId = firstUId + index;
    return buildEvent({
      corpId: 'bench-corp',
      submitter: {
        u_id: uId,
        form_id: 842,
        form_name: '2026 秋季课程报名',
        status: 'submit',
        submit_at: nowS - count + index,
        external_user_id: `wm-bench-${uId}`,
        unionid: `union-bench-${uId}`,
        user_name: `客户${uId}`,
        user_city: cities[uId % cities.length] ?? '上海市',
      },
      type: 'weiban.form.submitted',
      detectedAtMs: nowS * 1000,
    });
  });
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}
