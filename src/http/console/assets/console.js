// callgate console: times in the viewer's time zone, copy buttons, and live regions kept
// current over the event stream. The server renders every region (and escapes every value); this script only
// re-reads the page it is on and swaps the regions marked data-live, keeping focus where it was.
"use strict";

(function () {
  var timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        t.title = t.getAttribute("datetime");
        t.textContent = timeFormat.format(d);
      }
    });
  }

  // A key that finds "the same" control after a region is re-rendered.
  function focusKey(el) {
    if (!el || el === document.body) return null;
    if (el.id) return { id: el.id };
    var form = el.closest("form");
    var row = el.closest("[data-call]");
    return {
      call: row ? row.getAttribute("data-call") : null,
      action: form ? form.getAttribute("action") : el.getAttribute("href"),
      text: el.textContent.trim()
    };
  }

  function refocus(key, region) {
    if (!key) return;
    if (key.id) {
      var byId = document.getElementById(key.id);
      if (byId) byId.focus();
      return;
    }
    var candidates = region.querySelectorAll("a, button");
    for (var i = 0; i < candidates.length; i++) {
      var c = candidates[i];
      var form = c.closest("form");
      var action = form ? form.getAttribute("action") : c.getAttribute("href");
      if (action === key.action && c.textContent.trim() === key.text) {
        c.focus();
        return;
      }
    }
  }

  function popCall() {
    var pop = document.querySelector("#pop [data-call]");
    if (!pop) return null;
    return { id: pop.getAttribute("data-call"), open: pop.querySelector("a[data-open-tenant]") };
  }

  // A call the agent's phone answered: open its tenant in a new tab at once. A browser that
  // blocks tabs a page opens on its own gets no tab; the pop then says to use Open Tenant.
  function openTenant(link) {
    var tab = window.open(link.getAttribute("href"), "_blank");
    if (tab) {
      tab.opener = null;
      return;
    }
    var note = document.querySelector("#pop [data-auto-open]");
    if (note) note.textContent = "Your phone answered this call. Your browser did not let this page open the tenant on its own: use Open Tenant.";
  }

  var status = document.querySelector("[data-live-status]");
  function setStatus(text, offline) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("offline", !!offline);
  }

  var inFlight = false;
  var again = false;

  function swap(doc) {
    var before = popCall();
    document.querySelectorAll("[data-live][id]").forEach(function (region) {
      var fresh = doc.getElementById(region.id);
      if (!fresh || fresh.innerHTML === region.innerHTML) return;
      var active = document.activeElement;
      var key = region.contains(active) ? focusKey(active) : null;
      region.innerHTML = fresh.innerHTML;
      localizeTimes(region);
      refocus(key, region);
    });
    var after = popCall();
    // A call put on this agent by their phone, with a tenant, that has just appeared: its
    // tenant opens on its own (once: a reload or a later update of the same call does not).
    if (after && after.open && (!before || before.id !== after.id)) openTenant(after.open);
  }

  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(location.pathname + location.search, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (res.redirected && new URL(res.url).pathname === "/") {
          location.assign("/");
          return null;
        }
        if (!res.ok) throw new Error("status " + res.status);
        return res.text();
      })
      .then(function (text) {
        if (text === null) return;
        swap(new DOMParser().parseFromString(text, "text/html"));
        setStatus("Live: this page updates on its own.", false);
      })
      .catch(function () { setStatus("Could not refresh this page: retrying when the next update arrives.", true); })
      .then(function () {
        inFlight = false;
        if (again) { again = false; refresh(); }
      });
  }

  function connect(types) {
    var source = new EventSource("/api/v1/events?types=" + encodeURIComponent(types));
    source.addEventListener("open", function () {
      setStatus("Live: this page updates on its own.", false);
      refresh();
    });
    // resync and screen_pop reach every stream, whatever kinds it asked for.
    types.split(",").concat(["resync", "screen_pop"]).forEach(function (type) {
      source.addEventListener(type, refresh);
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (the session ended) or stopped: find out which, then try again.
        setStatus("Live updates stopped: reconnecting…", true);
        refresh();
        setTimeout(function () { connect(types); }, 5000);
      } else {
        setStatus("Live updates interrupted: reconnecting…", true);
      }
    });
  }

  // Copy buttons: data-copy names the input whose value is copied; the button's status says so.
  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var said = button.parentNode.querySelector(".copied");
    function say(text) { if (said) said.textContent = text; }
    function select() {
      source.focus();
      source.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      say(copied ? "Copied." : "Selected: press Ctrl+C (or \u2318C) to copy.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(function () { say("Copied."); }, select);
    } else {
      select();
    }
  }

  function start() {
    document.addEventListener("click", function (e) {
      var button = e.target.closest && e.target.closest("[data-copy]");
      if (button) copy(button);
    });
    localizeTimes(document);
    if (location.hash === "#find") {
      var zip = document.getElementById("zip");
      var first = document.querySelector("#find .results button");
      var target = zip && !zip.value ? zip : (first || zip);
      if (target) target.focus();
    }
    var live = document.querySelector('meta[name="callgate-live"]');
    if (live && window.EventSource) connect(live.getAttribute("content"));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
