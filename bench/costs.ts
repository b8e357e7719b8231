import type { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * AWS list prices the benchmark's cost figures use (on-demand, no free tier), as of 2026-12.
 * Tokyo (ap-northeast-1) where prices differ by region.
 */
export const PRICES = {
  /** Lambda arm64, per GB-second of billed duration. */
  lambdaGbSecond: 0.0000133334,
  /** Lambda, per request. */
  lambdaRequest: 0.2 / 1e6,
  /** DynamoDB on-demand, Tokyo, per read request unit. */
  readUnit: 0.285 / 1e6,
  /** DynamoDB on-demand, Tokyo, per write request unit. */
  writeUnit: 1.4275 / 1e6,
  /** SNS standard topic, per publish request (a PublishBatch of up to 64 KB is one). */
  snsPublish: 0.5 / 1e6,
  /** CloudWatch, per custom metric per month (first 10,000). */
  customMetric: 0.3,
  /** CloudWatch, per standard-resolution alarm metric per month. */
  alarm: 0.1,
  /** CloudWatch Logs ingestion, Tokyo, per GB. */
  logsGb: 0.76,
} as const;

/** 30 days. */
export const MINUTES_PER_MONTH = 43_200;
/** The poller's memory the cost is figured for, GB. */
export const LAMBDA_MEMORY_GB = 0.25;

export interface MonthlyCost {
  readonly lambda: number;
  readonly dynamo: number;
  readonly sns: number;
  readonly cloudwatch: number;
  readonly logs: number;
  readonly total: number;
}

/** What one minute costs, on average, turned into a month at list prices. */
export function monthlyCost(perMinute: {
  readonly billedMs: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly snsRequests: number;
  readonly logBytes: number;
  readonly customMetrics: number;
  readonly alarms: number;
  readonly memoryGb?: number;
}): MonthlyCost {
  const m = MINUTES_PER_MONTH;
  const memory = perMinute.memoryGb ?? LAMBDA_MEMORY_GB;
  const lambda =
    (perMinute.billedMs / 1000) * memory * PRICES.lambdaGbSecond * m + PRICES.lambdaRequest * m;
  const dynamo =
    (perMinute.readUnits * PRICES.readUnit + perMinute.writeUnits * PRICES.writeUnit) * m;
  const sns = perMinute.snsRequests * PRICES.snsPublish * m;
  const cloudwatch =
    perMinute.customMetrics * PRICES.customMetric + perMinute.alarms * PRICES.alarm;
  const logs = ((perMinute.logBytes * m) / 1e9) * PRICES.logsGb;
  return {
    lambda,
    dynamo,
    sns,
    cloudwatch,
    logs,
    total: lambda + dynamo + sns + cloudwatch + logs,
  };
}

/**
 * The alarms the stack creates (infra/alarms.yml and the plugins), for the cost of CloudWatch:
 * the poller's five, one more with an alarm email, one per SQS or Lambda subscription (its
 * dead-letter queue) and three per webhook.
 */
export function alarmCount(options: {
  readonly alarmEmail: boolean;
  readonly subscriptions: number;
  readonly webhooks: number;
}): number {
  return 5 + (options.alarmEmail ? 1 : 0) + options.subscriptions + 3 * options.webhooks;
}

/**
 * Stands in for the Powertools Metrics sink and keeps the name and dimensions of every metric
 * it is given: each distinct pair is one custom metric on the CloudWatch bill. The `service`
 * dimension every metric carries is left out, as it is the same for all.
 */
export class MetricSpy {
  readonly #seen = new Set<string>();

  sink(): Metrics {
    const seen = this.#seen;
    const single = () => {
      const dimensions: string[] = [];
      return {
        addDimension: (name: string, value: string) => {
          dimensions.push(`${name}=${value}`);
        },
        addMetric: (name: string) => {
          seen.add(dimensions.length === 0 ? name : `${name}{${dimensions.join(',')}}`);
        },
      };
    };
    const sink = {
      addMetric: (name: string) => {
        seen.add(name);
      },
      singleMetric: single,
    };
    return sink as unknown as Metrics;
  }

  names(): string[] {
    return [...this.#seen].sort();
  }
}
