// Every fault the nemesis injected, as a table.
import type { FaultInterval } from './faults.js';
import { faultClass } from './plot.js';
import { historyText, seconds } from './text.js';

export function renderFaultTable(faults: readonly FaultInterval[]): string {
  if (faults.length === 0) return '<p>No faults were injected.</p>';
  const rows = faults.map((f) => {
    const duration = f.startMs === null || f.endMs === null ? '—' : ((f.endMs - f.startMs) / 1000).toFixed(3);
    const detail = historyText(f.detail, 1000) + (f.stopDetail === undefined ? '' : ` <span class="note">(stop: ${historyText(f.stopDetail, 1000)})</span>`);
    const cells = [
      `<span class="swatch ${faultClass(f.fault)}"></span>${historyText(f.fault, 50)}`,
      f.nodes.map((n) => historyText(n, 100)).join(' '),
      f.startMs === null ? '? (no start event)' : seconds(f.startMs),
      f.endMs === null ? 'not stopped' : seconds(f.endMs),
      duration,
      detail,
    ];
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  return `<table class="faults"><tr><th>fault</th><th>nodes</th><th>start (s)</th><th>end (s)</th><th>duration (s)</th><th>detail</th></tr>\n${rows.join('\n')}\n</table>`;
}
