// Small progressive enhancements; every page works without JavaScript except live updates.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copyTarget);
  if (!source) return;
  navigator.clipboard?.writeText(source.innerText).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// Confirm destructive actions: <button data-confirm="Really?">
document.addEventListener("submit", (event) => {
  const submitter = event.submitter;
  const message = submitter?.dataset.confirm || event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Show server-sent HX-Trigger "notify" events as a message.
document.body?.addEventListener("notify", (event) => {
  const box = document.getElementById("messages");
  if (!box || !event.detail) return;
  const div = document.createElement("div");
  div.className = `alert alert-${event.detail.level || "info"}`;
  div.textContent = event.detail.message || event.detail.value || "";
  box.prepend(div);
});

// Instead of inline handlers (the Content-Security-Policy forbids them):
// <select data-autosubmit> submits its form on change; <button data-toggle-open="#id"> toggles .open.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field?.form) field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
});
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-toggle-open]");
  if (!toggle) return;
  document.querySelector(toggle.dataset.toggleOpen)?.classList.toggle("open");
});
// <a data-history-back href="/fallback/">: back in history when there is one, else the link.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-history-back]");
  if (!link || window.history.length < 2) return;
  event.preventDefault();
  window.history.back();
});

// Live text: <pre data-live-url="…"> reads that URL's server-sent events with fetch and a stream reader
// (no EventSource, so nothing reconnects after the end) and appends each {"append": "..."} as it arrives;
// "event: done" ends it. Used by Try it, whose answer streams into the job page.
async function readLiveText(box) {
  try {
    const response = await fetch(box.dataset.liveUrl, { headers: { Accept: "text/event-stream" } });
    if (!response.ok || !response.body) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1] || "message";
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name === "done") {
          box.dataset.liveDone = data ? JSON.parse(data).status : "done";
          return;
        }
        if (data) box.textContent += JSON.parse(data).append || "";
      }
    }
  } catch (error) {
    box.dataset.liveDone = "error";  // the job page still shows the whole answer when the job ends
  }
}
document.querySelectorAll("[data-live-url]").forEach(readLiveText);

// Search boxes with server-side suggestions (templates/partials/suggest_widget.html): choosing a suggestion
// puts its id into the hidden input and fires "change" (so a live estimate updates); editing the text away
// from the chosen label clears the choice; Enter picks the first suggestion instead of submitting the form.
function chooseSuggestion(option) {
  const box = option.closest("[data-suggest]");
  const chosen = box?.querySelector("[data-suggest-chosen]");
  const search = box?.querySelector("input[type=search]");
  if (!chosen || !search) return;
  chosen.value = option.dataset.suggestValue;
  search.value = option.dataset.suggestLabel;
  search.dataset.chosenLabel = option.dataset.suggestLabel;
  box.querySelector(".suggest-list")?.replaceChildren();
  chosen.dispatchEvent(new Event("change", { bubbles: true }));
}
document.addEventListener("click", (event) => {
  const option = event.target.closest("[data-suggest-value]");
  if (option) chooseSuggestion(option);
});
document.addEventListener("input", (event) => {
  const search = event.target.closest("[data-suggest] input[type=search]");
  if (!search || search.value === search.dataset.chosenLabel) return;
  const chosen = search.closest("[data-suggest]").querySelector("[data-suggest-chosen]");
  if (chosen && chosen.value) {
    chosen.value = "";
    search.dataset.chosenLabel = "";
    chosen.dispatchEvent(new Event("change", { bubbles: true }));
  }
});
document.addEventListener("keydown", (event) => {
  const search = event.target.closest("[data-suggest] input[type=search]");
  if (!search) return;
  if (event.key === "Escape") search.closest("[data-suggest]").querySelector(".suggest-list")?.replaceChildren();
  if (event.key !== "Enter") return;
  event.preventDefault();
  const first = search.closest("[data-suggest]").querySelector("[data-suggest-value]");
  if (first) chooseSuggestion(first);
});
