import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';

export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  /** Closes every client's sockets. */
  destroy(): void;
}

// The emulators accept any credentials; fixed ones keep a developer's real profile out of tests.
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** SDK clients aimed at DynamoDB Local and moto. */
export function awsClients({
  dynamoEndpoint,
  snsEndpoint,
  sqsEndpoint,
}: {
  dynamoEndpoint: string;
  snsEndpoint: string;
  sqsEndpoint: string;
}): AwsClients {
  const dynamo = new DynamoDBClient({ region, credentials, endpoint: dynamoEndpoint });
  const doc = DynamoDBDocumentClient.from(dynamo, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sns = new SNSClient({ region, credentials, endpoint: snsEndpoint });
  const sqs = new SQSClient({ region, credentials, endpoint: sqsEndpoint });
  return {
    dynamo,
    doc,
    sns,
    sqs,
    destroy: () => {
      doc.destroy();
      dynamo.destroy();
      sns.destroy();
      sqs.destroy();
    },
  };
}
