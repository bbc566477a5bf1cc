import { type Attributes, type Counter, type Histogram, metrics } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { TRACER_NAME, TRACER_VERSION } from '../constants';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_SYSTEM_REDIS,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
  METRIC_MESSAGES_REFUSED,
  METRIC_MESSAGES_UNDELIVERED,
} from '../semconv';

/** Bucket boundaries the messaging conventions advise for their duration histograms, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

interface Instruments {
  sent: Counter;
  sendDuration: Histogram;
  consumed: Counter;
  processDuration: Histogram;
  refused: Counter;
  undelivered: Counter;
}

let instruments: Instruments | undefined;

/**
 * The instruments, made on first use: by then the SDK bootstrap has registered its meter provider (the metrics API,
 * unlike the trace API, hands out no-op meters for good when asked too early). Without an SDK they record nothing.
 */
function messagingInstruments(): Instruments {
  if (instruments) return instruments;
  const meter = metrics.getMeter(TRACER_NAME, TRACER_VERSION);
  const advice = { explicitBucketBoundaries: DURATION_BUCKETS };
  instruments = {
    sent: meter.createCounter(METRIC_MESSAGING_CLIENT_SENT_MESSAGES, { unit: '{message}', description: 'Messages the producer attempted to send' }),
    sendDuration: meter.createHistogram(METRIC_MESSAGING_CLIENT_OPERATION_DURATION, { unit: 's', description: 'Duration of send operations (publish, or request to reply)', advice }),
    consumed: meter.createCounter(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES, { unit: '{message}', description: 'Messages delivered to a handler' }),
    processDuration: meter.createHistogram(METRIC_MESSAGING_PROCESS_DURATION, { unit: 's', description: 'Duration of message handling', advice }),
    refused: meter.createCounter(METRIC_MESSAGES_REFUSED, { unit: '{message}', description: 'Messages refused before any handler (dead-lettered), by error.type' }),
    undelivered: meter.createCounter(METRIC_MESSAGES_UNDELIVERED, { unit: '{message}', description: 'Publishes that reached no subscriber (lost: pub/sub keeps nothing)' }),
  };
  return instruments;
}

type Operation = 'send' | 'process';

/**
 * The attributes of successful operations, made once per destination: the path every message takes allocates no
 * attribute set. Destinations are the channels an app sends to or subscribes to, a handful; past the cap (a
 * producer that names channels after data) the sets are made per call rather than kept.
 */
const successAttributes: Record<Operation, Map<string, Attributes>> = { send: new Map(), process: new Map() };
const MAX_CACHED_DESTINATIONS = 1000;

function attributesOf(operation: Operation, destination: string, errorType?: string): Attributes {
  if (!errorType) {
    const cached = successAttributes[operation].get(destination);
    if (cached) return cached;
  }
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_REDIS,
    [ATTR_MESSAGING_DESTINATION_NAME]: destination,
    [ATTR_MESSAGING_OPERATION_NAME]: operation,
  };
  if (errorType) {
    attributes[ATTR_ERROR_TYPE] = errorType;
  } else if (successAttributes[operation].size < MAX_CACHED_DESTINATIONS) {
    // Frozen: the SDK keeps the first set it sees of a series as that series' key.
    successAttributes[operation].set(destination, Object.freeze(attributes));
  }
  return attributes;
}

/** One finished send (`send`) or handling (`process`) of a message, with its duration and failure, if any. */
export function recordMessageOperation(operation: Operation, destination: string, seconds: number, errorType?: string): void {
  const recorded = messagingInstruments();
  const attributes = attributesOf(operation, destination, errorType);
  if (operation === 'send') {
    recorded.sent.add(1, attributes);
    recorded.sendDuration.record(seconds, attributes);
  } else {
    recorded.consumed.add(1, attributes);
    recorded.processDuration.record(seconds, attributes);
  }
}

/** A message refused before any handler, `kind` being its `error.type`. */
export function recordRefusedMessage(destination: string, kind: string): void {
  messagingInstruments().refused.add(1, attributesOf('process', destination, kind));
}

/** A publish that reached no subscriber. */
export function recordUndeliveredMessage(destination: string): void {
  messagingInstruments().undelivered.add(1, attributesOf('send', destination));
}
