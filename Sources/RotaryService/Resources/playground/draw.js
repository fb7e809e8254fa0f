// SVG drawing for the panels: elements, line plots with axes, legends. Styles come from playground.css
// (the Content-Security-Policy allows no inline style), colours from the series.
const svgNS = "http://www.w3.org/2000/svg";

export const palette = ["#1d6fb8", "#e07a1f", "#2a9d5c", "#c0392b", "#7b4fb0", "#8a6d3b", "#d6478f", "#4a5568"];

export function svg(tag, attributes = {}, parent = null) {
  const element = document.createElementNS(svgNS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (parent) parent.appendChild(element);
  return element;
}

export function html(tag, attributes = {}, text = null, parent = null) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== null) element.textContent = text;
  if (parent) parent.appendChild(element);
  return element;
}

/// Round tick values covering [low, high].
export function ticks(low, high, count = 5) {
  if (!(high > low)) return [low];
  const step0 = (high - low) / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= step0) || step0;
  const out = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return value.toExponential(1);
  if (Number.isInteger(value)) return String(value);
  if (a >= 100) return value.toFixed(0);
  if (a >= 10) return value.toFixed(1);
  return value.toFixed(a >= 1 ? 2 : 3).replace(/\.?0+$/, "") || "0";
}

/// A line plot into `container`. series: [{name, points: [[x, y]], color, dashed, markers}]; options: xLabel,
/// yLabel, logY, markers: [{x, label}] (vertical lines), hLines: [{y, label}], width, height.
export function linePlot(container, series, options = {}) {
  const width = options.width || 560, height = options.height || 300;
  const margin = { left: 58, right: 16, top: 14, bottom: 42 };
  const transformY = options.logY ? (y) => Math.log10(y) : (y) => y;
  const all = series.flatMap((s) => s.points).filter(([, y]) => y !== null && Number.isFinite(transformY(y)));
  const extraY = (options.hLines || []).map((line) => transformY(line.y));
  const xs = all.map(([x]) => x).concat((options.markers || []).map((m) => m.x));
  const ys = all.map(([, y]) => transformY(y)).concat(extraY);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.06;
  y0 -= pad; y1 += pad;
  const sx = (x) => margin.left + (x - x0) / (x1 - x0) * (width - margin.left - margin.right);
  const sy = (y) => height - margin.bottom - (transformY(y) - y0) / (y1 - y0) * (height - margin.top - margin.bottom);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": options.label || "plot" });
  const axes = svg("g", { class: "axes" }, root);
  for (const t of ticks(x0, x1, 6)) {
    svg("line", { x1: sx(t), x2: sx(t), y1: margin.top, y2: height - margin.bottom, class: "grid" }, axes);
    svg("text", { x: sx(t), y: height - margin.bottom + 16, class: "tick", "text-anchor": "middle" }, axes).textContent = formatNumber(t);
  }
  const yTicks = options.logY ? ticks(Math.ceil(y0), Math.floor(y1), Math.max(1, Math.floor(y1) - Math.ceil(y0))) : ticks(y0, y1, 5);
  for (const t of yTicks) {
    const y = options.logY ? Math.pow(10, t) : t;
    svg("line", { x1: margin.left, x2: width - margin.right, y1: sy(y), y2: sy(y), class: "grid" }, axes);
    svg("text", { x: margin.left - 6, y: sy(y) + 4, class: "tick", "text-anchor": "end" }, axes).textContent = options.logY ? powerOfTen(t) : formatNumber(y);
  }
  svg("rect", { x: margin.left, y: margin.top, width: width - margin.left - margin.right, height: height - margin.top - margin.bottom, class: "frame" }, axes);
  if (options.xLabel) svg("text", { x: (margin.left + width - margin.right) / 2, y: height - 6, class: "axis-label", "text-anchor": "middle" }, axes).textContent = options.xLabel;
  if (options.yLabel) svg("text", { x: 14, y: (margin.top + height - margin.bottom) / 2, class: "axis-label", "text-anchor": "middle", transform: `rotate(-90 14 ${(margin.top + height - margin.bottom) / 2})` }, axes).textContent = options.yLabel;
  for (const line of options.hLines || []) {
    svg("line", { x1: margin.left, x2: width - margin.right, y1: sy(line.y), y2: sy(line.y), class: "marker" }, root);
    svg("text", { x: width - margin.right - 4, y: sy(line.y) - 5, class: "marker-label", "text-anchor": "end" }, root).textContent = line.label;
  }
  for (const marker of options.markers || []) {
    svg("line", { x1: sx(marker.x), x2: sx(marker.x), y1: margin.top, y2: height - margin.bottom, class: "marker" }, root);
    svg("text", { x: sx(marker.x) + 4, y: margin.top + 12, class: "marker-label" }, root).textContent = marker.label;
  }
  series.forEach((s, index) => {
    const color = s.color || palette[index % palette.length];
    const points = s.points.filter(([, y]) => y !== null && Number.isFinite(transformY(y)));
    // The plotted numbers themselves, for whoever checks the picture against the API (a test does).
    const group = svg("g", { class: "series", "data-name": s.name, "data-points": JSON.stringify(points) }, root);
    if (s.markers) {
      for (const [x, y] of points) svg("circle", { cx: sx(x), cy: sy(y), r: 3.2, fill: s.pointColors ? s.pointColors(x, y) : color }, group);
    } else {
      const d = points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      svg("path", { d, fill: "none", stroke: color, "stroke-width": s.dashed ? 2 : 2.2, "stroke-dasharray": s.dashed ? "6 4" : "none" }, group);
    }
  });
  container.replaceChildren(root);
  if (series.length > 1 || options.legend) legend(container, series);
  return root;
}

/// 10^exponent as people write it on an axis: 1, 10, 100, 1k … 1M, 10M, 1G, then 1e12.
function powerOfTen(exponent) {
  const names = ["", "k", "M", "G"];
  if (exponent < 0 || exponent >= 12) return `1e${exponent}`;
  return `${10 ** (exponent % 3)}${names[Math.floor(exponent / 3)]}`;
}

export function legend(container, series) {
  const box = html("div", { class: "legend" }, null, container);
  series.forEach((s, index) => {
    const item = html("span", { class: "legend-item" }, null, box);
    const swatch = html("span", { class: s.dashed ? "swatch dashed" : "swatch" }, null, item);
    swatch.style.borderColor = s.color || palette[index % palette.length];
    item.appendChild(document.createTextNode(s.name));
  });
  return box;
}

/// Colour for a surprise in bits (−log₂ p): pale for expected tokens, deep red for surprising ones.
export function surpriseColor(bits) {
  if (bits === null || bits === undefined) return "#eef1f5";
  const t = Math.max(0, Math.min(1, bits / 12));
  const hue = 48 - 48 * t, lightness = 94 - 40 * t;
  return `hsl(${hue.toFixed(0)} 90% ${lightness.toFixed(0)}%)`;
}

/// A key to surpriseColor: swatches from 0 to 12+ bits.
export function surpriseKey(container) {
  const key = html("div", { class: "surprise-key", "aria-hidden": "true" }, null, container);
  html("span", {}, "expected", key);
  for (let bits = 0; bits <= 12; bits += 2) {
    const swatch = html("span", { class: "key-swatch" }, `${bits}${bits === 12 ? "+" : ""}`, key);
    swatch.style.backgroundColor = surpriseColor(bits);
  }
  html("span", {}, "surprising (bits)", key);
  return key;
}

/// A token's text made visible: spaces as ·, newlines as ↵.
export function visibleText(text) {
  return text.replace(/ /g, "·").replace(/\n/g, "↵").replace(/\t/g, "→") || "∅";
}
