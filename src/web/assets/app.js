// tocsin's pages: live refresh, filters that submit themselves, and the buttons that change
// state through the API (silence, expire, pause, resume). Plain script, no library.
"use strict";
(function () {
  const root = document.body.dataset.root || "./";
  const api = (p) => root + p;

  // Alertmanager's links (`#/alerts?receiver=...`, `#/silences`) land on our pages.
  if (location.hash.startsWith("#/")) {
    const [path, q] = location.hash.slice(2).split("?");
    const to = path.startsWith("silences") ? "silences" : path.startsWith("status") ? "status" : "";
    location.replace(root + to + (q ? "?" + q : ""));
    return;
  }

  const remembered = () => localStorage.getItem("tocsin.author") || "";
  function fillAuthors(scope) {
    scope.querySelectorAll('input[name=author], input[data-remember=author]').forEach((i) => {
      if (!i.value) i.value = remembered();
    });
  }
  fillAuthors(document);
  document.addEventListener("change", (e) => {
    const t = e.target;
    if (t.matches("input[name=author], input[data-remember=author]") && t.value.trim())
      localStorage.setItem("tocsin.author", t.value.trim());
    if (t.matches("select[data-autosubmit]")) t.form.requestSubmit();
  });

  // Live refresh: reload <main> from the same URL when the server says something changed
  // (server-sent events from `events`), while "live" is on, the tab is visible and nobody is
  // typing or has a menu open (then as soon as they are done). Without a stream (an old
  // browser, a proxy that cuts it), poll every few seconds instead.
  const main = document.getElementById("content");
  const live = document.getElementById("live");
  let timer = null;
  let source = null;
  let owed = false;
  async function refresh() {
    if (!main || !main.dataset.refresh) return;
    try {
      const r = await fetch(location.href, { cache: "no-store", headers: { "X-Tocsin-Refresh": "1" } });
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById("content");
      if (!fresh) return;
      const open = [...main.querySelectorAll("details[open]")].map((d) => d.closest("[id]")?.id);
      main.replaceChildren(...fresh.childNodes);
      open.forEach((id) => id && document.getElementById(id)?.querySelector("details")?.setAttribute("open", ""));
      fillAuthors(main);
      document.title = doc.title;
      main.dataset.updated = String(Date.now());
    } catch (err) { /* offline for a moment: try again at the next event */ }
  }
  function busy() {
    const a = document.activeElement;
    return (a && main.contains(a) && a.matches("input, textarea, select")) ||
      main.querySelector("details.silence-menu[open], button.confirm");
  }
  function soon() {
    if (document.hidden || busy()) { owed = true; return; }
    owed = false;
    refresh();
  }
  function schedule() {
    clearInterval(timer);
    if (source) { source.close(); source = null; }
    if (!live || !live.checked || !main || !main.dataset.refresh) return;
    const every = Number(live.dataset.every || 10) * 1000;
    if (!window.EventSource) { timer = setInterval(soon, every); return; }
    let opened = 0;
    let last = Date.now();
    source = new EventSource(root + "events");
    source.addEventListener("open", () => { if (opened++ > 0) soon(); main.dataset.stream = "open"; });
    source.addEventListener("change", soon);
    source.addEventListener("tick", soon);
    source.onerror = () => { main.dataset.stream = "retrying"; };
    // Delivers what was held back; polls while the stream is gone for good.
    timer = setInterval(() => {
      const gone = source.readyState === EventSource.CLOSED && Date.now() - last >= every;
      if (owed || gone) { last = Date.now(); soon(); }
    }, 2000);
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden && owed) soon(); });
  if (live) {
    live.checked = sessionStorage.getItem("tocsin.live") !== "off";
    live.addEventListener("change", () => {
      sessionStorage.setItem("tocsin.live", live.checked ? "on" : "off");
      schedule();
    });
    schedule();
  }

  function say(el, text, bad) {
    const msg = el.querySelector(".msg") || el.parentElement.querySelector(".msg");
    if (msg) { msg.textContent = text; msg.classList.toggle("bad", !!bad); }
  }
  async function call(method, url, body) {
    const r = await fetch(url, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (!r.ok) {
      let m = text;
      try { const j = JSON.parse(text); m = typeof j === "string" ? j : j.message || text; } catch (e) {}
      throw new Error(r.status + ": " + m.trim());
    }
    return text;
  }
  function nextNine() {
    const d = new Date();
    const t = new Date(d.getFullYear(), d.getMonth(), d.getDate(), 9, 0, 0, 0);
    if (t <= d) t.setDate(t.getDate() + 1);
    return t;
  }

  document.addEventListener("click", async (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    // "Silence this group for 1h / 4h / until 09:00".
    const menu = b.closest(".menu[data-matchers]");
    if (menu && b.dataset.for) {
      const author = menu.querySelector("input[name=author]").value.trim();
      const comment = menu.querySelector("input[name=comment]").value.trim();
      if (!author) { say(menu, "Say who you are first (by …).", true); menu.querySelector("input[name=author]").focus(); return; }
      localStorage.setItem("tocsin.author", author);
      const f = b.dataset.for;
      const ends = f === "09:00" ? nextNine() : new Date(Date.now() + parseInt(f, 10) * 3600e3);
      say(menu, "Silencing…");
      try {
        const res = JSON.parse(await call("POST", api("api/v2/silences"), {
          matchers: JSON.parse(menu.dataset.matchers),
          startsAt: new Date().toISOString(),
          endsAt: ends.toISOString(),
          createdBy: author,
          comment: comment || "Silenced from the alerts page (" + b.textContent.trim() + ")",
        }));
        say(menu, "Silenced (" + res.silenceID + ").");
        b.closest("details").removeAttribute("open");
        refresh();
      } catch (err) { say(menu, err.message, true); }
      return;
    }
    // Save the previewed silence.
    if (b.id === "save-silence") {
      say(b.parentElement, "Saving…");
      try {
        const res = JSON.parse(await call("POST", api("api/v2/silences"), JSON.parse(b.dataset.body)));
        location.assign(api("silences#s-" + res.silenceID));
      } catch (err) { say(b.parentElement, err.message, true); }
      return;
    }
    // Expire: a second click within five seconds confirms.
    if (b.classList.contains("expire")) {
      if (!b.classList.contains("confirm")) {
        b.classList.add("confirm");
        b.dataset.label = b.textContent;
        b.textContent = "Really expire?";
        setTimeout(() => { b.classList.remove("confirm"); b.textContent = b.dataset.label; }, 5000);
        return;
      }
      try {
        await call("DELETE", api("api/v2/silence/" + encodeURIComponent(b.dataset.id)));
        say(b.parentElement, "Expired.");
        b.classList.remove("confirm");
        refresh();
      } catch (err) { say(b.parentElement, err.message, true); }
      return;
    }
    // Heartbeat pause and resume.
    if (b.classList.contains("hb-action")) {
      try {
        await call("POST", b.dataset.url);
        refresh();
      } catch (err) { say(b.parentElement, err.message, true); }
    }
  });
})();
