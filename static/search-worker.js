// The search worker: loads lunr.js, the prebuilt index and the result store, and answers queries,
// so that parsing a large index or running a broad prefix search never blocks the page.
// Protocol (postMessage):
//   in:  {type: "init", lunrUrl, indexUrl, storeUrl}
//        {type: "query", id, q, tag, from, to, limit}
//   out: {type: "ready", count}
//        {type: "results", id, total, fuzzy?, results: [{ref, score, terms, title, path, date, tags, snippet, ...marks}]}
//        {type: "failed", message}          (the index could not be loaded)
// Two layouts (see src/digestgen/search.py): a small site's index.json is one lunr index and store.json
// holds every result; a large site's index.json is a manifest ({shards: ...}) and the worker fetches
// only the term-range shards, field lengths and result chunks a query needs, then builds from them an
// ordinary lunr index JSON for lunr.Index.load, which ranks exactly as the whole index would.
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

function canBeShortened(term) {
  return !term.stop && term.typed.length - 1 >= MIN_SHORTENED;
}

function shortenedStems(index, term) {
  if (!canBeShortened(term) || isIndexed(index, term.stem) || startsAnyIndexedTerm(index, term.typed)) {
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
function plainWords(q) {
  var words = [];
  lunr.tokenizer(q).forEach(function (token) {
    var typed = trimToken(token.toString());
    if (typed) {
      words.push({ typed: typed, stem: stemOf(typed), stop: isStopWord(typed) });
    }
  });
  return words;
}

function plainTerms(index, q) {
  return plainWords(q).map(function (term) {
    term.shortened = shortenedStems(index, term);
    return term;
  });
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

// When plain words find nothing, each word may be a typo: it must then be found within one edit
// (two for long words), lunr's own fuzzy matching of the word's stem. Short words stay exact.
var FUZZY_MIN_LENGTH = 4;
var FUZZY_TWO_EDITS_LENGTH = 9;

function addFuzzyClauses(query, words) {
  words.forEach(function (word) {
    if (word.stop) {
      return;
    }
    var clause = { usePipeline: true, presence: lunr.Query.presence.REQUIRED };
    if (word.typed.length >= FUZZY_MIN_LENGTH) {
      clause.editDistance = word.typed.length >= FUZZY_TWO_EDITS_LENGTH ? 2 : 1;
    }
    query.term(word.typed, clause);
  });
}

function hasFuzzyWords(words) {
  return words.some(function (word) { return !word.stop && word.typed.length >= FUZZY_MIN_LENGTH; });
}

// Ranked lunr results for q, with the fuzzy fallback: {results, fuzzy}.
function rankedResults(index, q) {
  var results = runLunr(index, q);
  if (results.length > 0 || hasLunrSyntax(q)) {
    return { results: results, fuzzy: false };
  }
  var words = plainWords(q);
  if (!hasFuzzyWords(words)) {
    return { results: results, fuzzy: false };
  }
  return { results: index.query(function (query) { addFuzzyClauses(query, words); }), fuzzy: true };
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

function passesDates(date, request) {
  if (request.from && (!date || date < request.from)) {
    return false;
  }
  if (request.to && (!date || date > request.to)) {
    return false;
  }
  return true;
}

function passesFilters(doc, request, tagNumber) {
  if (tagNumber !== undefined && doc[3].indexOf(tagNumber) === -1) {
    return false;
  }
  return passesDates(doc[2], request);
}

function describe(hit, store) {
  return describeDoc(hit, store.docs[Number(hit.ref)], store.tags);
}

function describeDoc(hit, doc, tagList) {
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
      var tag = tagList[n];
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

function asHits(results) {
  return results.map(function (result) {
    return { ref: result.ref, score: result.score, terms: Object.keys(result.matchData.metadata) };
  });
}

// No words: every paper, newest first (the order of references).
function everyPaper(count) {
  var hits = [];
  for (var n = 0; n < count; n++) {
    hits.push({ ref: String(n), score: 0, terms: [] });
  }
  return hits;
}

function failedAnswer(request, error) {
  if (error instanceof lunr.QueryParseError) {
    return { type: "results", id: request.id, total: 0, results: [], error: parseFailure(error) };
  }
  throw error;
}

function answer(request, kept, fuzzy, describeHit) {
  var limit = request.limit > 0 ? request.limit : DEFAULT_LIMIT;
  var done = { type: "results", id: request.id, total: kept.length, results: kept.slice(0, limit).map(describeHit) };
  if (fuzzy) {
    done.fuzzy = true;
  }
  return done;
}

// One query against a loaded index and store: ranked, filtered, cut to `limit`, ready to show.
function searchPapers(index, store, request) {
  var q = (request.q || "").trim();
  var tagNumber = request.tag ? tagNumberOf(store, request.tag) : undefined;
  var ranked = { results: [], fuzzy: false };
  var hits;
  if (q) {
    try {
      ranked = rankedResults(index, q);
    } catch (error) {
      return failedAnswer(request, error);
    }
    hits = asHits(ranked.results);
  } else {
    hits = everyPaper(store.docs.length);
  }
  var kept = hits.filter(function (hit) { return passesFilters(store.docs[Number(hit.ref)], request, tagNumber); });
  return answer(request, kept, ranked.fuzzy, function (hit) { return describe(hit, store); });
}

// ---------------------------------------------------------------------------------------------
// The sharded layout. A shard holds a contiguous range of the sorted vocabulary (manifest.bounds[i]
// is its first term); for each term its number and, per field, the documents that have it (as gaps)
// and how often. Field vector elements are recomputed from those counts and the field lengths with
// lunr.py's own formula and rounding, so the rebuilt index has the very numbers the single one has.

// The shard that holds (or would hold) `term`: the last whose first term is not after it.
function shardOf(bounds, term) {
  var low = 0;
  var high = bounds.length - 1;
  while (low < high) {
    var middle = (low + high + 1) >> 1;
    if (bounds[middle] <= term) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

// Every shard that can hold a term starting with `prefix`.
function prefixShards(bounds, prefix) {
  var first = shardOf(bounds, prefix);
  var found = [first];
  for (var n = first + 1; n < bounds.length && bounds[n].indexOf(prefix) === 0; n++) {
    found.push(n);
  }
  return found;
}

// What one lunr clause needs, as lunr.Index.prototype.query will look it up: exact terms and
// prefixes resolve to shards through the bounds; fuzzy terms and patterns that start with a
// wildcard are resolved against the vocabulary (fetched by term length) first.
function addClauseNeeds(needs, clause, pipeline) {
  var terms = clause.usePipeline ? pipeline.runString(clause.term, { fields: clause.fields }) : [clause.term];
  terms.forEach(function (term) {
    if ("editDistance" in clause && clause.editDistance > 0) {
      needs.patterns.push({ term: term, editDistance: clause.editDistance });
    } else if (!("editDistance" in clause) && term.indexOf("*") !== -1) {
      var prefix = term.slice(0, term.indexOf("*"));
      if (prefix) {
        needs.prefixes.push(prefix);
      } else {
        needs.patterns.push({ term: term });
      }
    } else {
      needs.exact.push(term);
    }
  });
}

function emptyNeeds() {
  return { exact: [], prefixes: [], patterns: [] };
}

function clauseNeeds(clauses, pipeline) {
  var needs = emptyNeeds();
  clauses.forEach(function (clause) { addClauseNeeds(needs, clause, pipeline); });
  return needs;
}

// What plainTerms, addPlainClauses and matchesEveryWord look up for these words.
function plainNeeds(words) {
  var needs = emptyNeeds();
  words.forEach(function (word) {
    if (!word.stop) {
      needs.exact.push(word.stem);
    }
    if (word.typed.length >= 2) {
      needs.prefixes.push(word.typed);
    }
    if (!word.stop && word.stem !== word.typed && word.stem.length >= 2) {
      needs.prefixes.push(word.stem);
    }
    if (canBeShortened(word)) {
      for (var k = 1; k <= MAX_SHORTENING && word.typed.length - k >= MIN_SHORTENED; k++) {
        needs.exact.push(word.typed.slice(0, word.typed.length - k));
      }
    }
  });
  return needs;
}

// Term lengths (in UTF-16 code units, as lunr counts edits) a vocabulary pattern can match.
function patternLengths(pattern, longest) {
  var lengths = [];
  var low;
  var high;
  if (pattern.editDistance) {
    low = pattern.term.length - pattern.editDistance;
    high = pattern.term.length + pattern.editDistance;
  } else {
    low = pattern.term.replace(/\*/g, "").length;
    high = longest;
  }
  for (var n = Math.max(1, low); n <= Math.min(high, longest); n++) {
    lengths.push(n);
  }
  if (high > longest && lengths.indexOf(longest) === -1) {
    lengths.push(longest); // the last file holds every longer term
  }
  return lengths;
}

function patternTokenSet(pattern) {
  return pattern.editDistance
    ? lunr.TokenSet.fromFuzzyString(pattern.term, pattern.editDistance)
    : lunr.TokenSet.fromString(pattern.term);
}

// Sorted terms from a front-coded list: each entry is a digit (characters shared with the previous
// term) followed by the rest of the term.
function frontDecoded(entries) {
  var terms = [];
  var previous = "";
  entries.forEach(function (entry) {
    previous = previous.slice(0, Number(entry.charAt(0))) + entry.slice(1);
    terms.push(previous);
  });
  return terms;
}

function undelta(gaps) {
  var out = new Array(gaps.length);
  var at = 0;
  for (var i = 0; i < gaps.length; i++) {
    at += gaps[i];
    out[i] = at;
  }
  return out;
}

// A shard file, decoded: [{term, index, df, fields: [{positions, counts}]}], and the idf by df.
function decodeShard(data) {
  var terms = data.terms.map(function (row) {
    var fields = [];
    var df = 0;
    for (var k = 2; k < row.length; k++) {
      var positions = undelta(row[k][0]);
      df += positions.length;
      fields.push({ positions: positions, counts: row[k][1] });
    }
    return { term: row[0], index: row[1], df: df, fields: fields };
  });
  return { terms: terms, idf: data.idf };
}

// Python's round(x, 3) (lunr.py rounds every score so): the nearest multiple of 1/1000 to x's exact
// value, halfway cases to the even one. toFixed rounds halfway cases up; x is halfway exactly when
// 16x is an odd integer (x = j/16, x*1000 = 62.5j), and then x*1000 is exact.
function roundThousandths(x) {
  var sixteenths = x * 16;
  if (Number.isInteger(sixteenths) && Math.abs(sixteenths % 2) === 1) {
    var below = Math.floor(x * 1000);
    return (below % 2 === 0 ? below : below + 1) / 1000;
  }
  return Number(x.toFixed(3));
}

// The field vector element lunr.py writes for a term counted `tf` times in a field of `length` terms.
function fieldScore(shards, field, idf, tf, length) {
  var k1 = shards.k1;
  var b = shards.b;
  // The same expression and order of operations as lunr.py's builder, for identical doubles.
  var score = idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (length / shards.averages[field])) + tf);
  score *= shards.boosts[field];
  return roundThousandths(score);
}

// An ordinary serialized lunr index over the terms of the given decoded shards. `lengthOf(field,
// position)` gives field lengths; with `everyDocument`, each document gets its field vectors even if
// empty, in the whole index's order, which a query of only -terms ranks by.
function combinedIndexJson(shards, decoded, lengthOf, everyDocument) {
  var fields = shards.fields;
  var elements = fields.map(function () { return []; });
  var invertedIndex = [];
  decoded.forEach(function (shard) {
    shard.terms.forEach(function (entry) {
      var idf = shard.idf[entry.df];
      var posting = {};
      entry.fields.forEach(function (field, k) {
        var docs = {};
        for (var i = 0; i < field.positions.length; i++) {
          var position = field.positions[i];
          docs[position] = {};
          var list = elements[k][position] || (elements[k][position] = []);
          list.push([entry.index, fieldScore(shards, k, idf, field.counts[i], lengthOf(k, position))]);
        }
        posting[fields[k]] = docs;
      });
      posting._index = entry.index;
      invertedIndex.push([entry.term, posting]);
    });
  });
  var fieldVectors = [];
  for (var position = 0; position < shards.count; position++) {
    for (var k = 0; k < fields.length; k++) {
      var list = elements[k][position];
      if (list || everyDocument) {
        fieldVectors.push([fields[k] + "/" + position, flatElements(list || [])]);
      }
    }
  }
  return { version: shards.version, fields: fields, fieldVectors: fieldVectors, invertedIndex: invertedIndex, pipeline: shards.pipeline };
}

function flatElements(pairs) {
  pairs.sort(function (a, b) { return a[0] - b[0]; });
  var flat = [];
  pairs.forEach(function (pair) { flat.push(pair[0], pair[1]); });
  return flat;
}

function sortedNumbers(set) {
  return Array.from(set).sort(function (a, b) { return a - b; });
}

// The sharded search: `fetchPart(relativePath)` returns a promise of a part's parsed JSON (relative to
// index.json). Parts are fetched once and kept; the lunr index of the last shard set is kept too,
// since a query typed one letter at a time mostly needs the same shards again.
function shardedSearch(manifest, storeInfo, fetchPart) {
  var shards = manifest.shards;
  var pipeline = lunr.Pipeline.load(shards.pipeline);
  var parts = new Map();
  var vocabulary = { lengths: new Set(), key: null, tokenSet: null };
  var lastIndex = { key: null, index: null };

  function part(path) {
    if (!parts.has(path)) {
      var loading = fetchPart(path);
      parts.set(path, loading);
      loading.catch(function () { parts.delete(path); }); // a failed part may be asked for again
    }
    return parts.get(path);
  }

  // A TokenSet of every vocabulary file fetched so far, covering at least the lengths `patterns` match.
  function vocabularyFor(patterns) {
    patterns.forEach(function (pattern) {
      patternLengths(pattern, shards.longestTermBucket).forEach(function (n) { vocabulary.lengths.add(n); });
    });
    var lengths = sortedNumbers(vocabulary.lengths);
    var key = lengths.join(",");
    return Promise.all(lengths.map(function (n) { return part("terms/" + n + ".json"); })).then(function (lists) {
      if (vocabulary.key !== key) {
        var words = [];
        lists.forEach(function (list) { words = words.concat(frontDecoded(list)); });
        vocabulary.tokenSet = lunr.TokenSet.fromArray(words.sort());
        vocabulary.key = key;
      }
      return vocabulary.tokenSet;
    });
  }

  // The shard numbers `needs` resolve to.
  function shardsFor(needs) {
    var wanted = new Set();
    needs.exact.forEach(function (term) { wanted.add(shardOf(shards.bounds, term)); });
    needs.prefixes.forEach(function (prefix) {
      prefixShards(shards.bounds, prefix).forEach(function (n) { wanted.add(n); });
    });
    if (needs.patterns.length === 0) {
      return Promise.resolve(sortedNumbers(wanted));
    }
    return vocabularyFor(needs.patterns).then(function (tokenSet) {
      needs.patterns.forEach(function (pattern) {
        tokenSet.intersect(patternTokenSet(pattern)).toArray().forEach(function (term) {
          wanted.add(shardOf(shards.bounds, term));
        });
      });
      return sortedNumbers(wanted);
    });
  }

  function lengthsFor(decoded) {
    var chunks = new Set();
    decoded.forEach(function (shard) {
      shard.terms.forEach(function (entry) {
        entry.fields.forEach(function (field) {
          field.positions.forEach(function (position) { chunks.add(Math.floor(position / shards.lengthsChunk)); });
        });
      });
    });
    var wanted = sortedNumbers(chunks);
    return Promise.all(wanted.map(function (n) { return part("lengths/" + n + ".json"); })).then(function (columns) {
      var byChunk = new Map();
      wanted.forEach(function (n, i) { byChunk.set(n, columns[i]); });
      return function (field, position) {
        return byChunk.get(Math.floor(position / shards.lengthsChunk))[field][position % shards.lengthsChunk];
      };
    });
  }

  function decodedShard(n) {
    var key = "decoded:" + n;
    if (!parts.has(key)) {
      parts.set(key, part("shards/" + n + ".json").then(decodeShard));
      parts.get(key).catch(function () { parts.delete(key); });
    }
    return parts.get(key);
  }

  // A lunr.Index over every term `needs` can reach (all documents' vectors if `everyDocument`).
  function indexFor(needs, everyDocument) {
    return shardsFor(needs).then(function (numbers) {
      var key = numbers.join(",") + (everyDocument ? "+all" : "");
      if (lastIndex.key === key) {
        return lastIndex.index;
      }
      return Promise.all(numbers.map(decodedShard)).then(function (decoded) {
        return lengthsFor(decoded).then(function (lengthOf) {
          var index = lunr.Index.load(combinedIndexJson(shards, decoded, lengthOf, everyDocument));
          lastIndex.key = key;
          lastIndex.index = index;
          return index;
        });
      });
    });
  }

  // The clauses lunr's parser makes of q (throws lunr.QueryParseError as index.search would).
  function parsedClauses(q) {
    var query = new lunr.Query(shards.fields);
    new lunr.QueryParser(q, query).parse();
    return query;
  }

  function ranked(q) {
    if (hasLunrSyntax(q)) {
      var query = parsedClauses(q);
      return indexFor(clauseNeeds(query.clauses, pipeline), query.isNegated()).then(function (index) {
        return { results: index.search(q), fuzzy: false };
      });
    }
    var words = plainWords(q);
    return indexFor(plainNeeds(words), false).then(function (index) {
      var results = runLunr(index, q);
      if (results.length > 0 || !hasFuzzyWords(words)) {
        return { results: results, fuzzy: false };
      }
      var fuzzy = new lunr.Query(shards.fields);
      addFuzzyClauses(fuzzy, words);
      return indexFor(clauseNeeds(fuzzy.clauses, pipeline), false).then(function (fuzzyIndex) {
        return { results: fuzzyIndex.query(function (query) { addFuzzyClauses(query, words); }), fuzzy: true };
      });
    });
  }

  // A test for the tag and date filters, fetching only the facets the request uses.
  function filterFor(request) {
    var checks = [];
    if (request.tag) {
      var tagNumber = tagNumberOf(storeInfo, request.tag);
      checks.push(tagNumber < 0 ? Promise.resolve(function () { return false; }) : part("tags/" + tagNumber + ".json").then(function (gaps) {
        var tagged = new Set(undelta(gaps));
        return function (position) { return tagged.has(position); };
      }));
    }
    if (request.from || request.to) {
      checks.push(part("dates.json").then(function (runs) {
        var dates = [];
        runs.forEach(function (run) {
          for (var i = 0; i < run[1]; i++) {
            dates.push(run[0]);
          }
        });
        return function (position) { return passesDates(dates[position], request); };
      }));
    }
    return Promise.all(checks).then(function (tests) {
      return function (position) { return tests.every(function (test) { return test(position); }); };
    });
  }

  function describeHits(hits) {
    var chunkSize = storeInfo.chunk;
    var chunks = sortedNumbers(new Set(hits.map(function (hit) { return Math.floor(Number(hit.ref) / chunkSize); })));
    return Promise.all(chunks.map(function (n) { return part("store/" + n + ".json"); })).then(function (loaded) {
      var byChunk = new Map();
      chunks.forEach(function (n, i) { byChunk.set(n, loaded[i]); });
      return hits.map(function (hit) {
        var position = Number(hit.ref);
        return describeDoc(hit, byChunk.get(Math.floor(position / chunkSize))[position % chunkSize], storeInfo.tags);
      });
    });
  }

  // One query, as searchPapers answers it for a single index.
  function search(request) {
    var q = (request.q || "").trim();
    var rankedLater = q ? Promise.resolve(q).then(ranked) : Promise.resolve(null);
    return Promise.all([rankedLater, filterFor(request)]).then(function (done) {
      var hits = done[0] ? asHits(done[0].results) : everyPaper(shards.count);
      var kept = hits.filter(function (hit) { return done[1](Number(hit.ref)); });
      var limit = request.limit > 0 ? request.limit : DEFAULT_LIMIT;
      return describeHits(kept.slice(0, limit)).then(function (described) {
        return answer(request, kept, done[0] && done[0].fuzzy, function (hit, n) { return described[n]; });
      });
    }).catch(function (error) { return failedAnswer(request, error); });
  }

  return { count: shards.count, search: search, indexFor: indexFor, ranked: ranked };
}

function fetchJson(url) {
  return fetch(url, { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) {
      throw new Error("HTTP " + response.status + " for " + url);
    }
    return response.json();
  });
}

// A loaded search of either layout: {count, search(request) -> answer or promise of one}.
function singleSearch(index, store) {
  return { count: store.docs.length, search: function (request) { return searchPapers(index, store, request); } };
}

function isSharded(indexData) {
  return Boolean(indexData && indexData.shards);
}

function loadedSearch(indexData, storeData, indexUrl) {
  if (isSharded(indexData)) {
    return shardedSearch(indexData, storeData, function (path) { return fetchJson(new URL(path, indexUrl).href); });
  }
  return singleSearch(lunr.Index.load(indexData), storeData);
}

function errorText(error) {
  return String(error && error.message ? error.message : error);
}

// The worker's side of the protocol. Queries that arrive while one runs are coalesced: only the
// newest is answered, because the page only shows the newest.
function startWorker(scope) {
  var loaded = null;
  var pending = null;
  var busy = false;

  function answerPending() {
    if (!loaded || !pending || busy) {
      return;
    }
    var request = pending;
    pending = null;
    busy = true;
    new Promise(function (resolve) { resolve(loaded.search(request)); })
      .catch(function (error) {
        return { type: "results", id: request.id, total: 0, results: [], error: "Search failed: " + errorText(error) };
      })
      .then(function (answer) {
        scope.postMessage(answer);
        busy = false;
        answerPending();
      });
  }

  function schedule() {
    scope.setTimeout(answerPending, 0);
  }

  function load(message) {
    scope.importScripts(message.lunrUrl);
    // Both files are small for a sharded site (a manifest and the store's outline), so they are
    // fetched together whichever layout the site has.
    Promise.all([fetchJson(message.indexUrl), fetchJson(message.storeUrl)])
      .then(function (data) {
        loaded = loadedSearch(data[0], data[1], message.indexUrl);
        scope.postMessage({ type: "ready", count: loaded.count });
        schedule();
      })
      .catch(function (error) {
        scope.postMessage({ type: "failed", message: errorText(error) });
      });
  }

  scope.onmessage = function (event) {
    var message = event.data || {};
    if (message.type === "init" || (message.type === undefined && message.lunrUrl)) {
      try {
        load(message);
      } catch (error) {
        scope.postMessage({ type: "failed", message: errorText(error) });
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
