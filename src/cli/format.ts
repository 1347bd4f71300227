// Sizes, rates and durations as people read them: KiB under 1 MiB, MiB under 1 GiB, then GiB.

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export function formatSize(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / KiB).toFixed(1)} KiB`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Speed and time left of a transfer that started at `startedAt` (ms); "" until there is a rate. */
export function speedAndEta(
  bytes: number,
  total: number | undefined,
  startedAt: number,
  now = Date.now(),
): string {
  const elapsed = (now - startedAt) / 1000;
  if (elapsed < 0.5 || bytes <= 0) return "";
  const rate = bytes / elapsed;
  const speed = `${formatSize(rate)}/s`;
  if (total === undefined || total <= bytes) return speed;
  return `${speed}, ${formatDuration((total - bytes) / rate)} left`;
}
