// Dates as the seed shows them: dd/mm/yy, and dd/mm HH:MM for times.

const pad = (n: number) => String(n).padStart(2, '0')

/** formatDate gives dd/mm/yy in local time, or an em dash for none. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (isNaN(d.getTime())) return '—'
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${pad(d.getFullYear() % 100)}`
}

/** formatDateTime gives dd/mm HH:MM in local time. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (isNaN(d.getTime())) return '—'
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}
