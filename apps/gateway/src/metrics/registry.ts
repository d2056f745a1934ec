/**
 * A small Prometheus registry: counters, gauges and histograms with labels, written in the text exposition
 * format 0.0.4 (`# HELP` / `# TYPE` lines, label values escaped as the format says: `\` → `\\`, `"` → `\"`,
 * newline → `\n`; HELP text escapes `\` and newline). Gauges may be collected at scrape time (`collect`).
 * No dependency: the format is small and fixed (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

/** What a metric is: the one definition the exposition and the README table derive from. */
export interface MetricDefinition<L extends string = string> {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly L[];
  /** Histograms: the upper bounds (ascending, finite); `+Inf` is added. */
  buckets?: readonly number[];
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the format writes it: integers plain, `+Inf`/`-Inf`/`NaN` spelled out. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

abstract class Metric<L extends string> {
  constructor(readonly def: MetricDefinition<L>) {
    if (!NAME.test(def.name)) throw new Error(`Invalid metric name ${JSON.stringify(def.name)}.`);
    for (const l of def.labels) if (!LABEL.test(l) || l.startsWith('__') || l === 'le') throw new Error(`Invalid label name ${JSON.stringify(l)} on ${def.name}.`);
  }

  /** The series key (label values joined by NUL) and the values in label order. */
  protected key(labels: Partial<Record<L, string>>): { key: string; values: string[] } {
    const values = this.def.labels.map((l) => {
      const v = labels[l];
      if (v === undefined) throw new Error(`Metric ${this.def.name} needs the label ${l}.`);
      return v;
    });
    return { key: values.join('\u0000'), values };
  }

  header(): string {
    return `# HELP ${this.def.name} ${escapeHelp(this.def.help)}\n# TYPE ${this.def.name} ${this.def.type}\n`;
  }

  abstract samples(): string;
}

/** Counters and gauges: one value per label set, set by calls or read at scrape time (`collect`). */
abstract class ValueMetric<L extends string> extends Metric<L> {
  protected readonly current = new Map<string, { values: string[]; value: number }>();
  private collector: (() => Array<{ labels: Partial<Record<L, string>>; value: number }>) | undefined;

  protected put(labels: Partial<Record<L, string>>, value: number): void {
    const { key, values } = this.key(labels);
    this.current.set(key, { values, value });
  }

  get(labels: Partial<Record<L, string>> = {}): number {
    return this.current.get(this.key(labels).key)?.value ?? 0;
  }

  /** Values read at scrape time (replacing what was stored): for state kept elsewhere. */
  collect(read: () => Array<{ labels: Partial<Record<L, string>>; value: number }>): void {
    this.collector = read;
  }

  samples(): string {
    if (this.collector) {
      this.current.clear();
      for (const { labels, value } of this.collector()) this.put(labels, value);
    }
    let out = '';
    for (const s of this.current.values()) out += `${this.def.name}${labelText(this.def.labels, s.values)} ${formatValue(s.value)}\n`;
    return out;
  }
}

export class Counter<L extends string = never> extends ValueMetric<L> {
  inc(labels: Partial<Record<L, string>> = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`Counter ${this.def.name} can only go up (got ${by}).`);
    this.put(labels, this.get(labels) + by);
  }
}

export class Gauge<L extends string = never> extends ValueMetric<L> {
  set(labels: Partial<Record<L, string>>, value: number): void {
    this.put(labels, value);
  }
}

export class Histogram<L extends string = never> extends Metric<L> {
  private readonly bounds: readonly number[];
  private readonly hist = new Map<string, { values: string[]; counts: number[]; sum: number; count: number }>();

  constructor(def: MetricDefinition<L>) {
    super(def);
    const b = def.buckets ?? [];
    if (!b.length || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x <= b[i - 1]!))) {
      throw new Error(`Histogram ${def.name} needs ascending finite buckets.`);
    }
    this.bounds = b;
  }

  observe(labels: Partial<Record<L, string>>, value: number): void {
    const { key, values } = this.key(labels);
    let s = this.hist.get(key);
    if (!s) this.hist.set(key, (s = { values, counts: this.bounds.map(() => 0), sum: 0, count: 0 }));
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }

  samples(): string {
    let out = '';
    const n = this.def.name;
    for (const s of this.hist.values()) {
      let cumulative = 0;
      this.bounds.forEach((b, i) => {
        cumulative += s.counts[i]!;
        out += `${n}_bucket${labelText(this.def.labels, s.values, ['le', formatValue(b)])} ${cumulative}\n`;
      });
      out += `${n}_bucket${labelText(this.def.labels, s.values, ['le', '+Inf'])} ${s.count}\n`;
      out += `${n}_sum${labelText(this.def.labels, s.values)} ${formatValue(s.sum)}\n`;
      out += `${n}_count${labelText(this.def.labels, s.values)} ${s.count}\n`;
    }
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric<string>>();

  private add<M extends Metric<string>>(m: M): M {
    if (this.metrics.has(m.def.name)) throw new Error(`Metric ${m.def.name} is registered twice.`);
    this.metrics.set(m.def.name, m);
    return m;
  }

  counter<L extends string>(def: MetricDefinition<L>): Counter<L> {
    return this.add(new Counter<L>({ ...def, type: 'counter' }) as unknown as Metric<string>) as unknown as Counter<L>;
  }

  gauge<L extends string>(def: MetricDefinition<L>): Gauge<L> {
    return this.add(new Gauge<L>({ ...def, type: 'gauge' }) as unknown as Metric<string>) as unknown as Gauge<L>;
  }

  histogram<L extends string>(def: MetricDefinition<L>): Histogram<L> {
    return this.add(new Histogram<L>({ ...def, type: 'histogram' }) as unknown as Metric<string>) as unknown as Histogram<L>;
  }

  /** The exposition: every metric's HELP and TYPE, then its samples (a metric without samples has only those). */
  expose(): string {
    let out = '';
    for (const m of this.metrics.values()) out += m.header() + m.samples();
    return out;
  }
}
