// Persona Registry pages: live updates and conveniences. Every page reads
// without this script.
"use strict";
(function () {
  const body = document.body;

  // Announce a new served commit without reloading: the reader keeps her place.
  const seconds = Number(body.dataset.poll) || 5;
  let known = body.dataset.head || "";
  const live = document.getElementById("live");
  const badge = document.getElementById("problem-count");
  async function poll() {
    try {
      const r = await fetch("/ui/head", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!r.ok) return;
      const h = await r.json();
      if (badge) {
        badge.textContent = String(h.problems);
        badge.classList.toggle("warn", h.problems > 0);
      }
      if (h.head && h.head !== known) {
        known = h.head;
        live.textContent = "";
        live.append("A new commit is served: ");
        const code = document.createElement("code");
        code.textContent = h.short;
        live.append(code, ". ");
        const a = document.createElement("a");
        a.href = location.href;
        a.textContent = "Reload to see it";
        live.append(a);
        live.hidden = false;
      }
    } catch (e) {
      // offline or restarting: try again at the next tick
    }
  }
  if (live) setInterval(poll, seconds * 1000);

  // "/" focuses the search box.
  const search = document.querySelector("input[name=query]");
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && search && document.activeElement !== search &&
        !(document.activeElement instanceof HTMLInputElement) && !(document.activeElement instanceof HTMLSelectElement)) {
      e.preventDefault();
      search.focus();
    }
  });

  // Filters apply as they change; empty fields stay out of the URL.
  const filters = document.querySelector("form.filters");
  if (filters) {
    filters.addEventListener("change", (e) => {
      if (e.target.name !== "query") filters.requestSubmit();
    });
    filters.addEventListener("submit", () => {
      for (const el of filters.elements) {
        if ((el.name && el.value === "") || (el.name === "is_deleted" && el.value === "false")) el.disabled = true;
      }
    });
    // coming back through history must find the form usable
    window.addEventListener("pageshow", () => {
      for (const el of filters.elements) el.disabled = false;
    });
  }

  // Copy buttons.
  for (const b of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    b.hidden = false;
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        b.textContent = "Copied";
      } catch (e) {
        b.textContent = "Select and copy";
      }
    });
  }
})();
