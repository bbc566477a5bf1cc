import { formatDuration, type TraceLayout } from './trace-layout';

export interface TextWaterfallOptions {
  /** Characters of the time axis. */
  barWidth?: number;
  /** ANSI colours, one per service; off when the output is not a terminal or NO_COLOR is set. */
  color?: boolean;
}

const SERVICE_COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const MAX_NAME_WIDTH = 44;

/**
 * The trace as a terminal waterfall, one span per line:
 * `tree + span name │ service │ kind │ bar on the trace's time axis │ duration`; a span whose parent ran in
 * another service is marked `⇠ <parent service>`, the hop this product exists for.
 */
export function renderTextWaterfall(layout: TraceLayout, { barWidth = 36, color = false }: TextWaterfallOptions = {}): string {
  const paint = (code: string, text: string) => (color ? `${code}${text}${RESET}` : text);
  const services = [...new Set(layout.rows.map((row) => row.span.serviceName))];
  const serviceColor = (service: string) => SERVICE_COLORS[services.indexOf(service) % SERVICE_COLORS.length];

  const labels = layout.rows.map((row) => truncate(`${row.treePrefix}${row.span.name}`, MAX_NAME_WIDTH));
  const nameWidth = Math.max(4, ...labels.map((label) => label.length));
  const serviceWidth = Math.max(7, ...services.map((service) => service.length));
  const kindWidth = Math.max(4, ...layout.rows.map((row) => row.span.kind.length));

  const header = [
    'span'.padEnd(nameWidth),
    'service'.padEnd(serviceWidth),
    'kind'.padEnd(kindWidth),
    `0${formatDuration(layout.totalMs).padStart(barWidth - 1)}`,
    'duration',
  ].join('  ');
  const lines = [paint(DIM, header)];
  layout.rows.forEach((row, index) => {
    const failed = row.span.status?.code === 'ERROR';
    const tint = failed ? RED : serviceColor(row.span.serviceName);
    const hop = row.crossesProcess ? `  ⇠ ${row.parentService}` : '';
    lines.push(
      [
        labels[index].padEnd(nameWidth),
        paint(tint, row.span.serviceName.padEnd(serviceWidth)),
        row.span.kind.padEnd(kindWidth),
        paint(tint, bar(row.offsetMs, row.durationMs, layout.totalMs, barWidth)),
        `${formatDuration(row.durationMs).padStart(8)}${failed ? paint(RED, ' ERROR') : ''}${paint(DIM, hop)}`,
      ].join('  '),
    );
  });
  return lines.join('\n');
}

function bar(offsetMs: number, durationMs: number, totalMs: number, width: number): string {
  const start = Math.min(width - 1, Math.floor((offsetMs / totalMs) * width));
  const length = Math.max(1, Math.min(width - start, Math.round((durationMs / totalMs) * width)));
  return `${' '.repeat(start)}${'█'.repeat(length)}${' '.repeat(width - start - length)}`;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
