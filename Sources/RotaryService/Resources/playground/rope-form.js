// The RoPE parameters of /rotate's `rope` object (openapi.yaml, RopeParameters), per rope_type: the fields the
// page shows. A test holds every name here to the schema's properties and the types to its rope_type enum.
export const ropeTypes = {
  default: [],
  linear: [["factor", "number", 4]],
  dynamic: [["factor", "number", 4], ["max_position_embeddings", "integer", 2048]],
  yarn: [["factor", "number", 4], ["original_max_position_embeddings", "integer", 2048], ["beta_fast", "number", 32],
         ["beta_slow", "number", 1], ["mscale", "number", null], ["mscale_all_dim", "number", null],
         ["attention_factor", "number", null], ["truncate", "boolean", true]],
  llama3: [["factor", "number", 8], ["low_freq_factor", "number", 1], ["high_freq_factor", "number", 4],
           ["original_max_position_embeddings", "integer", 8192]],
  longrope: [["short_factor", "list", null], ["long_factor", "list", null], ["factor", "number", 4],
             ["original_max_position_embeddings", "integer", 2048], ["max_position_embeddings", "integer", 8192]],
  xpos: [["scale_base", "number", 512]],
};

/// LongRoPE's factor lists need one number per pair: a plausible default for `pairs` pairs.
function defaultList(name, pairs) {
  return Array.from({ length: pairs }, (_, i) => name === "short_factor" ? 1 : +(1 + 3 * i / Math.max(1, pairs - 1)).toFixed(3)).join(", ");
}

/// Fills `container` with the inputs of `type`; `pairs` sizes the default lists. Calls `changed` on edits.
export function renderParameters(container, type, pairs, changed) {
  container.replaceChildren();
  for (const [name, kind, initial] of ropeTypes[type]) {
    const label = document.createElement("label");
    label.append(name + " ");
    const input = document.createElement("input");
    input.name = name;
    input.dataset.kind = kind;
    if (kind === "boolean") {
      input.type = "checkbox";
      input.checked = initial;
    } else if (kind === "list") {
      input.type = "text";
      input.className = "list";
      input.required = true;
      input.value = defaultList(name, pairs);
    } else {
      input.type = "number";
      input.step = kind === "integer" ? "1" : "any";
      input.value = initial === null ? "" : initial;
      if (initial === null) input.placeholder = "default";
      else input.required = true;
    }
    input.addEventListener("change", changed);
    label.appendChild(input);
    container.appendChild(label);
  }
}

/// The `rope` object the form describes: rope_type and its parameters (empty optional fields left out).
export function ropeObject(form, container) {
  const rope = { rope_type: form.elements.rope_type.value, rope_theta: Number(form.elements.rope_theta.value) };
  if (form.elements.layout) rope.layout = form.elements.layout.value;
  for (const input of container.querySelectorAll("input")) {
    const kind = input.dataset.kind;
    if (kind === "boolean") rope[input.name] = input.checked;
    else if (kind === "list") rope[input.name] = input.value.split(",").map((v) => Number(v.trim())).filter((v) => !Number.isNaN(v));
    else if (input.value !== "") rope[input.name] = Number(input.value);
  }
  return rope;
}

/// The context a scaling variant is about (what its bands are measured against), or null.
export function contextOf(rope) {
  return rope.original_max_position_embeddings || rope.max_position_embeddings || null;
}
