// Counts by state, and orders created and delivered per minute of the last minutes as a small bar chart (inline SVG).
import { orderStates } from '../domain/order';
import type { OrderSummary } from './api';
import { clockTime } from './format';

const CHART = { width: 600, height: 120, top: 10, bottom: 20 };

function ThroughputChart({ throughput }: { throughput: OrderSummary['throughput'] }) {
  const busiest = Math.max(0, ...throughput.flatMap((m) => [m.created, m.delivered]));
  // The bars' scale: the busiest minute fills the plot (and an empty chart stays flat).
  const peak = Math.max(1, busiest);
  const slot = CHART.width / throughput.length;
  const barWidth = slot / 2 - 2;
  const plot = CHART.height - CHART.top - CHART.bottom;
  const barHeight = (count: number) => (count / peak) * plot;
  const created = throughput.reduce((sum, m) => sum + m.created, 0);
  const delivered = throughput.reduce((sum, m) => sum + m.delivered, 0);
  const description = `Last ${throughput.length} minutes: ${created} created, ${delivered} delivered; the busiest minute had ${busiest}.`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${CHART.width} ${CHART.height}`} role="img" aria-label={description}>
        {throughput.map((minute, i) => {
          const x = i * slot + 2;
          const base = CHART.height - CHART.bottom;
          return (
            <g key={minute.minute}>
              <rect
                class="bar-created"
                x={x}
                y={base - barHeight(minute.created)}
                width={barWidth}
                height={barHeight(minute.created)}
              >
                <title>{`${clockTime(minute.minute)}: ${minute.created} created`}</title>
              </rect>
              <rect
                class="bar-delivered"
                x={x + barWidth + 1}
                y={base - barHeight(minute.delivered)}
                width={barWidth}
                height={barHeight(minute.delivered)}
              >
                <title>{`${clockTime(minute.minute)}: ${minute.delivered} delivered`}</title>
              </rect>
              {i % 5 === 0 && (
                <text class="axis" x={x} y={CHART.height - 5}>
                  {clockTime(minute.minute)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span class="key key-created">created</span> <span class="key key-delivered">delivered</span> per minute ·{' '}
        {description}
      </figcaption>
    </figure>
  );
}

export function Overview({ summary }: { summary: OrderSummary }) {
  return (
    <section class="overview" aria-labelledby="overview-title">
      <h2 id="overview-title" class="visually-hidden">
        Overview
      </h2>
      <dl class="counts">
        {orderStates.map((state) => (
          <div key={state} class={`count state-${state}`} data-count={state}>
            <dt>{state}</dt>
            <dd>{summary.counts[state]}</dd>
          </div>
        ))}
      </dl>
      <ThroughputChart throughput={summary.throughput} />
    </section>
  );
}
