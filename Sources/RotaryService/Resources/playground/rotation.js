// Rotation panel: one dial per pair of a vector rotated by /rotate at position m, and the pairs' wavelengths
// against the context, coloured by what the scaling variant did to each (compared with plain RoPE's).
import { call, latestOnly, isAbort } from "./api.js";
import { svg, html, linePlot } from "./draw.js";
import { ropeTypes, renderParameters, ropeObject, contextOf } from "./rope-form.js";
import { panelState, invalidField } from "./panel.js";

const bandColors = { kept: "#1d6fb8", interpolated: "#e07a1f", between: "#2a9d5c" };
const bandNames = { kept: "kept (extrapolated)", interpolated: "interpolated (θ ÷ factor)", between: "in between (ramp)" };

/// The vector whose every pair is (1, 0), so each rotated pair is (cos, sin) of its angle (times any scaling).
function unitPairs(headDim, layout) {
  const v = new Array(headDim).fill(0);
  for (let i = 0; i < headDim / 2; i++) v[layout === "interleaved" ? 2 * i : i] = 1;
  return v;
}

function pairOf(vector, i, layout) {
  const half = vector.length / 2;
  return layout === "interleaved" ? [vector[2 * i], vector[2 * i + 1]] : [vector[i], vector[i + half]];
}

/// Which band pair i fell in: its frequency over plain RoPE's is 1 (kept), 1/factor (interpolated) or else.
function band(scaled, plain, factor) {
  const ratio = scaled / plain;
  if (Math.abs(ratio - 1) < 1e-4) return "kept";
  if (factor && Math.abs(ratio * factor - 1) < 1e-3) return "interpolated";
  return "between";
}

export function setUpRotation() {
  const panel = panelState("rotation");
  const form = document.getElementById("rotation-form");
  const parameters = document.getElementById("rotation-parameters");
  const typeSelect = form.elements.rope_type;
  for (const type of Object.keys(ropeTypes)) typeSelect.appendChild(html("option", {}, type));
  const pairs = () => Number(form.elements.head_dim.value) / 2;
  const run = latestOnly();

  async function draw() {
    const invalid = invalidField(form);
    if (invalid) { panel.fail(new Error(invalid)); return; }
    const headDim = Number(form.elements.head_dim.value);
    const position = Number(form.elements.position.value);
    document.getElementById("rotation-position-value").textContent = position;
    const rope = ropeObject(form, parameters);
    const plain = { rope_type: "default", rope_theta: rope.rope_theta, layout: rope.layout };
    const vectors = [unitPairs(headDim, rope.layout)];
    panel.busy();
    try {
      await run(async (signal) => {
        const [scaled, reference] = await Promise.all([
          call("/rotate", { vectors, positions: [position], rope, return: ["inv_freq"] }, { signal }),
          call("/rotate", { vectors, positions: [position], rope: plain, return: ["inv_freq"] }, { signal }),
        ]);
        const bands = scaled.inv_freq.map((f, i) => band(f, reference.inv_freq[i], rope.factor));
        drawDials(scaled, bands, rope.layout, position);
        drawWavelengths(scaled.inv_freq, reference.inv_freq, bands, rope, position);
        const fastest = position * scaled.inv_freq[0] / (2 * Math.PI);
        document.getElementById("rotation-status").textContent = `${rope.rope_type} RoPE at m = ${position}: attention scaling `
          + `${scaled.attention_scaling.toPrecision(4)}; the fastest pair has turned ${fastest.toFixed(2)} times, the slowest `
          + `${(position * scaled.inv_freq[scaled.inv_freq.length - 1] / (2 * Math.PI)).toExponential(2)} times`;
      });
      panel.done();
    } catch (error) {
      if (!isAbort(error)) panel.fail(error);
    }
  }

  typeSelect.addEventListener("change", () => { renderParameters(parameters, typeSelect.value, pairs(), draw); draw(); });
  form.elements.head_dim.addEventListener("change", () => { renderParameters(parameters, typeSelect.value, pairs(), draw); draw(); });
  for (const name of ["rope_theta", "layout"]) form.elements[name].addEventListener("change", draw);
  form.elements.position.addEventListener("input", draw);
  form.addEventListener("submit", (event) => { event.preventDefault(); draw(); });
  renderParameters(parameters, typeSelect.value, pairs(), draw);
  return { show: draw };
}

function drawDials(answer, bands, layout, position) {
  const container = document.getElementById("dials");
  const vector = answer.vectors[0];
  const fragment = document.createDocumentFragment();
  answer.inv_freq.forEach((frequency, i) => {
    const [x, y] = pairOf(vector, i, layout);
    const angle = Math.atan2(y, x);
    const length = Math.min(1.3, Math.hypot(x, y));
    const turns = position * frequency / (2 * Math.PI);
    const wavelength = 2 * Math.PI / frequency;
    const dial = svg("svg", { viewBox: "0 0 64 78", class: "dial", role: "img", "data-pair": i, "data-angle": angle,
                              "aria-label": `pair ${i}: angle ${(angle * 180 / Math.PI).toFixed(1)}°, ${turns.toFixed(2)} turns` });
    svg("title", {}, dial).textContent = `pair ${i}: θ = ${frequency.toPrecision(4)}, wavelength ${wavelength.toPrecision(4)} tokens, ${turns.toFixed(2)} turns at m = ${position}`;
    svg("circle", { cx: 32, cy: 32, r: 26, class: "dial-face" }, dial);
    svg("line", { x1: 32, y1: 32, x2: 58, y2: 32, class: "dial-zero" }, dial);
    const sweep = ((angle % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
    if (sweep > 0.01) {
      const large = sweep > Math.PI ? 1 : 0;
      const ex = 32 + 14 * Math.cos(sweep), ey = 32 - 14 * Math.sin(sweep);
      svg("path", { d: `M32,32 L46,32 A14,14 0 ${large} 0 ${ex.toFixed(2)},${ey.toFixed(2)} Z`, class: "dial-sweep", fill: bandColors[bands[i]] }, dial);
    }
    svg("line", { x1: 32, y1: 32, x2: 32 + 26 * length * Math.cos(angle), y2: 32 - 26 * length * Math.sin(angle),
                  class: "dial-hand", stroke: bandColors[bands[i]] }, dial);
    svg("circle", { cx: 32, cy: 32, r: 2.5, class: "dial-hub" }, dial);
    svg("text", { x: 32, y: 72, class: "dial-label", "text-anchor": "middle" }, dial).textContent = `${i} · λ ${compact(wavelength)}`;
    fragment.appendChild(dial);
  });
  container.replaceChildren(fragment);
}

function compact(value) {
  if (value >= 1e6) return (value / 1e6).toFixed(value >= 1e7 ? 0 : 1) + "M";
  if (value >= 1e3) return (value / 1e3).toFixed(value >= 1e4 ? 0 : 1) + "k";
  return value.toFixed(value >= 100 ? 0 : 1);
}

function drawWavelengths(scaled, plain, bands, rope, position) {
  const container = document.getElementById("wavelengths");
  const context = contextOf(rope);
  const hLines = [{ y: Math.max(1, position), label: `position m = ${position}` }];
  if (context) hLines.push({ y: context, label: `context ${context}` });
  const root = linePlot(container, [
    { name: "plain RoPE", points: plain.map((f, i) => [i, 2 * Math.PI / f]), color: "#9aa5b1", dashed: true },
    { name: rope.rope_type, points: scaled.map((f, i) => [i, 2 * Math.PI / f]), markers: true,
      pointColors: (i) => bandColors[bands[i]] },
  ], { logY: true, xLabel: "pair i", yLabel: "wavelength (tokens)", hLines, label: "wavelength per pair" });
  root.dataset.bands = bands.join(",");
  const legendBox = document.getElementById("band-legend");
  legendBox.replaceChildren();
  for (const name of Object.keys(bandColors)) {
    const count = bands.filter((b) => b === name).length;
    if (!count) continue;
    const item = html("span", { class: "legend-item", "data-band": name, "data-count": count }, null, legendBox);
    const swatch = html("span", { class: "swatch dot" }, null, item);
    swatch.style.backgroundColor = bandColors[name];
    item.appendChild(document.createTextNode(`${bandNames[name]}: ${count}`));
  }
}
