// The one Lambda context helper lives in dev/, where the local event source uses it too.
export { lambdaContext } from '../../dev/lambda-context.js';
