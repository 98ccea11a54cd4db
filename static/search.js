// The search page: sends what the user types to the search worker and shows its answers.
// Results are built with DOM calls and text nodes only: titles and abstracts are untrusted text.
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var PAGE_SIZE = 50; // unless the worker says otherwise: a large site's results come in smaller pages
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  var form = document.getElementById("search-form");
  var status = document.getElementById("search-status");
  var list = document.getElementById("results");
  if (!form || !status || !list) {
    return;
  }
  var input = form.elements.namedItem("q");
  var tagSelect = form.elements.namedItem("tag");
  var fromInput = form.elements.namedItem("from");
  var toInput = form.elements.namedItem("to");
  var sortSelect = form.elements.namedItem("sort");
  var moreButton = document.getElementById("more-results");
  var base = form.getAttribute("data-base") || "/";

  var state = {
    worker: null, ready: false, count: 0, lastId: 0, shownId: 0, pageSize: PAGE_SIZE, limit: PAGE_SIZE, selected: -1, timer: 0,
    early: null, // {id, shown}: the query whose first results are shown while the worker looks for more
    moreId: 0, // the request for a longer list ("More results"), whose first results are already shown
    asked: "", // what the list shown (or on its way) answers: the request sent last, but its length
    // The organization and author filters are chosen from the counts the results show.
    org: "", author: "", typing: false, goToDirect: false, facetsCost: false, wantFacets: false,
  };
  var facetBox = null;

  function absolute(path) {
    return new URL(path, document.baseURI).href;
  }

  function sitePath(relative) {
    return base.replace(/\/?$/, "/") + relative.replace(/^\//, "");
  }

  function clear(element) {
    while (element.firstChild) {
      element.removeChild(element.firstChild);
    }
  }

  function say() {
    // Each argument is a string (shown as text) or a ready-made node.
    clear(status);
    for (var i = 0; i < arguments.length; i++) {
      var part = arguments[i];
      status.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    }
  }

  function link(text, href) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function humanDate(iso) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!parts) {
      return "date unknown";
    }
    return MONTHS[Number(parts[2]) - 1] + " " + Number(parts[3]) + ", " + parts[1];
  }

  // Text with the given [start, end) ranges wrapped in <mark>, as text nodes and elements.
  function appendMarked(parent, text, ranges) {
    var at = 0;
    (ranges || []).forEach(function (range) {
      if (range[0] < at || range[1] > text.length) {
        return;
      }
      parent.appendChild(document.createTextNode(text.slice(at, range[0])));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(range[0], range[1]);
      parent.appendChild(mark);
      at = range[1];
    });
    parent.appendChild(document.createTextNode(text.slice(at)));
    return parent;
  }

  function element(tag, className) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    return node;
  }

  function resultItem(result, n) {
    var item = element("li", "result");
    item.id = "result-" + n;

    var title = appendMarked(element("a", "result-title"), result.title, result.titleMarks);
    title.href = sitePath(result.path);
    item.appendChild(title);

    var meta = element("p", "meta");
    var time = element("time");
    if (result.date) {
      time.setAttribute("datetime", result.date);
    }
    time.textContent = humanDate(result.date);
    meta.appendChild(time);
    var byline = [result.organization].concat(result.authors || []).filter(Boolean).join(", ");
    if (byline) {
      meta.appendChild(document.createTextNode(" \u00b7 " + byline));
    }
    item.appendChild(meta);

    if (result.tags.length) {
      var tags = element("ul", "tag-list");
      tags.setAttribute("aria-label", "Tags");
      result.tags.forEach(function (tag) {
        var entry = element("li");
        var chip = appendMarked(element("a", "tag"), tag.label, tag.marks);
        chip.href = sitePath(tag.path);
        chip.tabIndex = -1; // Tab goes from title to title; the tags stay a click away
        entry.appendChild(chip);
        tags.appendChild(entry);
      });
      item.appendChild(tags);
    }

    if (result.snippet) {
      item.appendChild(appendMarked(element("p", "snippet"), result.snippet, result.snippetMarks));
    }
    return item;
  }

  // Results are a plain list of links (links inside role=option would be nested interactive
  // controls): the arrow keys, Home and End move the focus from title to title.
  function select(n) {
    var items = list.children;
    state.selected = n >= 0 && n < items.length ? n : -1;
    var target = state.selected >= 0 ? items[state.selected].querySelector("a.result-title") : null;
    if (target) {
      target.focus();
    }
  }

  function resultIndex(node) {
    var item = node && node.closest ? node.closest("#results > li") : null;
    return item ? Array.prototype.indexOf.call(list.children, item) : -1;
  }

  function onListKeyDown(event) {
    var count = list.children.length;
    var at = resultIndex(event.target);
    var moves = { ArrowDown: Math.min(at + 1, count - 1), ArrowUp: at - 1, Home: 0, End: count - 1 };
    if (!count || at < 0) {
      return;
    }
    if (event.key in moves) {
      event.preventDefault();
      if (moves[event.key] < 0) {
        select(-1);
        input.focus();
      } else {
        select(moves[event.key]);
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      select(-1);
      input.focus();
    }
  }

  // "/" anywhere but in a text field puts the cursor in the search box.
  function onSlash(event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
      input.select();
    }
  }

  // A search restored with filters shows them: they are behind a disclosure otherwise.
  function openFiltersWhenSet() {
    var details = form.querySelector("details");
    var request = currentRequest();
    if (details && (request.tag || request.from || request.to)) {
      details.open = true;
    }
  }

  function currentRequest() {
    return {
      q: input.value.trim(),
      tag: tagSelect ? tagSelect.value : "",
      from: fromInput ? fromInput.value : "",
      to: toInput ? toInput.value : "",
      sort: sortSelect ? sortSelect.value : "",
      org: state.org,
      author: state.author,
    };
  }

  function isEmpty(request) {
    return !request.q && !request.tag && !request.from && !request.to && !request.org && !request.author;
  }

  // The query lives in the address bar, so a search can be shared or reloaded.
  function keepInUrl(request) {
    var params = new URLSearchParams();
    ["q", "tag", "from", "to", "sort", "org", "author"].forEach(function (key) {
      if (request[key]) {
        params.set(key, request[key]);
      }
    });
    var query = params.toString();
    var target = window.location.pathname + (query ? "?" + query : "");
    if (target !== window.location.pathname + window.location.search) {
      window.history.replaceState(null, "", target);
    }
  }

  function restoreFromUrl() {
    var params = new URLSearchParams(window.location.search);
    input.value = params.get("q") || "";
    if (tagSelect) {
      tagSelect.value = params.get("tag") || "";
      if (tagSelect.selectedIndex < 0) {
        tagSelect.value = "";
      }
    }
    if (fromInput) {
      fromInput.value = params.get("from") || "";
    }
    if (toInput) {
      toInput.value = params.get("to") || "";
    }
    if (sortSelect) {
      sortSelect.value = params.get("sort") || "";
      if (sortSelect.selectedIndex < 0) {
        sortSelect.value = "";
      }
    }
    state.org = params.get("org") || "";
    state.author = params.get("author") || "";
    state.goToDirect = true; // a shared link to an arXiv ID opens the paper
  }

  function describeFilters(request) {
    var parts = [];
    if (request.tag && tagSelect && tagSelect.selectedIndex > 0) {
      parts.push("tagged " + tagSelect.options[tagSelect.selectedIndex].text.replace(/\s*\(\d+\)$/, ""));
    }
    if (request.from) {
      parts.push("from " + humanDate(request.from));
    }
    if (request.to) {
      parts.push("to " + humanDate(request.to));
    }
    if (request.org) {
      parts.push("from " + request.org);
    }
    if (request.author) {
      parts.push("by " + request.author);
    }
    return parts.join(", ");
  }

  // Counts by organization and author of the matched papers, as buttons that filter by them. On a
  // large site the counts need a download of their own, so they wait to be asked for.
  var FACETS_SHOWN = 8;

  function facetButton(text, onClick) {
    var button = element("button", "facet");
    button.type = "button";
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }

  function choose(kind, name) {
    state[kind] = name;
    search(false);
  }

  function facetGroup(title, entries, kind) {
    var group = element("p", "facet-group");
    group.appendChild(document.createTextNode(title + ": "));
    entries.slice(0, FACETS_SHOWN).forEach(function (entry) {
      group.appendChild(facetButton(entry.name + " (" + entry.count + ")", function () { choose(kind, entry.name); }));
      group.appendChild(document.createTextNode(" "));
    });
    return group;
  }

  function showFacets(answer, request) {
    if (!facetBox) {
      facetBox = element("div", "facets");
      facetBox.id = "search-facets";
      status.parentNode.insertBefore(facetBox, status.nextSibling);
    }
    clear(facetBox);
    ["org", "author"].forEach(function (kind) {
      if (request[kind]) {
        facetBox.appendChild(facetButton("\u00d7 " + (kind === "org" ? "from " : "by ") + request[kind], function () { choose(kind, ""); }));
      }
    });
    if (answer.facets) {
      if (answer.facets.organizations.length) {
        facetBox.appendChild(facetGroup("Organizations", answer.facets.organizations, "org"));
      }
      if (answer.facets.authors.length) {
        facetBox.appendChild(facetGroup("Authors", answer.facets.authors, "author"));
      }
    } else if (state.facetsCost && answer.total > 0) {
      facetBox.appendChild(facetButton("Count by organization and author", function () {
        state.wantFacets = true;
        search(true);
      }));
    }
  }

  function showEmptyState() {
    clear(list);
    if (facetBox) {
      clear(facetBox);
    }
    select(-1);
    if (moreButton) {
      moreButton.hidden = true;
    }
    say("Type to search " + state.count + " papers by title, tag or abstract.");
  }

  function summary(answer, request) {
    var noun = answer.total === 1 ? "paper" : "papers";
    var what = request.q ? (answer.total === 1 ? " matches" : " match") + " \u201c" + request.q + "\u201d" : "";
    if (answer.fuzzy) {
      what += " with a letter or two changed";
    }
    var filters = describeFilters(request);
    var count = (answer.atLeast ? "At least " : answer.atMost ? "Up to " : "") + answer.total;
    var text = count + " " + noun + what + (filters ? " (" + filters + ")" : "") + ".";
    if (answer.atLeast) {
      return text + " Looking for more\u2026";
    }
    if (answer.fuzzy) {
      text = "No paper matches \u201c" + request.q + "\u201d exactly. " + text;
    }
    if (answer.direct) {
      text = "arXiv " + answer.direct + ": " + answer.results[0].title + ".";
    }
    if (answer.results.length < answer.total && !answer.partial) {
      text += " Showing the first " + answer.results.length + ".";
    }
    return text;
  }

  function showAnswer(answer, request) {
    if (answer.direct && answer.total > 0 && state.goToDirect) {
      window.location.assign(sitePath(answer.results[0].path)); // an arXiv ID or URL names one paper
      return;
    }
    clear(list);
    select(-1);
    showFacets(answer, request);
    if (answer.direct && answer.total === 0) {
      say("No paper here has arXiv ID " + answer.direct + ".");
    } else if (answer.error) {
      say(answer.error);
    } else if (answer.total === 0) {
      say(
        "No papers match" + (request.q ? " \u201c" + request.q + "\u201d" : "") +
          (describeFilters(request) ? " (" + describeFilters(request) + ")" : "") +
          ". Try fewer or shorter words, a prefix such as diffu*, or clear the filters."
      );
    } else {
      var fragment = document.createDocumentFragment();
      answer.results.forEach(function (result, n) {
        fragment.appendChild(resultItem(result, n));
      });
      list.appendChild(fragment);
      say(summary(answer, request));
    }
    showMoreButton(answer);
  }

  function showMoreButton(answer) {
    if (moreButton) {
      moreButton.hidden = Boolean(answer.partial) || !(answer.results.length < answer.total);
    }
  }

  // The final answer to a query whose first results are shown starts with those: the rest are
  // added below them, so that the focus and the reader's place stay where they were.
  function extendAnswer(answer, request, shown) {
    var fragment = document.createDocumentFragment();
    answer.results.slice(shown).forEach(function (result, n) {
      fragment.appendChild(resultItem(result, shown + n));
    });
    list.appendChild(fragment);
    showFacets(answer, request);
    say(summary(answer, request));
    showMoreButton(answer);
  }

  function search(keepLimit) {
    window.clearTimeout(state.timer);
    var request = currentRequest();
    keepInUrl(request);
    if (!keepLimit) {
      state.limit = state.pageSize;
    }
    if (!state.ready) {
      return; // the worker's "ready" message runs the search again
    }
    if (isEmpty(request)) {
      state.lastId += 1; // any answer still on its way is now stale
      showEmptyState();
      return;
    }
    state.lastId += 1;
    state.asked = JSON.stringify(request);
    request.type = "query";
    request.id = state.lastId;
    request.limit = state.limit;
    request.typing = state.typing;
    request.facets = !state.facetsCost || state.wantFacets || Boolean(request.org || request.author);
    state.worker.postMessage(request);
  }

  // Typing: the last word may be unfinished. Pasting: a pasted arXiv ID or URL opens its paper.
  function searchSoon(event) {
    window.clearTimeout(state.timer);
    state.typing = !(event && event.inputType === "insertFromPaste");
    state.goToDirect = !state.typing;
    state.timer = window.setTimeout(function () { search(false); }, DEBOUNCE_MS);
  }

  function finished() {
    state.typing = false;
    state.goToDirect = true;
  }

  function onWorkerMessage(event) {
    var message = event.data || {};
    if (message.type === "ready") {
      state.ready = true;
      state.count = message.count;
      state.facetsCost = Boolean(message.facetsCost);
      if (message.pageSize > 0) {
        state.pageSize = message.pageSize;
        state.limit = message.pageSize; // nothing is shown before the worker is ready
      }
      search(true);
    } else if (message.type === "results") {
      if (message.id === state.lastId && !(message.partial && message.id === state.moreId)) {
        var early = state.early;
        var follows = early && early.id === message.id && !message.error && message.results.length >= early.shown;
        if (follows) {
          extendAnswer(message, currentRequest(), early.shown);
        } else {
          showAnswer(message, currentRequest());
        }
        state.early = message.partial ? { id: message.id, shown: message.results.length } : null;
      }
    } else if (message.type === "failed") {
      failed(message.message);
    }
  }

  function failed(detail) {
    state.ready = false;
    clear(list);
    if (moreButton) {
      moreButton.hidden = true; // no list to make longer
    }
    say(
      "Search could not load (" + detail + "). The ",
      link("archive", sitePath("archive/")),
      " and ",
      link("tags", sitePath("tags/")),
      " list every paper."
    );
  }

  function onKeyDown(event) {
    if (event.key === "ArrowDown" && list.children.length) {
      event.preventDefault();
      select(0);
    }
  }

  function wireUp() {
    list.setAttribute("aria-label", "Search results");
    list.addEventListener("keydown", onListKeyDown);
    document.addEventListener("keydown", onSlash);

    input.addEventListener("input", searchSoon);
    input.addEventListener("keydown", onKeyDown);
    [tagSelect, fromInput, toInput, sortSelect].forEach(function (control) {
      if (control) {
        control.addEventListener("change", function () { search(false); });
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      finished();
      search(false);
    });
    if (moreButton) {
      moreButton.addEventListener("click", function () {
        if (JSON.stringify(currentRequest()) !== state.asked) {
          search(false); // the query changed since this list was asked for (typed, not yet sent): its first page
          return;
        }
        state.limit += state.pageSize;
        state.moreId = state.lastId + 1; // the list keeps the page it has until the longer one is complete
        search(true);
      });
    }
  }

  function startWorker() {
    if (typeof Worker === "undefined") {
      failed("this browser cannot run background scripts");
      return;
    }
    try {
      state.worker = new Worker(absolute(form.getAttribute("data-worker")));
    } catch (error) {
      failed(error.message);
      return;
    }
    state.worker.addEventListener("message", onWorkerMessage);
    state.worker.addEventListener("error", function (event) {
      event.preventDefault();
      failed(event.message || "the search script failed");
    });
    state.worker.postMessage({
      type: "init",
      lunrUrl: absolute(form.getAttribute("data-lunr")),
      indexUrl: absolute(form.getAttribute("data-index")),
      storeUrl: absolute(form.getAttribute("data-store")),
    });
  }

  restoreFromUrl();
  openFiltersWhenSet();
  say("Loading the search index\u2026");
  wireUp();
  startWorker();
  input.focus();
})();
