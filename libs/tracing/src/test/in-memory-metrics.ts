import { isDeepStrictEqual } from 'node:util';
import { type Attributes, metrics } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

/** A reader the test pulls from (`collect()`), as a periodic exporter would at each interval. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point as collected: the total of a counter, or the number of values a histogram recorded. */
export interface CollectedPoint {
  metric: string;
  unit: string;
  attributes: Attributes;
  /** A counter's total; a histogram's count. */
  value: number;
  /** A histogram's sum. */
  sum?: number;
}

/** What the code under test recorded, cumulative over the test file (tests tell theirs apart by destination). */
export interface InMemoryMetrics {
  /** Every data point recorded so far. */
  points(): Promise<CollectedPoint[]>;
  /** The point of `metric` whose attributes are exactly `attributes`, if any was recorded. */
  pointOf(metric: string, attributes: Attributes): Promise<CollectedPoint | undefined>;
}

/**
 * Registers, for the current test file, the global meter provider with a reader the test collects from: what the
 * SDK bootstrap registers in production, minus the OTLP export. Call it at the top of the file, before anything
 * records (the library makes its instruments on first use, from the provider registered then).
 */
export function useInMemoryMetrics(): InMemoryMetrics {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });

  beforeAll(() => {
    expect(metrics.setGlobalMeterProvider(provider)).toBe(true);
  });

  afterAll(async () => {
    await provider.shutdown();
    metrics.disable();
  });

  const points = async () => {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return resourceMetrics.scopeMetrics.flatMap(({ metrics: collected }) =>
      collected.flatMap(({ descriptor, dataPointType, dataPoints }) =>
        dataPoints.map((point): CollectedPoint => {
          const common = { metric: descriptor.name, unit: descriptor.unit, attributes: point.attributes };
          if (dataPointType !== DataPointType.HISTOGRAM) return { ...common, value: point.value as number };
          const histogram = point.value as { count: number; sum?: number };
          return { ...common, value: histogram.count, sum: histogram.sum };
        }),
      ),
    );
  };

  return {
    points,
    pointOf: async (metric, attributes) =>
      (await points()).find((point) => point.metric === metric && isDeepStrictEqual(point.attributes, attributes)),
  };
}
