// A small SVG line chart: a few series over the last minutes, the y axis from 0 to the
// largest value shown, redrawn whole on every update (a hundred points at most).

const WIDTH = 560;
const HEIGHT = 160;
const PAD = { left: 56, right: 8, top: 10, bottom: 20 };
const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: ReadonlyArray<{ at: number; value: number | null }>;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

export class LineChart {
  readonly element: HTMLElement;
  private readonly plot: SVGSVGElement;
  private readonly legend: HTMLElement;

  constructor(
    private readonly title: string,
    private readonly format: (value: number) => string,
    private readonly windowMs = 120_000,
  ) {
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    this.plot = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': title });
    this.legend = document.createElement('div');
    this.legend.className = 'legend';
    this.element.append(caption, this.plot, this.legend);
  }

  draw(series: readonly Series[], now: number): void {
    this.plot.replaceChildren();
    const values = series.flatMap((line) => line.points.map((point) => point.value ?? 0));
    const top = Math.max(1e-9, ...values) * 1.1;
    const x = (at: number) => PAD.left + ((at - (now - this.windowMs)) / this.windowMs) * (WIDTH - PAD.left - PAD.right);
    const y = (value: number) => HEIGHT - PAD.bottom - (value / top) * (HEIGHT - PAD.top - PAD.bottom);
    for (const fraction of [0, 0.5, 1]) {
      const value = top * fraction;
      this.plot.append(svg('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: 'grid' }));
      const label = svg('text', { x: PAD.left - 4, y: y(value) + 4, 'text-anchor': 'end', class: 'axis' });
      label.textContent = this.format(value);
      this.plot.append(label);
    }
    const ago = svg('text', { x: PAD.left, y: HEIGHT - 4, class: 'axis' });
    ago.textContent = `${Math.round(this.windowMs / 60_000)} min ago`;
    const current = svg('text', { x: WIDTH - PAD.right, y: HEIGHT - 4, 'text-anchor': 'end', class: 'axis' });
    current.textContent = 'now';
    this.plot.append(ago, current);
    this.legend.replaceChildren();
    for (const line of series) {
      const shown = line.points.filter((point) => point.at >= now - this.windowMs && point.value !== null);
      if (shown.length > 1) {
        this.plot.append(
          svg('polyline', {
            points: shown.map((point) => `${x(point.at).toFixed(1)},${y(point.value!).toFixed(1)}`).join(' '),
            fill: 'none',
            stroke: line.color,
            'stroke-width': 2,
          }),
        );
      }
      const last = shown.at(-1)?.value;
      const entry = document.createElement('span');
      entry.style.setProperty('--swatch', line.color);
      entry.textContent = `${line.label}: ${last === undefined || last === null ? '—' : this.format(last)}`;
      this.legend.append(entry);
    }
  }
}
