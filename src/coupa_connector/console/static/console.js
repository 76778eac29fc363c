// Regions marked data-refresh="ms" (a run is going on) are fetched again every ms
// milliseconds and replaced by the server's fresh copy, until a copy comes back without the
// mark (the run has ended). Regions marked data-load="url" (what Coupa holds, which may be
// slow to answer) are replaced once by the region of that id that the url answers; without
// script they stay a link to the full page. The HTML is the console's own, escaped on the
// server.
"use strict";

function fragmentUrl() {
  const url = new URL(window.location.href);
  url.searchParams.set("fragment", "1");
  return url.toString();
}

function follow(region) {
  const wait = Number(region.dataset.refresh) || 2000;
  window.setTimeout(async () => {
    try {
      const answer = await fetch(fragmentUrl(), { credentials: "same-origin" });
      if (!answer.ok) return;
      const holder = document.createElement("div");
      holder.innerHTML = await answer.text();
      const fresh = holder.querySelector("#" + region.id);
      if (!fresh) return;
      region.replaceWith(fresh);
      if (fresh.dataset.refresh) follow(fresh);
    } catch (error) {
      follow(region); // the console restarted or the network hiccupped: try again later
    }
  }, wait);
}

async function load(region) {
  try {
    const answer = await fetch(region.dataset.load, { credentials: "same-origin" });
    const holder = document.createElement("div");
    holder.innerHTML = await answer.text();
    const fresh = holder.querySelector("#" + region.id);
    if (fresh) region.replaceWith(fresh);
  } catch (error) {
    // The console is gone or the network hiccupped: the link to the full page stays.
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh]").forEach(follow);
  document.querySelectorAll("[data-load]").forEach(load);
});
