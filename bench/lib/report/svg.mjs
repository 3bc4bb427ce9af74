// The report's charts as self-contained SVG: line charts in panels (throughput over time)
// and grouped bars on a log scale (latency percentiles). No fonts or scripts to load.

export const COLORS = { spate: '#1f77b4', kafka: '#d62728', other: ['#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'] };

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const nice = residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1;
  return nice * magnitude;
}

function linearTicks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const step = niceStep(max, count);
  const ticks = [];
  for (let v = 0; v <= max + step * 0.001; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function formatTick(v) {
  if (v >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  if (v >= 1 || v === 0) return String(Number(v.toPrecision(3)));
  return String(Number(v.toPrecision(2)));
}

function legend(items, x, y) {
  return items
    .map((item, i) => {
      const lx = x + i * 150;
      const dash = item.dashed ? ' stroke-dasharray="6 3"' : '';
      return (
        `<line x1="${lx}" y1="${y}" x2="${lx + 22}" y2="${y}" stroke="${item.color}" stroke-width="3"${dash}/>` +
        `<text x="${lx + 28}" y="${y + 4}" font-size="12" ${FONT}>${escape(item.name)}</text>`
      );
    })
    .join('');
}

/**
 * @param {{ title: string, columns?: number, panels: { title: string, xLabel: string, yLabel: string,
 *   series: { name: string, color: string, dashed?: boolean, points: { x: number, y: number }[] }[] }[] }} chart
 */
export function lineChart({ title, panels, columns = 2 }) {
  const panelWidth = columns === 1 ? 880 : 440;
  const panelHeight = 250;
  const rows = Math.ceil(panels.length / columns);
  const width = columns * panelWidth + 20;
  const height = 84 + rows * (panelHeight + 30);
  const legendItems = new Map();
  const parts = [`<rect width="100%" height="100%" fill="white"/>`, `<text x="16" y="26" font-size="17" font-weight="bold" ${FONT}>${escape(title)}</text>`];
  panels.forEach((panel, index) => {
    const ox = 10 + (index % columns) * panelWidth;
    const oy = 74 + Math.floor(index / columns) * (panelHeight + 30);
    const left = ox + 58;
    const top = oy + 28;
    const plotWidth = panelWidth - 80;
    const plotHeight = panelHeight - 74;
    const points = panel.series.flatMap((s) => s.points);
    const xMax = Math.max(1, ...points.map((p) => p.x));
    const yTicks = linearTicks(Math.max(0, ...points.map((p) => p.y)));
    const yMax = yTicks[yTicks.length - 1] || 1;
    const xTicks = linearTicks(xMax, 6);
    const xTop = xTicks[xTicks.length - 1] || 1;
    const sx = (x) => left + (x / xTop) * plotWidth;
    const sy = (y) => top + plotHeight - (y / yMax) * plotHeight;
    const [heading, subheading] = panel.title.split(' — ');
    parts.push(`<text x="${ox + 8}" y="${oy + 4}" font-size="12" font-weight="bold" ${FONT}>${escape(heading)}</text>`);
    if (subheading) parts.push(`<text x="${ox + 8}" y="${oy + 18}" font-size="11" fill="#555" ${FONT}>${escape(subheading)}</text>`);
    for (const t of yTicks) {
      parts.push(`<line x1="${left}" y1="${sy(t)}" x2="${left + plotWidth}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${left - 6}" y="${sy(t) + 4}" font-size="10" text-anchor="end" ${FONT}>${formatTick(t)}</text>`);
    }
    for (const t of xTicks) {
      parts.push(`<text x="${sx(t)}" y="${top + plotHeight + 14}" font-size="10" text-anchor="middle" ${FONT}>${formatTick(t)}</text>`);
    }
    parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${left + plotWidth / 2}" y="${top + plotHeight + 30}" font-size="11" text-anchor="middle" ${FONT}>${escape(panel.xLabel)}</text>`);
    parts.push(`<text transform="translate(${ox + 14},${top + plotHeight / 2}) rotate(-90)" font-size="11" text-anchor="middle" ${FONT}>${escape(panel.yLabel)}</text>`);
    if (points.length === 0) {
      parts.push(`<text x="${left + plotWidth / 2}" y="${top + plotHeight / 2}" font-size="12" text-anchor="middle" fill="#888" ${FONT}>no data</text>`);
    }
    for (const s of panel.series) {
      legendItems.set(s.name, s);
      if (s.points.length === 0) continue;
      const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
      const dash = s.dashed ? ' stroke-dasharray="6 3"' : '';
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    }
  });
  parts.splice(2, 0, legend([...legendItems.values()], 20, 46));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`;
}

/**
 * Grouped bars on a log scale, one panel per group.
 * @param {{ title: string, yLabel: string, categories: string[], series: { name: string, color: string }[],
 *   groups: { title: string, values: (number|undefined)[][] }[] }} chart   values[category][series]
 */
export function logBarChart({ title, yLabel, categories, series, groups }) {
  const panelWidth = 440;
  const panelHeight = 280;
  const columns = Math.min(2, Math.max(1, groups.length));
  const rows = Math.ceil(groups.length / columns);
  const width = columns * panelWidth + 20;
  const height = 70 + rows * (panelHeight + 20);
  const all = groups.flatMap((g) => g.values.flat()).filter((v) => Number.isFinite(v) && v > 0);
  // One decade below the smallest value, so that even it gets a visible bar.
  const low = 10 ** Math.floor(Math.log10(Math.min(...all, 1)) - 1e-9);
  const high = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
  const parts = [`<rect width="100%" height="100%" fill="white"/>`, `<text x="16" y="26" font-size="17" font-weight="bold" ${FONT}>${escape(title)}</text>`];
  parts.push(
    legend(
      series.map((s) => ({ ...s })),
      20,
      46,
    ),
  );
  groups.forEach((group, index) => {
    const ox = 10 + (index % columns) * panelWidth;
    const oy = 60 + Math.floor(index / columns) * (panelHeight + 20);
    const left = ox + 58;
    const top = oy + 24;
    const plotWidth = panelWidth - 80;
    const plotHeight = panelHeight - 64;
    const sy = (v) => top + plotHeight - ((Math.log10(v) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * plotHeight;
    parts.push(`<text x="${ox + 8}" y="${oy + 12}" font-size="13" font-weight="bold" ${FONT}>${escape(group.title)}</text>`);
    for (let decade = low; decade <= high * 1.0001; decade *= 10) {
      parts.push(`<line x1="${left}" y1="${sy(decade)}" x2="${left + plotWidth}" y2="${sy(decade)}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${left - 6}" y="${sy(decade) + 4}" font-size="10" text-anchor="end" ${FONT}>${formatTick(decade)}</text>`);
    }
    parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`);
    parts.push(`<text transform="translate(${ox + 14},${top + plotHeight / 2}) rotate(-90)" font-size="11" text-anchor="middle" ${FONT}>${escape(yLabel)}</text>`);
    const slot = plotWidth / categories.length;
    const barWidth = Math.min(34, (slot - 14) / series.length);
    categories.forEach((category, c) => {
      const cx = left + slot * c + slot / 2;
      parts.push(`<text x="${cx}" y="${top + plotHeight + 16}" font-size="11" text-anchor="middle" ${FONT}>${escape(category)}</text>`);
      series.forEach((s, k) => {
        const value = group.values[c]?.[k];
        const x = cx - (series.length * barWidth) / 2 + k * barWidth;
        if (!Number.isFinite(value) || value <= 0) {
          parts.push(`<text x="${x + barWidth / 2}" y="${top + plotHeight - 4}" font-size="9" text-anchor="middle" fill="#888" ${FONT}>n/a</text>`);
          return;
        }
        const y = sy(Math.max(value, low));
        parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(top + plotHeight - y).toFixed(1)}" fill="${s.color}"/>`);
        parts.push(`<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(y - 3).toFixed(1)}" font-size="9" text-anchor="middle" ${FONT}>${formatTick(value)}</text>`);
      });
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`;
}
