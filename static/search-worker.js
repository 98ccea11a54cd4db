// The search worker: loads lunr.js, the prebuilt index and the result store, and answers queries,
// so that parsing a large index or running a broad prefix search never blocks the page.
// Protocol (postMessage):
//   in:  {type: "init", lunrUrl, indexUrl, storeUrl}
//        {type: "query", id, q, tag, from, to, limit}
//   out: {type: "ready", count}
//        {type: "results", id, total, results: [{ref, score, terms, title, path, date, tags, snippet, ...marks}]}
//        {type: "failed", message}          (the index could not be loaded)
// The functions above the wiring take their data as arguments so that tests can run them under node.
"use strict";

// Characters that only mean something in lunr's own query language.
var LUNR_SYNTAX = /[:*~^]|(^|\s)[+-]/;
var DEFAULT_LIMIT = 50;

function hasLunrSyntax(q) {
  return LUNR_SYNTAX.test(q);
}

function trimToken(text) {
  // The same trimming lunr.js applies when it builds an index.
  return text.replace(/^\W+/, "").replace(/\W+$/, "");
}

function stemOf(word) {
  return lunr.stemmer(new lunr.Token(word, {})).toString();
}

function isStopWord(word) {
  return lunr.stopWordFilter(new lunr.Token(word, {})) === undefined;
}

function isIndexed(index, term) {
  return Object.prototype.hasOwnProperty.call(index.invertedIndex, term);
}

function startsAnyIndexedTerm(index, prefix) {
  return index.tokenSet.intersect(lunr.TokenSet.fromString(prefix + "*")).toArray().length > 0;
}

// A half-typed word can be longer than the stem of the word it will become ("diffusi" on the way
// to "diffusion", indexed as "diffus"); then nothing starts with it yet. Shortening it by up to four
// letters finds that stem in most such cases.
var MAX_SHORTENING = 4;
var MIN_SHORTENED = 4;

function shortenedStems(index, term) {
  if (term.stop || isIndexed(index, term.stem) || startsAnyIndexedTerm(index, term.typed)) {
    return [];
  }
  var found = [];
  for (var k = 1; k <= MAX_SHORTENING && term.typed.length - k >= MIN_SHORTENED; k++) {
    var shorter = term.typed.slice(0, term.typed.length - k);
    if (isIndexed(index, shorter)) {
      found.push(shorter);
    }
  }
  return found;
}

// The words of a plain query, each with its stem; stop words never reach the index.
function plainTerms(index, q) {
  var terms = [];
  lunr.tokenizer(q).forEach(function (token) {
    var typed = trimToken(token.toString());
    if (typed) {
      var term = { typed: typed, stem: stemOf(typed), stop: isStopWord(typed) };
      term.shortened = shortenedStems(index, term);
      terms.push(term);
    }
  });
  return terms;
}

// A plain query matches each word exactly (stemmed, worth most) or as the start of a longer word,
// so that results appear while the last word is still being typed.
function addPlainClauses(query, terms) {
  var trailing = lunr.Query.wildcard.TRAILING;
  terms.forEach(function (term) {
    if (!term.stop) {
      query.term(term.typed, { usePipeline: true, boost: 10 });
    }
    if (term.typed.length >= 2) {
      query.term(term.typed, { usePipeline: false, wildcard: trailing });
    }
    if (!term.stop && term.stem !== term.typed && term.stem.length >= 2) {
      query.term(term.stem, { usePipeline: false, wildcard: trailing });
    }
    term.shortened.forEach(function (shorter) {
      query.term(shorter, { usePipeline: false });
    });
  });
}

function covers(term, indexTerm) {
  return indexTerm === term.stem || indexTerm.indexOf(term.typed) === 0 ||
    (term.stem.length >= 2 && indexTerm.indexOf(term.stem) === 0) || term.shortened.indexOf(indexTerm) !== -1;
}

// Every word the user typed (stop words aside) must be found in a result: more words, fewer results.
function matchesEveryWord(terms, result) {
  var found = Object.keys(result.matchData.metadata);
  return terms.every(function (term) {
    return term.stop || found.some(function (indexTerm) { return covers(term, indexTerm); });
  });
}

function runLunr(index, q) {
  if (hasLunrSyntax(q)) {
    return index.search(q);
  }
  var terms = plainTerms(index, q);
  if (terms.length === 0) {
    return [];
  }
  return index.query(function (query) { addPlainClauses(query, terms); })
    .filter(function (result) { return matchesEveryWord(terms, result); });
}

// [start, end) ranges of the words in `text` whose index form is one of `terms`.
function markRanges(text, terms) {
  var ranges = [];
  var word = /[^\s-]+/g;
  var found;
  while ((found = word.exec(text)) !== null) {
    var lead = found[0].length - found[0].replace(/^\W+/, "").length;
    var core = trimToken(found[0]);
    if (core && terms.has(stemOf(core.toLowerCase()))) {
      ranges.push([found.index + lead, found.index + lead + core.length]);
    }
  }
  return ranges;
}

function parseFailure(error) {
  var detail = error && error.message ? error.message : String(error);
  return "That search could not be read (" + detail + "). Type plain words, or use title:word, +must, -not and prefix*.";
}

function passesFilters(doc, request, tagNumber) {
  if (tagNumber !== undefined && doc[3].indexOf(tagNumber) === -1) {
    return false;
  }
  if (request.from && (!doc[2] || doc[2] < request.from)) {
    return false;
  }
  if (request.to && (!doc[2] || doc[2] > request.to)) {
    return false;
  }
  return true;
}

function describe(hit, store) {
  var doc = store.docs[Number(hit.ref)];
  var terms = new Set(hit.terms);
  return {
    ref: hit.ref,
    score: hit.score,
    terms: hit.terms,
    title: doc[0],
    titleMarks: markRanges(doc[0], terms),
    path: doc[1],
    date: doc[2],
    tags: doc[3].map(function (n) {
      var tag = store.tags[n];
      return { slug: tag[0], label: tag[1], path: tag[2], marks: markRanges(tag[1], terms) };
    }),
    snippet: doc[4],
    snippetMarks: markRanges(doc[4], terms),
  };
}

function tagNumberOf(store, slug) {
  for (var n = 0; n < store.tags.length; n++) {
    if (store.tags[n][0] === slug) {
      return n;
    }
  }
  return -1; // an unknown tag matches nothing
}

// One query against a loaded index and store: ranked, filtered, cut to `limit`, ready to show.
function searchPapers(index, store, request) {
  var q = (request.q || "").trim();
  var tagNumber = request.tag ? tagNumberOf(store, request.tag) : undefined;
  var hits;
  if (q) {
    try {
      hits = runLunr(index, q).map(function (result) {
        return { ref: result.ref, score: result.score, terms: Object.keys(result.matchData.metadata) };
      });
    } catch (error) {
      if (error instanceof lunr.QueryParseError) {
        return { type: "results", id: request.id, total: 0, results: [], error: parseFailure(error) };
      }
      throw error;
    }
  } else {
    // No words: list the filtered papers, newest first (the store's order).
    hits = store.docs.map(function (doc, n) { return { ref: String(n), score: 0, terms: [] }; });
  }
  var kept = hits.filter(function (hit) { return passesFilters(store.docs[Number(hit.ref)], request, tagNumber); });
  var limit = request.limit > 0 ? request.limit : DEFAULT_LIMIT;
  return {
    type: "results",
    id: request.id,
    total: kept.length,
    results: kept.slice(0, limit).map(function (hit) { return describe(hit, store); }),
  };
}

function fetchJson(url) {
  return fetch(url, { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) {
      throw new Error("HTTP " + response.status + " for " + url);
    }
    return response.json();
  });
}

// The worker's side of the protocol. Queries that arrive while one runs are coalesced: only the
// newest is answered, because the page only shows the newest.
function startWorker(scope) {
  var loaded = null;
  var pending = null;
  var scheduled = false;

  function answerPending() {
    scheduled = false;
    if (!loaded || !pending) {
      return;
    }
    var request = pending;
    pending = null;
    try {
      scope.postMessage(searchPapers(loaded.index, loaded.store, request));
    } catch (error) {
      scope.postMessage({ type: "results", id: request.id, total: 0, results: [], error: "Search failed: " + error.message });
    }
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      scope.setTimeout(answerPending, 0);
    }
  }

  function load(message) {
    scope.importScripts(message.lunrUrl);
    Promise.all([fetchJson(message.indexUrl), fetchJson(message.storeUrl)])
      .then(function (data) {
        loaded = { index: lunr.Index.load(data[0]), store: data[1] };
        scope.postMessage({ type: "ready", count: loaded.store.docs.length });
        schedule();
      })
      .catch(function (error) {
        scope.postMessage({ type: "failed", message: String(error && error.message ? error.message : error) });
      });
  }

  scope.onmessage = function (event) {
    var message = event.data || {};
    if (message.type === "init" || (message.type === undefined && message.lunrUrl)) {
      try {
        load(message);
      } catch (error) {
        scope.postMessage({ type: "failed", message: String(error && error.message ? error.message : error) });
      }
    } else if (message.type === "query") {
      pending = message;
      schedule();
    }
  };
}

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  startWorker(self);
}
