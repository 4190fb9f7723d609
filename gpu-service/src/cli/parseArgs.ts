import { InvalidArgumentError } from "commander";

/** Commander value parsers: reject bad numbers at parse time with a one-line reason. */
export function positiveNumber(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v <= 0)
    throw new InvalidArgumentError(`"${value}" is not a positive number`);
  return v;
}

export function nonNegativeNumber(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v < 0)
    throw new InvalidArgumentError(`"${value}" is not a number ≥ 0`);
  return v;
}

export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (!Number.isInteger(v) || v < min || v > max)
      throw new InvalidArgumentError(`"${value}" is not an integer in ${min}..${max}`);
    return v;
  };
}

export function positiveList(value: string): number[] {
  const parts = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0)
    throw new InvalidArgumentError("expected a comma-separated list of positive numbers");
  return parts.map(positiveNumber);
}
