// Keyboard triage for the alert queue, and small conveniences. No inline script anywhere: the
// pages' Content-Security-Policy allows scripts from /static only.
(function () {
  "use strict";

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue tr.row")); }
  function box(row) { return row.querySelector("input[type=checkbox]"); }
  var current = -1;

  function setCurrent(i) {
    var all = rows();
    if (!all.length) return;
    i = Math.max(0, Math.min(all.length - 1, i));
    if (current >= 0 && all[current]) all[current].classList.remove("current");
    current = i;
    all[i].classList.add("current");
    all[i].scrollIntoView({ block: "nearest" });
  }

  function refreshCount() {
    var n = 0;
    rows().forEach(function (r) {
      var b = box(r);
      var on = !!(b && b.checked);
      r.classList.toggle("selected", on);
      if (on) n += 1;
    });
    var label = document.getElementById("selected-count");
    if (label) label.textContent = n + " selected";
    return n;
  }

  function selectCurrentIfNone() {
    if (refreshCount() > 0) return true;
    var all = rows();
    if (current < 0 || !all[current]) return false;
    var b = box(all[current]);
    if (!b) return false;
    b.checked = true;
    refreshCount();
    return true;
  }

  function submitWith(buttonId) {
    var form = document.getElementById("bulk");
    var button = document.getElementById(buttonId);
    if (!form || !button) return;
    if (!selectCurrentIfNone()) return;
    if (buttonId === "bulk-dismiss") {
      var reason = document.getElementById("bulk-reason");
      if (reason && !reason.value) { reason.focus(); return; }
    }
    if (form.requestSubmit) form.requestSubmit(button); else button.click();
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || el.isContentEditable;
  }

  document.addEventListener("change", function (e) {
    if (e.target && e.target.matches && e.target.matches("#queue input[type=checkbox]")) refreshCount();
    if (e.target && e.target.id === "bulk-reason" && e.target.value) e.target.blur();
  });

  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("queue")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(document.activeElement)) {
      if (e.key === "Escape") document.activeElement.blur();
      return;
    }
    var all = rows();
    switch (e.key) {
      case "j": setCurrent(current + 1); break;
      case "k": setCurrent(current < 0 ? 0 : current - 1); break;
      case "x":
        if (current >= 0 && all[current] && box(all[current])) {
          var b = box(all[current]); b.checked = !b.checked; refreshCount();
        }
        break;
      case "a":
        var any = all.some(function (r) { return box(r) && !box(r).checked; });
        all.forEach(function (r) { if (box(r)) box(r).checked = any; });
        refreshCount();
        break;
      case "o": case "Enter":
        if (current >= 0 && all[current]) window.location.assign(all[current].getAttribute("data-href"));
        break;
      case "c": submitWith("bulk-confirm"); break;
      case "d": submitWith("bulk-dismiss"); break;
      case "r": submitWith("bulk-review"); break;
      case "n":
        var next = document.getElementById("next-page");
        if (next) window.location.assign(next.getAttribute("href"));
        break;
      case "?":
        var help = document.getElementById("help");
        if (help) help.hidden = !help.hidden;
        break;
      default: return;
    }
    e.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (rows().length) setCurrent(0);
    refreshCount();
  });
})();
