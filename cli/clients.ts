import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface CliClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly ssm: SSMClient;
  readonly cloudFormation: CloudFormationClient;
  destroy(): void;
}

/**
 * SDK clients for one region. Endpoints and credentials come from the SDK's own chain, so
 * AWS_ENDPOINT_URL_DYNAMODB / _SNS / _SSM / _CLOUDFORMATION aim them at the local emulators.
 */
export function awsClients(region: string | undefined): CliClients {
  const options = region === undefined ? {} : { region };
  const dynamoBase = new DynamoDBClient(options);
  const dynamo = DynamoDBDocumentClient.from(dynamoBase, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sns = new SNSClient(options);
  const ssm = new SSMClient(options);
  const cloudFormation = new CloudFormationClient(options);
  return {
    dynamo,
    sns,
    ssm,
    cloudFormation,
    destroy: () => {
      dynamo.destroy();
      dynamoBase.destroy();
      sns.destroy();
      ssm.destroy();
      cloudFormation.destroy();
    },
  };
}
