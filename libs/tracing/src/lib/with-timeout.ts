/** `promise`, or a rejection `no answer within <timeoutMs> ms` if it takes longer; the timer never keeps the process up. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  promise.catch(() => undefined); // may settle after the timeout won: nothing left to report
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
