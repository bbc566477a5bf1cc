import { Logger } from '@nestjs/common';
import { RateLimitedLog } from '../logging/rate-limited-log';
import { describeError } from '../messaging/message-spans';
import { recordRefusedMessage } from '../messaging/messaging-metrics';
import type { RejectionKind } from './message-guard';

/** Why a message was refused, whatever the transport. */
export interface Refusal {
  kind: RejectionKind;
  reason: string;
  /** The channel or pattern it came for: the refused-messages metric's destination. */
  destination: string;
}

/** Where a transport keeps the messages it refused: a Redis list (pub/sub), a stream (Streams). */
export interface DeadLetterStore<Message> {
  /** Names the place in log lines: `Redis list "…"`. */
  readonly location: string;
  /**
   * Whether a message this store failed to keep comes back by itself (a Streams entry stays pending): the failure
   * then goes to the caller, which retries, and nothing is counted until the message is kept.
   */
  readonly redelivers: boolean;
  /** Keeps one refused message (the kind and reason with it); rejects when it could not. */
  keep(refusal: Refusal, message: Message): Promise<void>;
}

export interface DeadLettersOptions<Message> {
  /** Absent: refused messages are counted and logged only. */
  store?: DeadLetterStore<Message>;
  /** How log lines name a message: `a message on "item.created"`, `entry 1-0 of stream:item.created`. */
  describe(message: Message): string;
  /** A kind of refusal is logged once, then at most once per interval with a count. Default 60 s. */
  logIntervalMs?: number;
}

/**
 * What both transports do with a message no handler should see, so that nothing is dropped silently: keep it in the
 * transport's store, count it per kind (here, and in the metric `nest_redis_otel.messages.refused`), and log each
 * kind once per interval (a flood of bad messages must not become a flood of log lines).
 */
export class DeadLetters<Message> {
  private readonly logger = new Logger('DeadLetters');
  private readonly counts = new Map<string, number>();
  private readonly log: RateLimitedLog;

  constructor(private readonly options: DeadLettersOptions<Message>) {
    this.log = new RateLimitedLog((line) => this.logger.warn(line), options.logIntervalMs ?? 60_000);
  }

  /** How many messages were refused, per kind, since start (and `dead-letter-failed`: kept nowhere). */
  get totals(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /**
   * Keeps, counts and logs one refused message. Rejects only when the store failed and the message comes back by
   * itself (`redelivers`); otherwise a failure to keep it is counted and logged (rate-limited too).
   */
  async refuse(refusal: Refusal, message: Message): Promise<void> {
    const { store } = this.options;
    let kept = '';
    if (store) {
      try {
        await store.keep(refusal, message);
        kept = `; kept in ${store.location}`;
      } catch (error) {
        if (store.redelivers) throw error;
        this.count('dead-letter-failed');
        this.log.write('dead-letter-failed', `Could not keep a refused message in ${store.location}: ${describeError(error).message}`);
      }
    }
    this.count(refusal.kind);
    recordRefusedMessage(refusal.destination, refusal.kind);
    this.log.write(refusal.kind, `Refused ${this.options.describe(message)} (${refusal.kind}): ${refusal.reason}${kept}`);
  }

  private count(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }
}
