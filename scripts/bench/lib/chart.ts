/**
 * A dependency-free SVG bar chart for the benchmark's figures (docs/bench/chart.svg): one panel per
 * measure, one horizontal bar per runtime, each labelled with its value.
 */
export interface ChartPanel {
  title: string;
  unit: string;
  bars: Array<{ label: string; value: number | undefined }>;
}

const COLOURS: Record<string, string> = { runc: '#7f8c8d', gVisor: '#2980b9' };
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The panels stacked vertically, as SVG text. */
export function barChart(title: string, panels: ChartPanel[]): string {
  const width = 760;
  const labelW = 150;
  const barMax = width - labelW - 110;
  const rowH = 22;
  let y = 40;
  const parts: string[] = [`<text x="10" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`];
  for (const panel of panels) {
    parts.push(`<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`);
    y += 22;
    const max = Math.max(...panel.bars.map((b) => b.value ?? 0), 1e-9);
    for (const bar of panel.bars) {
      const w = bar.value === undefined ? 0 : Math.max(1, (bar.value / max) * barMax);
      const colour = COLOURS[bar.label] ?? '#c0392b';
      const text = bar.value === undefined ? 'n/a' : bar.value >= 100 ? bar.value.toFixed(0) : bar.value.toFixed(bar.value >= 10 ? 1 : 2);
      parts.push(
        `<text x="10" y="${y + 15}" font-size="12">${escape(bar.label)}</text>`,
        `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colour}"/>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}" font-size="12">${text}</text>`,
      );
      y += rowH;
    }
    y += 12;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
