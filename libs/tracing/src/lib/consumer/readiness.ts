/** Whether a message server can take messages now, and if not, why (for a readiness probe's answer). */
export type Readiness = { ready: true } | { ready: false; reason: string };

/** What both message servers offer a health endpoint. `readiness()` never throws. */
export interface ReadinessCheck {
  readiness(): Promise<Readiness>;
}
