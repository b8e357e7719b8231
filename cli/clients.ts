import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface CliClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly ssm: SSMClient;
  readonly cloudFormation: CloudFormationClient;
  /** The webhook commands read the deliver function's settings with it. */
  readonly lambda: LambdaClient;
  destroy(): void;
}

/**
 * SDK clients for one region. Endpoints and credentials come from the SDK's own chain, so
 * AWS_ENDPOINT_URL_DYNAMODB / _SNS / _SQS / _SSM / _CLOUDFORMATION aim them at the local
 * emulators.
 */
export function awsClients(region: string | undefined): CliClients {
  const options = region === undefined ? {} : { region };
  const dynamoBase = new DynamoDBClient(options);
  const dynamo = DynamoDBDocumentClient.from(dynamoBase, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sns = new SNSClient(options);
  const sqs = new SQSClient(options);
  const ssm = new SSMClient(options);
  const cloudFormation = new CloudFormationClient(options);
  const lambda = new LambdaClient(options);
  return {
    dynamo,
    sns,
    sqs,
    ssm,
    cloudFormation,
    lambda,
    destroy: () => {
      dynamo.destroy();
      dynamoBase.destroy();
      sns.destroy();
      sqs.destroy();
      ssm.destroy();
      cloudFormation.destroy();
      lambda.destroy();
    },
  };
}
