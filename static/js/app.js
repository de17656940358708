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
