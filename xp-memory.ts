// Temporary experiment (not committed): open orders and recovery with given orders-worker settings.
import { startEmbeddedTarget } from './bench/target';
import { measureOpenOrders } from './bench/footprint';
import { measureRecovery } from './bench/recovery';
import { defaultPlan } from './bench/plan';
import { ProcessSampler } from './bench/sampler';
import { Progress } from './bench/progress';

async function main() {
  const env: Record<string, string> = {};
  for (const pair of process.argv.slice(2)) { const [k, v] = pair.split('='); env[k] = v; }
  const progress = new Progress();
  const target = await startEmbeddedTarget({ deliveryDelaySeconds: 1, serviceEnv: env, temporalServer: 'dev', workers: 1 });
  const sampler = new ProcessSampler(process.pid); sampler.start();
  try {
    const open = await measureOpenOrders(target, 'xp' + Date.now().toString(36), { ...defaultPlan.openOrders, fillMs: Number(process.env.FILL_MS ?? 90_000) }, env, sampler, progress);
    const mib = (b: number) => (b / 1048576).toFixed(0);
    console.log(JSON.stringify({ env, started: open.started, waiting: open.waiting, fillPerSecond: open.fillPerSecond.toFixed(1),
      before: mib(open.rssBefore['orders-worker']), after: mib(open.rssAfterFill['orders-worker']),
      small: open.smallCache && { idle: mib(open.smallCache.idleRssBytes), replayed: mib(open.smallCache.replayedRssBytes), rps: open.smallCache.replaysPerSecond.toFixed(0) } }));
    if (process.env.RECOVERY === '1') {
      const rec = await measureRecovery({ ...target, ordersWorker: target.ordersWorker! }, 'xpr' + Date.now().toString(36), { ...defaultPlan.recovery, confirmRate: open.fillPerSecond }, progress);
      console.log(JSON.stringify({ overdue: rec.overdue, ready: rec.workerReadyMs, first: rec.firstDeliveryMs, all: rec.allDeliveredMs, timeouts: rec.taskTimeouts }));
    }
  } finally { sampler.stop(); await target.stop(); }
  process.exit(0);
}
void main();
