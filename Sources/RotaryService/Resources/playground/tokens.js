// Token chips: a token's text coloured by its surprise, its probability and the model's alternatives on hover
// or focus. Shared by the reading and generation panels.
import { html, surpriseColor, visibleText } from "./draw.js";

export function probability(logprob) { return logprob === null || logprob === undefined ? null : Math.exp(logprob); }

export function percent(p) { return p === null ? "–" : p >= 0.995 ? "100%" : p >= 0.01 ? (100 * p).toFixed(1) + "%" : p.toExponential(1); }

/// A chip for a scored token {id, text, logprob, top_logprobs}; `detail` gets the description when it is
/// pointed at, focused or tapped.
export function tokenChip(token, index, detail) {
  const bits = token.logprob === null || token.logprob === undefined ? null : -token.logprob / Math.LN2;
  const chip = html("span", { class: "token", tabindex: "0", "data-index": index, "data-id": token.id,
                              "data-logprob": token.logprob === null ? "" : token.logprob }, visibleText(token.text));
  chip.style.backgroundColor = surpriseColor(bits);
  const describe = () => {
    for (const other of chip.parentElement.querySelectorAll(".token.selected")) other.classList.remove("selected");
    chip.classList.add("selected");
    detail(describeToken(token, index));
  };
  chip.addEventListener("mouseenter", describe);
  chip.addEventListener("focus", describe);
  chip.addEventListener("click", describe);
  chip.title = token.logprob === null ? "first token: nothing precedes it" : `p = ${percent(probability(token.logprob))}`;
  return chip;
}

/// "token 3 “ fox”: p = 12.0% (3.1 bits); the model expected “ dog” 40.2%, …" as a fragment with bars.
export function describeToken(token, index) {
  const box = document.createDocumentFragment();
  const head = html("p", { class: "token-head" }, null, box);
  head.append(`token ${index} `);
  html("code", {}, visibleText(token.text), head);
  if (token.logprob === null || token.logprob === undefined) {
    head.append(": nothing precedes it, so the model gave it no probability.");
    return box;
  }
  const p = probability(token.logprob);
  head.append(`: p = ${percent(p)} (${(-token.logprob / Math.LN2).toFixed(1)} bits of surprise)`);
  const list = html("ol", { class: "bars" }, null, box);
  for (const alternative of token.top_logprobs || []) {
    const item = html("li", { class: alternative.id === token.id ? "chosen" : "" }, null, list);
    html("code", {}, visibleText(alternative.text), item);
    const bar = html("span", { class: "bar" }, null, item);
    bar.style.width = `${Math.max(1, 100 * probability(alternative.logprob)).toFixed(1)}%`;
    html("span", { class: "bar-value" }, percent(probability(alternative.logprob)), item);
  }
  return box;
}
