export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatMpp(mpp: number | null | undefined): string {
  if (mpp === null || mpp === undefined) return '—';
  return `${mpp.toFixed(3)} µm/px`;
}

export function formatDimensions(width: number | null | undefined, height: number | null | undefined): string {
  if (!width || !height) return '—';
  return `${width.toLocaleString('en-US')} × ${height.toLocaleString('en-US')}`;
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatObjective(power: number | null | undefined): string {
  return power ? `${power}×` : '—';
}
