// Registers toHaveReceivedCommandWith & co. for aws-sdk-client-mock.
import 'aws-sdk-client-mock-vitest/extend';
