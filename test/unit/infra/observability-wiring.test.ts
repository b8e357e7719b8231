import { readFileSync } from 'node:fs';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { FAILING_SECONDS, queueNames } from '../../../infra/webhooks-plugin.js';
import { formLines, recordDeliveries, recordRun } from '../../../lib/observability.js';
import { WeibanMeter } from '../../../lib/weiban/meter.js';
import { formSummary, runSummary } from '../../fixtures/run-summary.js';
import { captureEmf, dimensionsOf, type EmfDocument } from '../../support/emf.js';

// The alarms and the dashboard select metrics by namespace, name and exact dimension set; one
// name or dimension off and an alarm never fires. These tests resolve serverless.yml's params
// for a stage, make the handler's metrics code emit with the environment the function gets,
// and check every alarm and widget against what was really emitted.
const STAGE = 'dev';
const REGION = 'ap-northeast-1';

type Json = Record<string, unknown>;
const file = (name: string): Json =>
  // CloudFormation tags (!Ref, !Sub…) are not resolved: their values are read as plain YAML.
  parse(readFileSync(new URL(`../../../${name}`, import.meta.url), 'utf8'), {
    logLevel: 'error',
  }) as Json;

const serverless = file('serverless.yml');
const alarms = file('infra/alarms.yml');
const dashboard = file('infra/dashboard.yml');

const get = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (node, key) => (typeof node === 'object' && node !== null ? (node as Json)[key] : undefined),
    value,
  );

/** Resolves ${param:…}, ${self:…} and ${sls:stage} as osls would for STAGE with default params. */
function resolve(text: string): string {
  const params = {
    ...(get(serverless, 'params', 'default') as Json),
    ...(get(serverless, 'params', STAGE) as Json),
  };
  const next = text.replace(
    /\$\{(param|self|sls):([\w.]+)\}/g,
    (_, source: string, name: string) => {
      if (source === 'param') return String(params[name]);
      if (source === 'sls' && name === 'stage') return STAGE;
      return String(get(serverless, ...name.split('.')));
    },
  );
  return next === text ? next : resolve(next);
}

interface Emitted {
  readonly namespace: string;
  readonly metric: string;
  readonly dimensions: Record<string, string>;
}

let emitted: Emitted[] = [];

const deliverEnv = get(serverless, 'functions', 'deliver', 'environment') as Record<string, string>;
const pollEnv = get(serverless, 'functions', 'poll', 'environment') as Record<string, string>;
const serviceName = resolve(pollEnv.POWERTOOLS_SERVICE_NAME ?? '');
const namespace = resolve(pollEnv.POWERTOOLS_METRICS_NAMESPACE ?? '');

beforeAll(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', serviceName);
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', namespace);
  const emf = captureEmf();
  try {
    const sink = new Metrics();
    const meter = new WeibanMeter();
    meter.observe({ endpoint: 'form/user/list', result: 0, ms: 80 });
    meter.observe({ endpoint: 'form/user/list', result: 10053, ms: 80 });
    recordRun(
      sink,
      runSummary([formSummary({ form_id: 842, published: 3 })]),
      { ...meter.drain(), blockLevel: 0 },
      Date.now(),
    );
    sink.publishStoredMetrics();
    // The deliver function's metrics, as its handler emits them after a batch: one standard
    // endpoint and one robot that merged a burst into a digest.
    recordDeliveries([
      {
        endpoint: 'Crm',
        format: 'standard',
        delivered: 9,
        retried: 1,
        failed: 0,
        digests: 0,
        latencies: [40, 55],
      },
      {
        endpoint: 'SalesGroup',
        format: 'wecom',
        delivered: 48,
        retried: 0,
        failed: 2,
        digests: 1,
        latencies: [120],
      },
    ]);
    emitted = emf.documents().flatMap((doc: EmfDocument) =>
      (doc._aws.CloudWatchMetrics[0]?.Metrics ?? []).flatMap((metric) =>
        dimensionsOf(doc).map((dimensions) => ({
          namespace: doc._aws.CloudWatchMetrics[0]?.Namespace ?? '',
          metric: metric.Name,
          dimensions,
        })),
      ),
    );
  } finally {
    emf.restore();
  }
});

afterAll(() => {
  vi.unstubAllEnvs();
});

const wasEmitted = (wanted: Emitted): boolean =>
  emitted.some(
    (each) =>
      each.namespace === wanted.namespace &&
      each.metric === wanted.metric &&
      JSON.stringify(Object.entries(each.dimensions).sort()) ===
        JSON.stringify(Object.entries(wanted.dimensions).sort()),
  );

describe('the metrics the alarms and the dashboard select', () => {
  it("are published under the stage's service name and the configured namespace", () => {
    expect([serviceName, namespace]).toEqual([`weiban-forms-${STAGE}`, 'WeibanForms']);
    expect(emitted.length).toBeGreaterThan(0);
  });

  it('come from the deliver function under the same service name and namespace as the poller', () => {
    expect([
      resolve(deliverEnv.POWERTOOLS_SERVICE_NAME ?? ''),
      resolve(deliverEnv.POWERTOOLS_METRICS_NAMESPACE ?? ''),
    ]).toEqual([serviceName, namespace]);
  });

  const alarmResources = Object.entries(get(alarms, 'Resources') as Record<string, Json>).filter(
    ([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm',
  );

  it.each(
    alarmResources.filter(
      ([, alarm]) => !String(get(alarm, 'Properties', 'Namespace')).startsWith('AWS/'),
    ),
  )('%s selects a metric the handler emits, with the same dimensions', (_, alarm) => {
    const properties = alarm.Properties as Json;
    const dimensions = Object.fromEntries(
      (properties.Dimensions as { Name: string; Value: string }[]).map(({ Name, Value }) => [
        Name,
        resolve(Value),
      ]),
    );

    expect(
      wasEmitted({
        namespace: resolve(String(properties.Namespace)),
        metric: String(properties.MetricName),
        dimensions,
      }),
    ).toBe(true);
  });

  it.each(alarmResources)('%s notifies the alarm topic', (_, alarm) => {
    expect(get(alarm, 'Properties', 'AlarmActions')).toEqual(['AlarmTopic']);
  });

  it('alarms when no run succeeded for 10 minutes, a missing datapoint counting as a failure', () => {
    expect(get(alarms, 'Resources', 'PollStalledAlarm', 'Properties')).toMatchObject({
      MetricName: 'runs_ok',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 10,
      DatapointsToAlarm: 10,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it("alarms when the oldest form cursor lags more than the stage's lagAlarmSeconds, whatever the cause", () => {
    const properties = get(alarms, 'Resources', 'PollLagAlarm', 'Properties') as Json;
    expect(properties).toMatchObject({
      MetricName: 'lag_seconds',
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(resolve(String(properties.Threshold))).toBe('600');
  });

  it("alarms on the poll function's errors and mails the alarm topic only when an address is given", () => {
    expect(get(alarms, 'Resources', 'PollErrorsAlarm', 'Properties')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: 'PollLambdaFunction' }],
    });
    expect(resolve(String(get(alarms, 'Parameters', 'AlarmEmail', 'Default')))).toBe('');
    expect(get(alarms, 'Resources', 'AlarmEmailSubscription')).toMatchObject({
      Condition: 'HasAlarmEmail',
      Properties: { TopicArn: 'AlarmTopic', Protocol: 'email', Endpoint: 'AlarmEmail' },
    });
  });

  describe('the dashboard', () => {
    const [template, variables] = get(
      dashboard,
      'Resources',
      'Dashboard',
      'Properties',
      'DashboardBody',
    ) as [string, Record<string, string | number>];
    const values: Record<string, string> = {
      'AWS::Region': REGION,
      Function: 'poll-function',
      DeliverFunction: 'deliver-function',
      ...Object.fromEntries(
        Object.entries(variables)
          .filter(([name]) => name !== 'Function' && name !== 'DeliverFunction')
          .map(([name, value]) => [name, resolve(String(value))]),
      ),
    };
    const body = JSON.parse(
      template.replace(/\$\{([\w:]+)\}/g, (whole, name: string) => values[name] ?? whole),
    ) as { widgets: { properties: Json }[] };
    const series = body.widgets.flatMap(
      (widget) => (widget.properties.metrics as unknown[][] | undefined) ?? [],
    );
    const queries = body.widgets.flatMap((widget) =>
      typeof widget.properties.query === 'string' ? [widget.properties.query] : [],
    );

    it.each(queries)("reads the poll function's own form lines with %s", (query) => {
      const logged = formLines(
        runSummary([formSummary({ form_id: 842, outcome: 'failed', failed: 1, cursor: 0 })]),
        { ...new WeibanMeter().drain(), blockLevel: 0 },
        Date.now(),
      )[0];
      const fields = [...query.matchAll(/\b(formId|published|failed|lagSeconds|outcome)\b/g)].map(
        (match) => match[1] ?? '',
      );

      expect(query).toContain("SOURCE '/aws/lambda/poll-function'");
      expect(query).toContain("filter message = 'form run'");
      for (const field of fields) expect(logged).toHaveProperty(field);
    });

    it('is valid JSON once CloudFormation substitutes its variables', () => {
      expect(body.widgets.length).toBeGreaterThanOrEqual(6);
    });

    const searches = series
      .map((entry) => (entry[0] as { expression?: string }).expression ?? '')
      .filter((expression) => expression.startsWith('SEARCH'));
    const ownSearches = searches.filter((expression) => !expression.includes('{AWS/'));
    const parseSearch = (expression: string) => {
      const match = /\{([^}]+)\} service="([^"]+)" MetricName="([^"]+)"/.exec(expression);
      const [, schema = '', service = '', metric = ''] = match ?? [];
      const [searchNamespace = '', ...names] = schema.split(',');
      return { searchNamespace, names, service, metric };
    };
    const finds = (candidates: readonly Emitted[], expression: string): boolean => {
      const { searchNamespace, names, service, metric } = parseSearch(expression);
      return candidates.some(
        (each) =>
          each.namespace === searchNamespace &&
          each.metric === metric &&
          each.dimensions.service === service &&
          JSON.stringify(Object.keys(each.dimensions).sort()) === JSON.stringify(names.sort()),
      );
    };

    it.each(ownSearches)('finds emitted metrics with %s', (expression) => {
      expect(finds(emitted, expression)).toBe(true);
    });

    it('plots every per-endpoint metric the deliver function emits, under {service, endpoint}', () => {
      const webhookMetrics = emitted.filter((each) => each.metric.startsWith('webhook_'));
      const plotted = new Set(ownSearches.map((expression) => parseSearch(expression).metric));

      expect(webhookMetrics.map((each) => Object.keys(each.dimensions).sort())).toEqual(
        webhookMetrics.map(() => ['endpoint', 'service']),
      );
      expect([...new Set(webhookMetrics.map((each) => each.metric))].sort()).toEqual(
        [...plotted].filter((metric) => metric.startsWith('webhook_')).sort(),
      );
    });

    // The queues are named by infra/webhooks-plugin.js: <prefix>-webhook-<name> and
    // <prefix>-deadletter-<name>. CloudWatch matches the prefix as consecutive name tokens.
    const sqsSearches = searches
      .filter((expression) => expression.includes('{AWS/SQS,QueueName}'))
      .map((expression) => {
        const [, metric = '', prefix = ''] =
          /MetricName="([^"]+)" QueueName=([\w-]+)'/.exec(expression) ?? [];
        return [metric, prefix] as const;
      });
    const names = queueNames(resolve('${self:custom.webhooks.queuePrefix}'), 'Crm');

    it('plots the depth of every webhook dead-letter queue and the oldest message of every webhook queue', () => {
      expect(sqsSearches).toEqual([
        ['ApproximateNumberOfMessagesVisible', `weiban-forms-${STAGE}-deadletter`],
        ['ApproximateAgeOfOldestMessage', `weiban-forms-${STAGE}-webhook`],
      ]);
      expect(names.dlq.startsWith(`${sqsSearches[0]?.[1] ?? '?'}-`)).toBe(true);
      expect(names.queue.startsWith(`${sqsSearches[0]?.[1] ?? '?'}-`)).toBe(false);
      expect(names.queue.startsWith(`${sqsSearches[1]?.[1] ?? '?'}-`)).toBe(true);
      expect(names.dlq.startsWith(`${sqsSearches[1]?.[1] ?? '?'}-`)).toBe(false);
    });

    it('marks the age at which the failing alarm fires', () => {
      const widget = body.widgets.find((each) =>
        String(each.properties.title).startsWith('Webhook queues: oldest'),
      );
      expect(get(widget, 'properties', 'annotations', 'horizontal')).toEqual([
        { label: 'failing alarm', value: FAILING_SECONDS },
      ]);
    });

    it("plots the deliver function's invocations, errors and throttles", () => {
      const deliver = series.filter((entry) => entry[3] === 'deliver-function');
      expect(deliver.map((entry) => [entry[0], entry[1], entry[2]])).toEqual([
        ['AWS/Lambda', 'Invocations', 'FunctionName'],
        ['AWS/Lambda', 'Errors', 'FunctionName'],
        ['AWS/Lambda', 'Throttles', 'FunctionName'],
      ]);
    });

    it.each(series.filter((entry) => entry[0] === namespace).map((entry) => [entry[1], entry]))(
      'plots %s as emitted',
      (_, entry) => {
        expect(
          wasEmitted({
            namespace: String(entry[0]),
            metric: String(entry[1]),
            dimensions: { [String(entry[2])]: String(entry[3]) },
          }),
        ).toBe(true);
      },
    );

    it('draws the run duration, in seconds, against the function timeout', () => {
      const widget = body.widgets.find((each) =>
        String(each.properties.title).startsWith('Run duration'),
      );
      expect(get(widget, 'properties', 'annotations', 'horizontal')).toEqual([
        { label: 'function timeout', value: Number(resolve('${self:custom.poll.timeoutSeconds}')) },
      ]);
      expect(String(get(serverless, 'functions', 'poll', 'timeout'))).toBe(
        '${self:custom.poll.timeoutSeconds}',
      );
      expect(emitted.some((each) => each.metric === 'run_duration')).toBe(true);
    });
  });
});
