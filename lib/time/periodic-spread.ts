/**
 * The first wait of a periodic job that many instances start at the same moment (one health probe and one list
 * reconciliation per camera, all started by one deploy): a random point in the second half of the period, so that
 * hundreds of cameras do not probe and list in the same instant for as long as the flows run (a burst that delays
 * whatever falls into it: a recording from the live feed, a download, the store's commits). Never longer than the
 * period, so the period stays the longest wait.
 */
export function firstPeriodMs(periodMs: number, random: () => number = Math.random): number {
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(periodMs * (0.5 + r / 2));
}
