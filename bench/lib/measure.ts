/**
 * tinybench, the way these benchmarks use it: tasks run one after the other, the statistics are
 * read from the latency samples (mean, median, p99, relative margin of error at 95 %), and
 * ops/s is `1000 / mean latency`.
 */
import { Bench, type FnOptions } from 'tinybench';

export interface TaskSpec {
  name: string;
  fn: () => Promise<unknown>;
  options?: FnOptions;
}

export interface Measured {
  name: string;
  /** Mean latency, ms. */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** 1000 / mean latency. */
  opsPerSec: number;
  /** Relative margin of error of the mean latency, % (95 %, Student's t). */
  rmePct: number;
  samples: number;
}

export interface MeasureOptions {
  name: string;
  timeMs: number;
  iterations: number;
  warmupTimeMs?: number;
  warmupIterations?: number;
}

export async function measure(tasks: readonly TaskSpec[], options: MeasureOptions): Promise<Measured[]> {
  const bench = new Bench({
    name: options.name,
    time: options.timeMs,
    iterations: options.iterations,
    warmupTime: options.warmupTimeMs ?? Math.min(500, Math.max(50, options.timeMs / 8)),
    warmupIterations: options.warmupIterations ?? 8,
    throws: true,
  });
  for (const task of tasks) bench.add(task.name, task.fn, { async: true, ...task.options });
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') {
      const error = 'error' in result ? result.error : undefined;
      throw new Error(`task ${task.name} did not complete (${result.state})`, { cause: error });
    }
    const latency = result.latency;
    return {
      name: task.name,
      meanMs: latency.mean,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      opsPerSec: 1000 / latency.mean,
      rmePct: latency.rme,
      samples: latency.samplesCount,
    };
  });
}

/** `1.23` style ratio. */
export function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(digits);
}

/** Paired statistics of a baseline and a candidate measured in alternating rounds. */
export interface PairedMeasured {
  baseline: Measured;
  candidate: Measured;
  /** Median over rounds of (candidate mean ÷ baseline mean). */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  rounds: number;
}

function pool(parts: readonly Measured[]): Measured {
  const samples = parts.reduce((n, p) => n + p.samples, 0);
  const meanMs = parts.reduce((s, p) => s + p.meanMs * p.samples, 0) / samples;
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  return {
    name: (parts[0] as Measured).name,
    meanMs,
    p50Ms: median(parts.map((p) => p.p50Ms)),
    p99Ms: Math.max(...parts.map((p) => p.p99Ms)),
    opsPerSec: 1000 / meanMs,
    // the worst round's margin of error: the figure to trust least
    rmePct: Math.max(...parts.map((p) => p.rmePct)),
    samples,
  };
}

/**
 * Measures `baseline` and `candidate` in `rounds` alternating rounds (B, C, then C, B, …) of
 * `timeMs / rounds` each, so background load on a shared machine hits both alike. Latency
 * statistics are pooled over rounds; the ratio is the median of the per-round ratios.
 */
export async function measurePaired(
  baseline: TaskSpec,
  candidate: TaskSpec,
  options: MeasureOptions & { rounds: number },
): Promise<PairedMeasured> {
  const b: Measured[] = [];
  const c: Measured[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? [baseline, candidate] : [candidate, baseline];
    const results = await measure(order, {
      ...options,
      name: `${options.name} round ${round + 1}`,
      timeMs: options.timeMs / options.rounds,
      iterations: Math.max(5, Math.ceil(options.iterations / options.rounds)),
    });
    const [rb, rc] = round % 2 === 0 ? results : [...results].reverse();
    b.push(rb as Measured);
    c.push(rc as Measured);
    ratios.push((rc as Measured).meanMs / (rb as Measured).meanMs);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  const ratio =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    baseline: pool(b),
    candidate: pool(c),
    ratio,
    ratioMin: sorted[0] as number,
    ratioMax: sorted[sorted.length - 1] as number,
    rounds: options.rounds,
  };
}
