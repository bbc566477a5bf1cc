import { formatDuration, type TraceLayout } from './trace-layout';

/** One trace of the picture, under its own title (e.g. the request that started it). */
export interface TitledTrace {
  title: string;
  layout: TraceLayout;
}

const SERVICE_FILLS = ['#1f9bb5', '#9c4fd6', '#d98b19', '#3a9d4a', '#3b6fd6'];
const ERROR_FILL = '#d33c3c';
const ROW = 22;
const BAR = 14;
const TITLE = 34;
const FONT_FAMILY = "font-family='ui-monospace,SFMono-Regular,Menlo,Consolas,monospace'";
const FONT = `${FONT_FAMILY} font-size='12'`;

/**
 * The traces as one SVG waterfall, in the style of Jaeger's trace view: the span tree on the left, bars on each
 * trace's own time axis, one colour per service, and a dashed connector where a parent in one service has its
 * child in another.
 */
export function renderSvgWaterfall(traces: readonly TitledTrace[], { width = 1100 } = {}): string {
  const services = [...new Set(traces.flatMap((trace) => trace.layout.rows.map((row) => row.span.serviceName)))];
  const fill = (service: string) => SERVICE_FILLS[services.indexOf(service) % SERVICE_FILLS.length];
  const labelWidth = 430;
  const serviceX = labelWidth + 10;
  const barX = serviceX + 130;
  const barWidth = width - barX - 90;

  const parts: string[] = [];
  let y = 10;
  // Legend: which colour is which service.
  services.forEach((service, index) => {
    const x = 10 + index * 190;
    parts.push(`<rect x='${x}' y='${y}' width='12' height='12' rx='2' fill='${fill(service)}'/>`);
    parts.push(`<text x='${x + 18}' y='${y + 10}' ${FONT} fill='#222'>${escapeXml(service)}</text>`);
  });
  y += 24;

  for (const { title, layout } of traces) {
    parts.push(`<text x='10' y='${y + 20}' ${FONT_FAMILY} font-size='14' font-weight='bold' fill='#111'>${escapeXml(title)}</text>`);
    parts.push(
      `<text x='${width - 10}' y='${y + 20}' ${FONT} fill='#666' text-anchor='end'>trace ${layout.traceId} · ${formatDuration(layout.totalMs)}</text>`,
    );
    y += TITLE;
    const rowTop = new Map<string, number>();
    const xOf = (ms: number) => barX + (ms / layout.totalMs) * barWidth;
    layout.rows.forEach((row, index) => {
      const top = y + index * ROW;
      rowTop.set(row.span.spanId, top);
      const failed = row.span.status?.code === 'ERROR';
      const color = failed ? ERROR_FILL : fill(row.span.serviceName);
      if (index % 2 === 0) parts.push(`<rect x='0' y='${top}' width='${width}' height='${ROW}' fill='#f5f6f8'/>`);
      parts.push(
        `<text x='10' y='${top + 15}' ${FONT} fill='#222' xml:space='preserve'>${escapeXml(row.treePrefix)}<tspan font-weight='bold'>${escapeXml(row.span.name)}</tspan> <tspan fill='#888'>${row.span.kind}</tspan></text>`,
      );
      parts.push(`<text x='${serviceX}' y='${top + 15}' ${FONT} fill='${color}'>${escapeXml(row.span.serviceName)}</text>`);
      const x = xOf(row.offsetMs);
      const w = Math.max(2, (row.durationMs / layout.totalMs) * barWidth);
      parts.push(`<rect x='${x.toFixed(1)}' y='${top + (ROW - BAR) / 2}' width='${w.toFixed(1)}' height='${BAR}' rx='2' fill='${color}'/>`);
      parts.push(
        `<text x='${width - 10}' y='${top + 15}' ${FONT} fill='#444' text-anchor='end'>${formatDuration(row.durationMs)}</text>`,
      );
      const parentTop = row.span.parentSpanId ? rowTop.get(row.span.parentSpanId) : undefined;
      if (row.crossesProcess && parentTop !== undefined) {
        parts.push(
          `<path d='M${x.toFixed(1)} ${parentTop + (ROW + BAR) / 2} V${top + (ROW - BAR) / 2}' stroke='${color}' stroke-width='1.5' stroke-dasharray='3 2' fill='none'/>`,
        );
      }
    });
    y += layout.rows.length * ROW + 12;
  }

  const height = y + 10;
  return [
    `<svg xmlns='http://www.w3.org/2000/svg' width='${width}' height='${height}' viewBox='0 0 ${width} ${height}'>`,
    `<rect width='100%' height='100%' fill='#ffffff'/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
