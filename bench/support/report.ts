/** Printing figures: each next to the bound it is compared with (measured in the same run) and the ratio. */

export function section(title: string): void {
  console.log(`\n== ${title}`);
}

export function note(text: string): void {
  console.log(`   ${text}`);
}

/**
 * One line: the figure, the bound and figure/bound, with the goal when there is one. `goal` reads like
 * "ratio >= 0.9" or "< 1000 ms" and is only shown, never asserted.
 */
export function compare(
  label: string,
  figure: string,
  bound: { readonly label: string; readonly value: string; readonly ratio: number },
  goal?: string,
): void {
  console.log(
    `   ${label.padEnd(34)} ${figure.padStart(20)}   vs ${bound.label} ${bound.value}` +
      `   ratio ${bound.ratio.toFixed(2)}${goal ? `   (goal ${goal})` : ''}`,
  );
}

/** A figure whose bound is zero (no ratio): label, figure, bound, goal, in compare's columns. */
export function line(label: string, figure: string, bound: string, goal: string): void {
  console.log(`   ${label.padEnd(34)} ${figure.padStart(20)}   ${bound}   (${goal})`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
