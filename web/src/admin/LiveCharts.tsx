// Live charts of this node, read from /api/admin/stats every few seconds:
// connections, messages per second, send-to-ack and publish-to-deliver
// percentiles (over each interval, from histogram bucket deltas), store queue.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { client } from "../client";
import { problemText } from "../hooks";
import { ErrorText } from "../components/ErrorText";

const INTERVAL_MS = 3000;
const KEEP = 100; // points per chart (5 minutes)

interface Hist {
  bounds: number[];
  buckets: number[];
  count: number;
  sum: number;
}
type Series = Record<string, number | Hist>;
interface Snapshot {
  ts: number;
  series: Series;
}

/** The q-quantile of what a histogram gained between two reads (upper bucket bound). */
export function windowQuantile(prev: Hist | undefined, cur: Hist | undefined, q: number): number | null {
  if (!cur) return null;
  const delta = cur.buckets.map((b, i) => b - (prev?.buckets[i] ?? 0));
  const total = delta.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  let seen = 0;
  for (let i = 0; i < delta.length; i++) {
    seen += delta[i] as number;
    if (seen >= q * total) return i < cur.bounds.length ? (cur.bounds[i] as number) : (cur.bounds[cur.bounds.length - 1] as number);
  }
  return null;
}

function num(s: Series, name: string): number {
  const v = s[name];
  return typeof v === "number" ? v : 0;
}
function hist(s: Series, name: string): Hist | undefined {
  const v = s[name];
  return typeof v === "object" ? v : undefined;
}

interface ChartSpec {
  title: string;
  unit: string;
  lines: string[];
}
const CHARTS: ChartSpec[] = [
  { title: "Connections", unit: "", lines: ["WebSocket", "HTTP"] },
  { title: "Messages per second", unit: "/s", lines: ["stored", "frames in"] },
  { title: "Send to ack (ms)", unit: "ms", lines: ["p50", "p99"] },
  { title: "Publish to deliver (ms)", unit: "ms", lines: ["p50", "p99"] },
  { title: "Store queue", unit: "", lines: ["writes waiting"] },
];
const COLORS = ["#0b57d0", "#b3261e", "#146c2e"];

export function LiveCharts() {
  const [error, setError] = useState("");
  const [latest, setLatest] = useState<string[]>([]);
  const data = useRef<number[][][]>(CHARTS.map((c) => [[], ...c.lines.map(() => [])]));
  const plots = useRef<(uPlot | null)[]>([]);
  const holders = useRef<(HTMLDivElement | null)[]>([]);
  const prev = useRef<Snapshot | null>(null);

  useEffect(() => {
    const width = () => Math.max(260, Math.min(560, (holders.current[0]?.clientWidth ?? 500) - 8));
    plots.current = CHARTS.map((spec, i) => {
      const el = holders.current[i];
      if (!el) return null;
      return new uPlot(
        {
          width: width(),
          height: 160,
          series: [{}, ...spec.lines.map((label, j) => ({ label, stroke: COLORS[j] ?? "#333", width: 2 }))],
          axes: [{}, { size: 50 }],
          legend: { show: true },
        },
        data.current[i] as uPlot.AlignedData,
        el,
      );
    });
    let alive = true;
    const tick = async () => {
      try {
        const snap = (await client.api("get", "/api/admin/stats")) as unknown as Snapshot;
        if (!alive) return;
        const p = prev.current;
        prev.current = snap;
        setError("");
        if (!p) return;
        const dt = Math.max(0.001, (snap.ts - p.ts) / 1000);
        const s = snap.series;
        const ms = (v: number | null) => (v === null ? NaN : v * 1000);
        const rows: number[][] = [
          [num(s, "parley_ws_connections"), num(s, "parley_http_connections_active")],
          [(num(s, "parley_messages_total") - num(p.series, "parley_messages_total")) / dt, (num(s, "parley_ws_frames_in_total") - num(p.series, "parley_ws_frames_in_total")) / dt],
          [ms(windowQuantile(hist(p.series, "parley_ws_send_ack_seconds"), hist(s, "parley_ws_send_ack_seconds"), 0.5)), ms(windowQuantile(hist(p.series, "parley_ws_send_ack_seconds"), hist(s, "parley_ws_send_ack_seconds"), 0.99))],
          [ms(windowQuantile(hist(p.series, "parley_ws_publish_to_deliver_seconds"), hist(s, "parley_ws_publish_to_deliver_seconds"), 0.5)), ms(windowQuantile(hist(p.series, "parley_ws_publish_to_deliver_seconds"), hist(s, "parley_ws_publish_to_deliver_seconds"), 0.99))],
          [num(s, "parley_store_queue_depth")],
        ];
        const t = snap.ts / 1000;
        rows.forEach((values, i) => {
          const d = data.current[i] as number[][];
          (d[0] as number[]).push(t);
          values.forEach((v, j) => (d[j + 1] as number[]).push(v));
          if ((d[0] as number[]).length > KEEP) d.forEach((col) => col.shift());
          plots.current[i]?.setData(d as uPlot.AlignedData);
        });
        setLatest(rows.map((values, i) => (CHARTS[i] as ChartSpec).lines.map((l, j) => `${l} ${Number.isFinite(values[j]) ? (values[j] as number).toFixed(1) : "–"}`).join(", ")));
      } catch (e) {
        if (alive) setError(problemText(e));
      }
    };
    void tick();
    const timer = setInterval(tick, INTERVAL_MS);
    return () => {
      alive = false;
      clearInterval(timer);
      plots.current.forEach((p) => p?.destroy());
    };
  }, []);

  return (
    <>
      <ErrorText text={error} />
      <p class="hint">This node, every {INTERVAL_MS / 1000} s; latency percentiles are over each interval.</p>
      <div class="charts">
      {CHARTS.map((spec, i) => (
        <figure key={spec.title} class="chart">
          <figcaption>
            {spec.title}
            <span class="visually-hidden">: {latest[i] ?? "waiting for data"}</span>
          </figcaption>
          <div ref={(el) => { holders.current[i] = el; }} aria-hidden="true" data-testid="chart" />
          <p class="hint" data-testid="chart-latest">
            {latest[i] ?? "Waiting for data…"}
          </p>
        </figure>
      ))}
      </div>
    </>
  );
}
