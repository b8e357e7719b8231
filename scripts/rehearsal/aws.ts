import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';

/** SDK clients for moto, in the region the stage deploys to. */
export interface MotoClients {
  readonly cloudFormation: CloudFormationClient;
  readonly dynamo: DynamoDBClient;
  readonly events: EventBridgeClient;
  readonly lambda: LambdaClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly ssm: SSMClient;
  destroy(): void;
}

export function motoClients(endpoint: string, region: string): MotoClients {
  const options = {
    endpoint,
    region,
    // moto accepts any credentials; these are not an account's.
    credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' },
    maxAttempts: 2,
  };
  const clients = {
    cloudFormation: new CloudFormationClient(options),
    dynamo: new DynamoDBClient(options),
    events: new EventBridgeClient(options),
    lambda: new LambdaClient(options),
    sns: new SNSClient(options),
    sqs: new SQSClient(options),
    ssm: new SSMClient(options),
  };
  return {
    ...clients,
    destroy: () => {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}
