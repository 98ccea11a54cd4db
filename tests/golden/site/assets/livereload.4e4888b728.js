// Live reload for `digestgen serve` only: `digestgen build` never puts this script in a page.
// The server stamps the script's URL with the number of the build that wrote the page
// (?build=N) and announces every new build number over server-sent events; when the two
// differ, the page is out of date and reloads. No inline code, so it works under
// the theme's Content-Security-Policy (script-src 'self'; connect-src 'self').
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || typeof EventSource === "undefined") {
    return;
  }
  var src = new URL(script.src);
  var shown = src.searchParams.get("build");
  var events = new EventSource(new URL("events", src).href);

  events.onmessage = function (message) {
    if (shown === null) {
      shown = message.data; // an unstamped page: the first number announced is its own
      return;
    }
    if (message.data !== shown) {
      events.close();
      window.location.reload();
    }
  };
})();
