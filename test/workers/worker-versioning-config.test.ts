// The orders worker's Worker Deployment Version comes from TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID (what
// temporal-worker-controller injects): both or neither, checked at start by the server's own rules for them.
import { ConfigError, loadConfig } from '../../src/config';

const version = {
  TEMPORAL_DEPLOYMENT_NAME: 'orders/order-system-orders-worker',
  TEMPORAL_WORKER_BUILD_ID: '0.2.0-5f7c',
};

describe('the orders worker deployment version in the configuration', () => {
  it('is the two variables together', () => {
    expect(loadConfig(version).workerDeploymentVersion).toEqual({
      deploymentName: 'orders/order-system-orders-worker',
      buildId: '0.2.0-5f7c',
    });
  });

  it('is absent without them, so the worker stays unversioned (npm start, the test tiers)', () => {
    expect(loadConfig({}).workerDeploymentVersion).toBeUndefined();
    expect(
      loadConfig({ TEMPORAL_DEPLOYMENT_NAME: '', TEMPORAL_WORKER_BUILD_ID: '' }).workerDeploymentVersion,
    ).toBeUndefined();
  });

  it.each([
    [
      'only the deployment name',
      { TEMPORAL_DEPLOYMENT_NAME: 'orders' },
      /TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID go together/,
    ],
    [
      'only the build id',
      { TEMPORAL_WORKER_BUILD_ID: 'v1' },
      /TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID go together/,
    ],
    [
      "a '.' in the name (it separates name and build id)",
      { ...version, TEMPORAL_DEPLOYMENT_NAME: 'orders.v2' },
      /TEMPORAL_DEPLOYMENT_NAME: must not contain/,
    ],
    [
      "a ':' in the name",
      { ...version, TEMPORAL_DEPLOYMENT_NAME: 'orders:x' },
      /TEMPORAL_DEPLOYMENT_NAME: must not contain/,
    ],
    [
      "a build id starting with '__' (reserved)",
      { ...version, TEMPORAL_WORKER_BUILD_ID: '__unversioned__' },
      /TEMPORAL_WORKER_BUILD_ID: must not start with '__'/,
    ],
    [
      'a build id over 108 characters',
      { ...version, TEMPORAL_WORKER_BUILD_ID: 'b'.repeat(109) },
      /TEMPORAL_WORKER_BUILD_ID/,
    ],
  ])('refuses %s, naming the variable', (_case, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
