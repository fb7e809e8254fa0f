// Reading panel: the model's probability of every token of a text (/generate, max_tokens 0, echo) and its real
// attention weights for a layer (/attention text mode), drawn as a heatmap with layer and head pickers.
import { call, latestOnly, isAbort } from "./api.js";
import { svg, html, visibleText, surpriseKey } from "./draw.js";
import { panelState, invalidField } from "./panel.js";
import { tokenChip } from "./tokens.js";

export function setUpReading(model) {
  const panel = panelState("reading");
  const form = document.getElementById("reading-form");
  const detail = document.getElementById("reading-detail");
  for (let layer = 0; layer < model.layers; layer++) form.elements.layer.appendChild(html("option", { value: layer }, `${layer}`));
  for (let head = 0; head < model.heads; head++) form.elements.head.appendChild(html("option", { value: head }, `${head}`));
  form.elements.head.appendChild(html("option", { value: "mean" }, "mean of heads"));
  const run = latestOnly();
  let attention = null;
  surpriseKey(document.getElementById("reading-key"));

  async function read() {
    const invalid = invalidField(form);
    if (invalid) { panel.fail(new Error(invalid)); return; }
    const text = form.elements.text.value;
    panel.busy();
    try {
      await run(async (signal) => {
        const [scored, weights] = await Promise.all([
          call("/generate", { prompt: text, max_tokens: 0, echo: true, logprobs: 5, temperature: 0 }, { signal }),
          call("/attention", { text, layer: Number(form.elements.layer.value), head: "all" }, { signal }),
        ]);
        const tokens = document.getElementById("reading-tokens");
        tokens.replaceChildren(...scored.prompt_tokens.map((token, i) => tokenChip(token, i, (content) => detail.replaceChildren(content))));
        attention = weights;
        drawMap();
      });
      panel.done();
    } catch (error) {
      if (!isAbort(error)) panel.fail(error);
    }
  }

  function drawMap() {
    if (!attention) return;
    const choice = form.elements.head.value;
    const matrix = choice === "mean" ? meanOfHeads(attention.weights) : attention.weights[attention.heads.indexOf(Number(choice))];
    heatmap(document.getElementById("attention-map"), matrix, attention.tokens.map((t) => t.text),
            `layer ${attention.layer}, ${choice === "mean" ? "mean of heads" : "head " + choice}`);
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); read(); });
  form.elements.layer.addEventListener("change", read);
  form.elements.head.addEventListener("change", drawMap);
  return { show: () => { if (!attention) read(); } };
}

function meanOfHeads(weights) {
  return weights[0].map((row, q) => row.map((_, k) => weights.reduce((sum, head) => sum + head[q][k], 0) / weights.length));
}

/// The weights as cells (row = query, column = key), darker for larger; pointing at a cell names the pair.
function heatmap(container, matrix, labels, title) {
  const n = matrix.length;
  // Drawn at its own size (about 520 px across, never wider than the column), so the labels stay readable.
  const labelRoom = n <= 48 ? 90 : 8;
  const cell = Math.max(4, Math.min(22, Math.floor((520 - labelRoom) / Math.max(1, n))));
  const size = labelRoom + cell * n;
  const root = svg("svg", { viewBox: `0 0 ${size + 8} ${size + 8}`, width: size + 8, class: "heatmap-svg", role: "img",
                            "aria-label": `attention weights, ${title}` });
  const readout = document.getElementById("attention-readout");
  const grid = svg("g", { transform: `translate(${labelRoom},${labelRoom})` }, root);
  const cursor = svg("rect", { width: cell, height: cell, class: "cursor", visibility: "hidden" });
  const point = (q, k) => {
    readout.textContent = `query ${q} “${visibleText(labels[q])}” → key ${k} “${visibleText(labels[k])}”: weight ${matrix[q][k].toFixed(4)}`;
    cursor.setAttribute("x", k * cell - 0.25);
    cursor.setAttribute("y", q * cell - 0.25);
    cursor.setAttribute("visibility", "visible");
    at = [q, k];
  };
  let at = [0, 0];
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const weight = matrix[q][k];
      const rect = svg("rect", { x: k * cell, y: q * cell, width: cell - 0.5, height: cell - 0.5, class: "cell",
                                 "data-query": q, "data-key": k, "data-weight": weight,
                                 fill: `hsl(214 70% ${(97 - 62 * Math.sqrt(weight)).toFixed(1)}%)` }, grid);
      rect.addEventListener("mouseenter", () => point(q, k));
    }
  }
  grid.appendChild(cursor);
  // Keyboard: the map takes focus; arrows move the cursor cell.
  root.setAttribute("tabindex", "0");
  root.addEventListener("focus", () => point(...at));
  root.addEventListener("keydown", (event) => {
    const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[event.key];
    if (!step) return;
    event.preventDefault();
    point(Math.min(n - 1, Math.max(0, at[0] + step[0])), Math.min(n - 1, Math.max(0, at[1] + step[1])));
  });
  if (n <= 48) {
    const font = Math.max(8, Math.min(12, cell * 0.85));
    labels.forEach((label, i) => {
      const text = visibleText(label).slice(0, 12);
      svg("text", { x: labelRoom - 4, y: labelRoom + i * cell + cell * 0.7, class: "map-label", "text-anchor": "end", "font-size": font }, root).textContent = text;
      svg("text", { x: 0, y: 0, class: "map-label", "font-size": font, transform: `translate(${labelRoom + i * cell + cell * 0.7},${labelRoom - 4}) rotate(-60)` }, root).textContent = text;
    });
  }
  container.replaceChildren(root);
}
