/** An option that must be an integer from `min` to `max`; throws an error naming it. */
export function integerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name}=${value} is invalid: expected an integer from ${min} to ${max}`);
  return value;
}
