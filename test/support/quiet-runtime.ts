// Tests keep the SDK's own logs to errors (expected activity failures log as warnings), so a failure's output is readable.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('ERROR') });
