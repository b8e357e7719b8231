/**
 * What the rehearsal deploys and what it expects of moto. Everything an operator might want
 * to change about the rehearsal is here.
 */

/** The stage the rehearsal deploys: a name no real deployment uses. */
export const STAGE = 'rehearsal';
/** serverless.yml: `service: weiban-forms`; each stage deploys the stack <service>-<stage>. */
export const SERVICE = 'weiban-forms';
export const STACK = `${SERVICE}-${STAGE}`;

/** The Weiban tenant the simulator plays; its secret lives only in moto's SSM. */
export const CORP_ID = 'rehearsal-corp';
export const SECRET = 'rehearsal-secret';

/** The form polled from the first deploy, and the one the update adds. */
export const FIRST_FORM = 842;
export const ADDED_FORM = 901;

/** Queues that stand in for sqs consumers; the rehearsal creates them in moto first. */
export const CONSUMER_QUEUES = ['rehearsal-intake', 'rehearsal-intake-moved'] as const;
export type ConsumerQueue = (typeof CONSUMER_QUEUES)[number];

/** A param value: text as it is, anything else passed to `--param` as JSON. */
export type ParamValue = string | readonly unknown[] | Readonly<Record<string, unknown>>;
export type Params = Readonly<Record<string, ParamValue>>;

const CRM = {
  name: 'Crm',
  protocol: 'https',
  endpoint: 'https://crm.example.com/weiban',
} as const;

/** A standard webhook endpoint: its URL in the template (no key in it), its secret in SSM. */
const CRM_WEBHOOK = {
  name: 'Crm',
  format: 'standard',
  url: 'https://crm.example.com/hooks/weiban',
  secretParam: `/${SERVICE}/${STAGE}/crm-webhook-secret`,
} as const;

/**
 * The first deploy's params, passed as `--param` exactly as an operator would. A param
 * added here goes to both deploys: a new setting is one more line.
 */
export function firstParams(queueArn: (queue: ConsumerQueue) => string): Params {
  return {
    weibanCorpId: CORP_ID,
    formIds: String(FIRST_FORM),
    alarmEmail: 'ops@example.com',
    subscriptions: [CRM, { protocol: 'sqs', endpoint: queueArn('rehearsal-intake') }],
    webhooks: [CRM_WEBHOOK],
  };
}

/**
 * The update: one form more; the named https subscription gains a filter policy (it keeps
 * its logical ids, so its dead-letter queue stays); the sqs one moves to another queue (a
 * new endpoint without a name: a new subscription with a new dead-letter queue).
 */
export function updateParams(queueArn: (queue: ConsumerQueue) => string): Params {
  return {
    ...firstParams(queueArn),
    formIds: `${FIRST_FORM},${ADDED_FORM}`,
    subscriptions: [
      { ...CRM, filterPolicy: { form_id: [FIRST_FORM, ADDED_FORM] } },
      { protocol: 'sqs', endpoint: queueArn('rehearsal-intake-moved') },
    ],
  };
}

/** `--param=name=value` arguments for osls. */
export function paramArgs(params: Params): string[] {
  return Object.entries(params).map(
    ([name, value]) =>
      `--param=${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
}

/**
 * Resource types moto's CloudFormation skips ("No Moto CloudFormation support for …"), as of
 * moto 5.2. The rehearsal fails when the list changes: a type that moto now creates can be
 * checked here, and comes off README's list of what the rehearsal cannot prove.
 */
export const EXPECTED_MOTO_SKIPS: readonly string[] = [
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
];

/**
 * Settings moto creates the resource without, so the rehearsal sees something other than
 * the template asks for. Each is read back after the deploy; the rehearsal fails when one
 * starts to match (moto learnt it: check it and strike it here and in README) or when a
 * setting not listed here stops matching.
 */
export const EXPECTED_UNPROVEN: readonly string[] = [
  'FormsTable TimeToLiveSpecification',
  'FormsTable PointInTimeRecoverySpecification',
  'FormsTable SSESpecification',
  'PollLambdaFunction Architectures',
  'EventsTopic SignatureVersion',
  'EventsTopicArn export in ListExports',
];
