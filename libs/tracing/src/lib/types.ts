/**
 * How a consumer span relates to the producer span whose context a message carries.
 * - `parent`: the consumer span is the producer span's child: one trace from request to handler (the default).
 * - `link`: the consumer span starts a new trace and links to the producer span, for fire-and-forget designs
 *   where one trace per request would grow without bound.
 */
export type ConsumerParentMode = 'parent' | 'link';

/** Which payload fields become span attributes. Off unless `fields` names some. */
export interface PayloadCaptureOptions {
  /** Top-level payload fields to record, as `messaging.payload.<field>`. */
  fields: readonly string[];
  /** Longer string values are cut to this many characters. Default 256. */
  maxLength?: number;
}

/** Options shared by the traced client, the traced server and the raw-channel publisher. */
export interface MessagingTracingOptions {
  /** Consumer side only: see `ConsumerParentMode`. Default `parent`. */
  parentMode?: ConsumerParentMode;
  /** Payload fields to record on spans. Default: none (payloads may hold personal data). */
  payloadCapture?: PayloadCaptureOptions;
}
