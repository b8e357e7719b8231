import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Powertools: no EMF noise unless a test asks for it; a service name like the stack's.
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_SERVICE_NAME: 'weiban-forms-test',
      POWERTOOLS_METRICS_NAMESPACE: 'WeibanForms',
      LOG_LEVEL: 'WARN',
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
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
