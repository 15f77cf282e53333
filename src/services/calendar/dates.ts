/**
 * All-day dates between Google and Tryton: Google's end date is exclusive, Tryton shows the last day
 * inclusive. Text in, text out (`YYYY-MM-DD`), in UTC so no zone moves a day.
 */

/** Google's exclusive end date, as the inclusive last day (a one-day event ends the day it starts). */
export function lastDay(startDate: string, exclusiveEnd: string | null): string {
  if (!exclusiveEnd || exclusiveEnd <= startDate) return startDate;
  return shift(exclusiveEnd, -1);
}

/** Tryton's inclusive last day, as Google's exclusive end date. */
export function exclusiveEnd(lastDate: string): string {
  return shift(lastDate, 1);
}

function shift(date: string, days: number): string {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}
