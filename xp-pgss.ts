// Temporary experiment (not committed): which statements PostgreSQL runs per order on the production server.
import { startEmbeddedTarget } from './bench/target';
import { measureLifecycle } from './bench/lifecycle';
import { Progress } from './bench/progress';

async function main() {
  const progress = new Progress();
  const target = await startEmbeddedTarget({ deliveryDelaySeconds: 1, serviceEnv: {}, temporalServer: 'real', workers: 1 });
  try {
    await target.db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await measureLifecycle(target, 'w' + Date.now().toString(36), { concurrency: 16, orders: 60, loadMs: 10_000, drainTimeoutMs: 60_000 }, 1000, progress);
    await target.db.raw('SELECT pg_stat_statements_reset()');
    const life = await measureLifecycle(target, 'p' + Date.now().toString(36), { concurrency: 16, orders: 200, loadMs: 20_000, drainTimeoutMs: 60_000 }, 1000, progress);
    const n = life.load.completed;
    const { rows } = await target.db.raw(`SELECT d.datname, s.calls, round(s.total_exec_time::numeric, 1) AS ms, round((s.total_exec_time / s.calls)::numeric, 3) AS per, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 150) AS q
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid ORDER BY s.total_exec_time DESC LIMIT 40`);
    console.log(`orders ${n}`);
    for (const r of rows) console.log(`${r.datname.padEnd(20)} ${(r.calls / n).toFixed(2).padStart(7)}/order ${(r.ms / n).toFixed(3).padStart(8)} ms/order  ${r.q}`);
    const { rows: tot } = await target.db.raw(`SELECT d.datname, sum(calls) AS calls, round(sum(total_exec_time)::numeric,1) AS ms FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid GROUP BY 1`);
    for (const r of tot) console.log(`TOTAL ${r.datname} ${(r.calls / n).toFixed(1)} statements/order ${(r.ms / n).toFixed(2)} ms/order`);
  } finally { await target.stop(); }
  process.exit(0);
}
void main();
