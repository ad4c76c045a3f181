import type { FC } from "hono/jsx";
import { OUTCOMES } from "../delivery/retry-policy";
import type { OutcomeCounts, SubscriptionSummary } from "../durable/subscription/summary";
import { OUTCOME_LABELS } from "./components";
import { choiceOf } from "./links";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** The chart's time ranges: bucket size and count. */
export const CHART_WINDOWS = {
  "1h": { label: "Last hour", bucketMs: MINUTE_MS, buckets: 60 },
  "24h": { label: "Last 24 hours", bucketMs: HOUR_MS, buckets: 24 },
  "7d": { label: "Last 7 days", bucketMs: 6 * HOUR_MS, buckets: 28 },
} as const;
export type ChartWindow = keyof typeof CHART_WINDOWS;
export const DEFAULT_WINDOW: ChartWindow = "24h";

export const chartWindowOf = (value: string | undefined): ChartWindow => choiceOf(CHART_WINDOWS, value, DEFAULT_WINDOW);

const WIDTH = 720;
const HEIGHT = 200;
const PAD = { top: 10, right: 8, bottom: 24, left: 36 };

const total = (counts: OutcomeCounts) => OUTCOMES.reduce((sum, outcome) => sum + counts[outcome], 0);

/** A round axis maximum: 1, 2, 5, 10, 20, 50, ... */
function niceCeiling(value: number): number {
  for (let step = 1; ; step *= 10) for (const factor of [1, 2, 5]) if (step * factor >= value) return step * factor;
}

const clock = (ms: number, bucketMs: number) => {
  const iso = new Date(ms).toISOString();
  return bucketMs >= HOUR_MS * 6 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
};

/** Attempts per bucket, stacked by outcome; the same numbers are in each bar's tooltip and in the totals below. */
export const AttemptsChart: FC<{ chart: SubscriptionSummary["chart"]; window: ChartWindow }> = ({ chart, window }) => {
  const start = Date.parse(chart.start);
  const { bucketMs, buckets } = chart;
  const peak = niceCeiling(Math.max(1, ...buckets.map(total)));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot * 0.8);
  const y = (count: number) => PAD.top + plotHeight - (count / peak) * plotHeight;
  const sums = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, buckets.reduce((sum, counts) => sum + counts[outcome], 0)])) as OutcomeCounts;
  const tickEvery = Math.ceil(buckets.length / 6);
  const description = `${CHART_WINDOWS[window].label}, ${total(sums)} attempts: ` + OUTCOMES.map((outcome) => `${sums[outcome]} ${OUTCOME_LABELS[outcome].toLowerCase()}`).join(", ");
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="chart-title chart-description">
        <title id="chart-title">Attempts over time by outcome</title>
        <desc id="chart-description">{description} (UTC times)</desc>
        {[0, peak / 2, peak].map((count) => (
          <g>
            <line class="axis" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(count)} y2={y(count)} />
            <text x={PAD.left - 4} y={y(count) + 4} text-anchor="end">{Number.isInteger(count) ? count : ""}</text>
          </g>
        ))}
        {buckets.map((counts, index) => {
          const x = PAD.left + index * slot + (slot - barWidth) / 2;
          const from = start + index * bucketMs;
          let stacked = 0;
          return (
            <g>
              <title>{`${clock(from, bucketMs)}–${clock(from + bucketMs, bucketMs)} UTC: ` + OUTCOMES.map((outcome) => `${counts[outcome]} ${OUTCOME_LABELS[outcome].toLowerCase()}`).join(", ")}</title>
              {OUTCOMES.filter((outcome) => counts[outcome] > 0).map((outcome) => {
                const top = y(stacked + counts[outcome]);
                const height = y(stacked) - top;
                stacked += counts[outcome];
                return <rect class={`o-${outcome}`} x={x.toFixed(1)} y={top.toFixed(1)} width={barWidth.toFixed(1)} height={height.toFixed(1)} />;
              })}
              {index % tickEvery === 0 ? <text x={x.toFixed(1)} y={HEIGHT - 6}>{clock(from, bucketMs)}</text> : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {OUTCOMES.map((outcome) => (
            <li><span class={`dot o-${outcome}`} aria-hidden="true"></span>{OUTCOME_LABELS[outcome]}: {sums[outcome]}</li>
          ))}
          <li class="muted">Times in UTC</li>
        </ul>
      </figcaption>
    </figure>
  );
};
