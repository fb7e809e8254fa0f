// A panel's state, shown to people (its error line, a busy cursor) and to tests (`data-state`: idle, busy,
// done, error, no-model).
export function panelState(id) {
  const section = document.getElementById(id);
  const errorLine = section.querySelector(".error");
  return {
    section,
    busy() { section.dataset.state = "busy"; section.setAttribute("aria-busy", "true"); },
    done() {
      section.dataset.state = "done";
      section.removeAttribute("aria-busy");
      errorLine.hidden = true;
    },
    fail(error) {
      section.dataset.state = "error";
      section.removeAttribute("aria-busy");
      errorLine.hidden = false;
      const where = error.param ? ` (${error.param})` : "";
      errorLine.textContent = error.status ? `The server answered ${error.status}: ${error.message}${where}` : String(error.message || error);
    },
  };
}

/// Marks a model panel as unusable, saying why; its controls are disabled.
export function explainNoModel(id, reason) {
  const section = document.getElementById(id);
  section.dataset.state = "no-model";
  const note = section.querySelector(".no-model");
  note.hidden = false;
  note.textContent = reason;
  for (const control of section.querySelectorAll("input, select, textarea, button")) control.disabled = true;
}

/// null when every field of the form holds a valid value, else a sentence naming the first that does not (the
/// page asks the server nothing until it does: a request it knows is wrong only earns a 400).
export function invalidField(form) {
  const bad = [...form.elements].find((element) => element.willValidate && !element.checkValidity());
  return bad ? `${bad.name}: ${bad.validationMessage}` : null;
}
