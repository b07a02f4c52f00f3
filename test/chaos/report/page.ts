// The whole document: inline CSS, the sections in order, legends. No scripts: hover
// details are SVG <title>s, so the page reads the same with JavaScript off.
import type { CheckResult, HistoryRecord } from '../history.js';
import { renderChecks } from './checks.js';
import { renderFaultTable } from './fault-table.js';
import { renderHeader, validity } from './header.js';
import { renderLatency, renderThroughput } from './latency.js';
import { buildRunModel } from './run-model.js';
import { escapeHtml, shown } from './text.js';
import { leaderColour, renderTimeline } from './timeline.js';

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1f2328}
h2{margin:28px 0 6px;border-bottom:1px solid #ddd}
code{font:12px ui-monospace,monospace}
.summary .big{font-size:52px;font-weight:800;letter-spacing:1px}
.summary.valid .big{color:#1a7f37}.summary.invalid .big{color:#cf222e}.summary.unchecked .big{color:#777}
.facts{display:flex;flex-wrap:wrap;gap:4px 22px;margin:8px 0}.facts dt{font-size:11px;color:#666}.facts dd{margin:0}
.repro code{background:#f3f3f3;padding:3px 6px;user-select:all}
svg.plot{display:block;max-width:100%;height:auto;font:10px system-ui,sans-serif}
.plot-bg{fill:#fff;stroke:#ccc}.node-row{fill:#f2f2f2}
.axis line{stroke:#ececec}.axis text,.row-label{fill:#555}
.ok{fill:#2e9d4a}.fail{fill:#d33c3c}.info{fill:#e6a117}
.anomaly{stroke:#000;stroke-width:2.5}.allowed-loss{stroke:#000;stroke-width:1.5;stroke-dasharray:3 2}
.band{fill-opacity:.16;pointer-events:none}.band.kill,.swatch.kill{fill:#d33c3c;background:#f3c2c2}.band.pause,.swatch.pause{fill:#8e44ad;background:#dcc6e5}
.band.partition,.swatch.partition{fill:#2f6fd6;background:#c3d4f3}.band.clock,.swatch.clock{fill:#e67e22;background:#f8d7b8}.band.other,.swatch.other{fill:#777;background:#ddd}
.band-label{fill-opacity:1}.band-label.kill{fill:#a61e1e}.band-label.pause{fill:#6c2f87}.band-label.partition{fill:#1d4fa3}.band-label.clock{fill:#b35a0f}
.node-fault.kill{fill:#222}.node-fault.pause{fill:#8e44ad}.node-fault.clock{fill:#e67e22}
.heal line{stroke:#000;stroke-width:1.5;stroke-dasharray:6 3}.heal text{fill:#000}
.pt{fill-opacity:.9}path.dots{fill:none;stroke-width:2.6;stroke-linecap:round;stroke-opacity:.55}
path.dots.ok{stroke:#2e9d4a}path.dots.fail{stroke:#d33c3c;stroke-opacity:.9}path.dots.info{stroke:#e6a117;stroke-opacity:.9}
path.pline,path.tline{fill:none;stroke-width:1.6}.p50{stroke:#222}.p99{stroke:#0a58ca}.pmax{stroke:#999;stroke-dasharray:3 2}
path.tline.ok{stroke:#2e9d4a;stroke-width:2}path.tline.fail{stroke:#d33c3c}path.tline.info{stroke:#e6a117}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;margin:4px 0}
.swatch{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:-1px;border:1px solid transparent}
.swatch.ok{background:#2e9d4a}.swatch.fail{background:#d33c3c}.swatch.info{background:#e6a117}
.swatch.outline{border:2px solid #000}.swatch.dashed{border:1.5px dashed #000}.swatch.line{height:0;border-top:2px solid #222;vertical-align:3px}
span.ok{color:#1a7f37}span.fail{color:#cf222e}span.info{color:#9a6700}
table{border-collapse:collapse;margin:6px 0 12px;font-size:12px}th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f6f6f6}.ops td{font-family:ui-monospace,monospace;max-width:40em;overflow-wrap:anywhere}
.check{margin:10px 0 18px}.check.invalid h3{color:#cf222e}.check.valid h3{color:#1a7f37}
div.anomaly{border-left:4px solid #cf222e;padding-left:8px}div.allowed-loss{border-left:4px dashed #9a6700;padding-left:8px}
.note{color:#666}
`;

const swatch = (cls: string, label: string, style = ''): string => `<span><span class="${`swatch ${cls}`.trim()}"${style}></span>${label}</span>`;

function timelineLegend(nodes: readonly string[]): string {
  const leaders = [...nodes, null].map((n) => swatch('', n === null ? 'no leader' : `leader ${escapeHtml(shown(n, 12))}`, ` style="background:${leaderColour(n, nodes)}"`));
  return [
    '<div class="legend">',
    swatch('ok', 'ok'), swatch('fail', 'fail'), swatch('info', 'info (indeterminate)'),
    swatch('outline', 'in an anomaly'), swatch('dashed', 'in an allowed loss'),
    swatch('kill', 'kill'), swatch('pause', 'pause'), swatch('partition', 'partition'), swatch('clock', 'clock jump'),
    swatch('line', 'healed', ' style="border-top-style:dashed"'),
    '</div><div class="legend">Node rows: upper strip',
    swatch('', 'killed', ' style="background:#222"'), swatch('', 'paused', ' style="background:#8e44ad"'), swatch('', 'clock jumped', ' style="background:#e67e22"'),
    '; lower strip: the leader the node believes in', ...leaders,
    '</div>',
  ].join('');
}

const LATENCY_LEGEND = [
  '<div class="legend">',
  swatch('ok', 'ok'), swatch('fail', 'fail'), swatch('info', 'info'),
  swatch('line', 'p50 (ok, per second)'), swatch('line', 'p99', ' style="border-top-color:#0a58ca"'), swatch('line', 'max', ' style="border-top:2px dashed #999"'),
  '</div>',
].join('');

export function renderReport(records: readonly HistoryRecord[], results: readonly CheckResult[], verdict: string): string {
  const model = buildRunModel(records, results);
  const checked = results.length > 0 || verdict !== '';
  const title = `KeyMesh chaos, seed ${model.meta.seed}: ${validity(results, verdict).toUpperCase()}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title><style>${CSS}</style></head>`,
    '<body>',
    renderHeader(model, results, verdict),
    '<h2>Timeline</h2>',
    '<p class="note">One row per client slot, each operation a bar from invoke to complete (runs of quick ok operations less than a pixel apart are one bar); one row per node below. Hover for details.</p>',
    timelineLegend(model.nodes),
    renderTimeline(model),
    '<h2>Latency</h2>',
    LATENCY_LEGEND,
    renderLatency(model),
    '<h3>Throughput (operations completed per second)</h3>',
    renderThroughput(model),
    checked ? `<h2>Checks</h2>\n${renderChecks(results, model.opsByIndex)}` : '',
    '<h2>Faults</h2>',
    renderFaultTable(model.faults),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
