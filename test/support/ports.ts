export { freePort } from '../../src/tools/net';
