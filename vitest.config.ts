import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Powertools: no EMF noise unless a test asks for it; a service name like the stack's.
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_SERVICE_NAME: 'weiban-forms-test',
      POWERTOOLS_METRICS_NAMESPACE: 'WeibanForms',
      LOG_LEVEL: 'WARN',
      // The machine runs Node 20; Lambda runs nodejs24.x. The SDK's upgrade notice is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    // 2 cores: integration files share one DynamoDB Local and one moto, each file using its
    // own table and topic names, so two at a time is safe.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/support/setup.ts'],
          // A cold import of the handler (its whole module graph) takes seconds on a busy machine.
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          // Emulators on a shared 2-core machine: some tests push 750 events through moto.
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
