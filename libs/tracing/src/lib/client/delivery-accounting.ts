import { Logger } from '@nestjs/common';
import { recordUndeliveredMessage } from '../messaging/messaging-metrics';

/**
 * Redis pub/sub delivers a message to the subscribers connected at that instant and keeps nothing: PUBLISH answers
 * how many received it, and 0 means the message is gone. This counts those (also in the metric
 * `nest_redis_otel.messages.undelivered`, per destination), and warns once per
 * stretch of undelivered publishes on a channel (when it starts, and again only after a delivery).
 */
export class DeliveryAccounting {
  private readonly logger: Logger;
  private readonly undeliveredStretch = new Set<string>();
  private publishedCount = 0;
  private undeliveredCount = 0;

  constructor(context: string) {
    this.logger = new Logger(context);
  }

  /** Messages published, and how many of them reached no subscriber, since start. */
  get totals(): { published: number; undelivered: number } {
    return { published: this.publishedCount, undelivered: this.undeliveredCount };
  }

  /**
   * `receivers`: PUBLISH's answer; `undefined` when it does not tell (on a cluster, PUBLISH counts the subscribers of
   * the node that took it, not of the nodes it relays to): the message is counted as published, not judged.
   */
  record(channel: string, receivers: number | undefined): void {
    this.publishedCount++;
    if (receivers === undefined || receivers > 0) {
      this.undeliveredStretch.delete(channel);
      return;
    }
    this.undeliveredCount++;
    recordUndeliveredMessage(channel);
    if (this.undeliveredStretch.has(channel)) return;
    this.undeliveredStretch.add(channel);
    this.logger.warn(
      `No subscriber on "${channel}": the message was not delivered (Redis pub/sub keeps nothing); ` +
        'further undelivered messages on this channel are counted, not logged, until one is delivered',
    );
  }
}
