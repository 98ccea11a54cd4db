// The search worker: loads lunr.js, the prebuilt index and the result store, and answers queries,
// so that parsing a large index or running a broad prefix search never blocks the page.
// Protocol (postMessage):
//   in:  {type: "init", lunrUrl, indexUrl, storeUrl}
//        {type: "query", id, q, tag, from, to, limit}
//   out: {type: "ready", count, pageSize?}   (pageSize: how many results a page should ask for)
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
// A word is also matched as the start of longer words only from three letters on: "tr" would
// reach a large part of the vocabulary (and, on a big site, of its index parts) for little use.
var MIN_PREFIX = 3;
var MIN_SHORTENED = 4;

function canBeShortened(term) {
  return !term.stop && term.typed.length - 1 >= MIN_SHORTENED;
}

function needsShortening(index, term) {
  return canBeShortened(term) && !isIndexed(index, term.stem) && !startsAnyIndexedTerm(index, term.typed);
}

function shorterForms(term) {
  var forms = [];
  for (var k = 1; k <= MAX_SHORTENING && term.typed.length - k >= MIN_SHORTENED; k++) {
    forms.push(term.typed.slice(0, term.typed.length - k));
  }
  return forms;
}

function shortenedStems(index, term) {
  if (!needsShortening(index, term)) {
    return [];
  }
  return shorterForms(term).filter(function (shorter) { return isIndexed(index, shorter); });
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
    if (term.typed.length >= MIN_PREFIX) {
      query.term(term.typed, { usePipeline: false, wildcard: trailing });
    }
    if (!term.stop && term.stem !== term.typed && term.stem.length >= MIN_PREFIX) {
      query.term(term.stem, { usePipeline: false, wildcard: trailing });
    }
    term.shortened.forEach(function (shorter) {
      query.term(shorter, { usePipeline: false });
    });
  });
}

function covers(term, indexTerm) {
  return indexTerm === term.stem || (term.typed.length >= MIN_PREFIX && indexTerm.indexOf(term.typed) === 0) ||
    (term.stem.length >= MIN_PREFIX && indexTerm.indexOf(term.stem) === 0) || term.shortened.indexOf(indexTerm) !== -1;
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

function limitOf(request) {
  return request.limit > 0 ? request.limit : DEFAULT_LIMIT;
}

// The answer to `request`: `total` papers match, `shown` are the first (up to the limit), described.
function answer(request, total, shown, fuzzy, describeHit) {
  var done = { type: "results", id: request.id, total: total, results: shown.map(describeHit) };
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
  var shown = kept.slice(0, limitOf(request));
  return answer(request, kept.length, shown, ranked.fuzzy, function (hit) { return describe(hit, store); });
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

// What plainTerms, addPlainClauses and matchesEveryWord look up for these words, but for the
// shorter forms of a half-typed word (shorteningNeeds), which are rarely wanted.
function plainNeeds(words) {
  var needs = emptyNeeds();
  words.forEach(function (word) {
    if (!word.stop) {
      needs.exact.push(word.stem);
    }
    if (word.typed.length >= MIN_PREFIX) {
      needs.prefixes.push(word.typed);
    }
    if (!word.stop && word.stem !== word.typed && word.stem.length >= MIN_PREFIX) {
      needs.prefixes.push(word.stem);
    }
  });
  return needs;
}

// plainNeeds and the shorter forms of the words that need them, given an index made for plainNeeds.
function shorteningNeeds(index, words) {
  var needs = plainNeeds(words);
  var more = false;
  words.forEach(function (word) {
    if (needsShortening(index, word)) {
      needs.exact = needs.exact.concat(shorterForms(word));
      more = true;
    }
  });
  return more ? needs : null;
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

// The numbers of a number_text string (src/digestgen/search.py): base-32 digits, the last digit of
// each number from LAST_DIGITS, the others from CONTINUED_DIGITS.
var LAST_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
var CONTINUED_DIGITS = "WXYZabcdefghijklmnopqrstuvwxyz-_";

function numbersOf(text) {
  var numbers = [];
  var value = 0;
  for (var i = 0; i < text.length; i++) {
    var c = text.charAt(i);
    var last = LAST_DIGITS.indexOf(c);
    if (last !== -1) {
      numbers.push(value * 32 + last);
      value = 0;
    } else {
      value = value * 32 + CONTINUED_DIGITS.indexOf(c);
    }
  }
  return numbers;
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

// A shard file, decoded: its terms in order, each {term, index, idf, fields: [{positions, counts,
// lengths}]}. A field's lengths are there unless the term is common in it (then: the length files).
function decodeShard(data) {
  return data.terms.map(function (row) {
    var fields = [];
    var df = 0;
    for (var k = 2; k < row.length; k++) {
      var positions = undelta(numbersOf(row[k][0]));
      df += positions.length;
      fields.push({ positions: positions, counts: numbersOf(row[k][1]), lengths: row[k].length > 2 ? numbersOf(row[k][2]) : null });
    }
    return { term: row[0], index: row[1], idf: data.idf[df], fields: fields };
  });
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

// The field vector elements of a decoded term in field k, one per position (computed once).
function elementsOf(shards, entry, k, lengthOf) {
  var field = entry.fields[k];
  if (!field.scores) {
    var scores = new Float64Array(field.positions.length);
    for (var i = 0; i < scores.length; i++) {
      var length = field.lengths ? field.lengths[i] : lengthOf(k, field.positions[i]);
      scores[i] = fieldScore(shards, k, entry.idf, field.counts[i], length);
    }
    field.scores = scores;
  }
  return field.scores;
}

// An ordinary serialized lunr index of the given decoded terms (in order). `lengthOf(field,
// position)` gives the field lengths shards leave out. Options: `keep(position)` limits the papers
// (the terms stay, so lunr expands a query to the same terms); `everyDocument` gives each paper its
// field vectors even if empty, in the whole index's order, by which lunr ranks a query of -terms only.
function combinedIndexJson(shards, entries, lengthOf, options) {
  var keep = options && options.keep;
  var fields = shards.fields;
  var elements = fields.map(function () { return []; });
  var invertedIndex = entries.map(function (entry) {
    var posting = {};
    entry.fields.forEach(function (field, k) {
      var scores = elementsOf(shards, entry, k, lengthOf);
      var docs = {};
      for (var i = 0; i < field.positions.length; i++) {
        var position = field.positions[i];
        if (!keep || keep(position)) {
          docs[position] = {};
          var list = elements[k][position] || (elements[k][position] = []);
          list.push([entry.index, scores[i]]);
        }
      }
      posting[fields[k]] = docs;
    });
    posting._index = entry.index;
    return [entry.term, posting];
  });
  var fieldVectors = [];
  for (var position = 0; position < shards.count; position++) {
    for (var k = 0; k < fields.length; k++) {
      var list = elements[k][position];
      if (list || (options && options.everyDocument)) {
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

// Just enough of a lunr.Index for plainTerms and clause expansion: the decoded terms by name and
// their TokenSet.
function vocabularyView(entries) {
  var byTerm = Object.create(null);
  entries.forEach(function (entry) { byTerm[entry.term] = entry; });
  return { invertedIndex: byTerm, tokenSet: lunr.TokenSet.fromArray(entries.map(function (e) { return e.term; })) };
}

// lunr's query vector for `clauses`, as Index.prototype.query builds it (every clause here spans
// every field, so one vector serves all): term -> summed boost, over the terms each clause expands to.
function clauseWeights(clauses, tokenSet, pipeline) {
  var weights = new Map();
  clauses.forEach(function (clause) {
    var terms = clause.usePipeline ? pipeline.runString(clause.term, { fields: clause.fields }) : [clause.term];
    terms.forEach(function (term) {
      var expanded = tokenSet.intersect(lunr.TokenSet.fromClause(Object.assign({}, clause, { term: term }))).toArray();
      expanded.forEach(function (t) { weights.set(t, (weights.get(t) || 0) + clause.boost); });
    });
  });
  return weights;
}

// The papers in which every word of a plain query is found (what matchesEveryWord keeps), given the
// decoded terms the query's clauses expand to.
function papersWithEveryWord(terms, entries) {
  var found = null;
  terms.forEach(function (term) {
    if (term.stop) {
      return;
    }
    var papers = new Set();
    entries.forEach(function (entry) {
      if (covers(term, entry.term)) {
        entry.fields.forEach(function (field) { field.positions.forEach(function (p) { papers.add(p); }); });
      }
    });
    found = found === null ? papers : new Set(Array.from(found).filter(function (p) { return papers.has(p); }));
  });
  if (found === null) { // stop words only: any paper with any of the terms
    found = new Set();
    entries.forEach(function (entry) {
      entry.fields.forEach(function (field) { field.positions.forEach(function (p) { found.add(p); }); });
    });
  }
  return found;
}

// Each paper's score for the query vector `weights`, as lunr sums it over fields (up to rounding).
function approximateScores(shards, entries, weights, lengthOf) {
  var magnitude = 0;
  weights.forEach(function (w) { magnitude += w * w; });
  magnitude = Math.sqrt(magnitude);
  var scores = new Map();
  entries.forEach(function (entry) {
    var w = weights.get(entry.term) / magnitude;
    entry.fields.forEach(function (field, k) {
      var elements = elementsOf(shards, entry, k, lengthOf);
      for (var i = 0; i < field.positions.length; i++) {
        scores.set(field.positions[i], (scores.get(field.positions[i]) || 0) + w * elements[i]);
      }
    });
  });
  return scores;
}

// The papers that can be among the first `limit`: those scoring at least the limit-th best, with a
// margin far wider than any difference in rounding between this sum and lunr's.
function contenders(papers, scores, limit) {
  if (papers.length <= limit) {
    return papers;
  }
  var ranked = papers.map(function (p) { return scores.get(p); }).sort(function (a, b) { return b - a; });
  var floor = ranked[limit - 1] - Math.abs(ranked[limit - 1]) * 1e-9 - 1e-12;
  return papers.filter(function (p) { return scores.get(p) >= floor; });
}

// The sharded search: `fetchPart(relativePath)` returns a promise of a part's parsed JSON (relative to
// index.json). Parts are fetched once and kept, decoded.
function shardedSearch(manifest, storeInfo, fetchPart) {
  var shards = Object.assign({}, manifest.shards, { bounds: frontDecoded(manifest.shards.bounds) });
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

  // A part run through `decode` once, and kept so.
  function decodedPart(path, decode) {
    var key = "decoded:" + path;
    if (!parts.has(key)) {
      var decoding = part(path).then(decode);
      parts.set(key, decoding);
      decoding.catch(function () { parts.delete(key); });
    }
    return parts.get(key);
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

  // `needs` as the terms they can reach: {exact: Set, prefixes: [...], shards: [numbers]}; patterns
  // become the exact terms of the vocabulary they match.
  function resolved(needs) {
    var reach = { exact: new Set(needs.exact), prefixes: needs.prefixes.slice().sort() };
    var patternsDone = needs.patterns.length === 0 ? Promise.resolve() : vocabularyFor(needs.patterns).then(function (tokenSet) {
      needs.patterns.forEach(function (pattern) {
        tokenSet.intersect(patternTokenSet(pattern)).toArray().forEach(function (term) { reach.exact.add(term); });
      });
    });
    return patternsDone.then(function () {
      var numbers = new Set();
      reach.exact.forEach(function (term) { numbers.add(shardOf(shards.bounds, term)); });
      reach.prefixes.forEach(function (prefix) {
        prefixShards(shards.bounds, prefix).forEach(function (n) { numbers.add(n); });
      });
      reach.shards = sortedNumbers(numbers);
      return reach;
    });
  }

  function reaches(reach, term) {
    return reach.exact.has(term) || reach.prefixes.some(function (prefix) { return term.indexOf(prefix) === 0; });
  }

  // The decoded terms of the shards `reach` names, in order, and those of them it reaches.
  function termsOf(reach) {
    return Promise.all(reach.shards.map(function (n) { return decodedPart("shards/" + n + ".json", decodeShard); }))
      .then(function (decoded) {
        var all = [].concat.apply([], decoded);
        return { all: all, reached: all.filter(function (entry) { return reaches(reach, entry.term); }) };
      });
  }

  // The length files the given terms need where they are common, as lengthOf(field, position).
  function lengthsFor(entries) {
    var needed = new Set();
    entries.forEach(function (entry) {
      entry.fields.forEach(function (field, k) {
        if (!field.lengths && !field.scores && field.positions.length) {
          needed.add(k);
        }
      });
    });
    var fields = sortedNumbers(needed);
    var files = fields.map(function (k) { return decodedPart("lengths/" + shards.fields[k] + ".json", numbersOf); });
    return Promise.all(files).then(function (columns) {
      var byField = [];
      fields.forEach(function (k, i) { byField[k] = columns[i]; });
      return function (field, position) { return byField[field][position]; };
    });
  }

  // A lunr.Index of every term `needs` can reach (and all papers' vectors if `everyDocument`): lunr
  // finds in it what it would find in the whole index, with the same numbers.
  function indexFor(needs, everyDocument) {
    return resolved(needs).then(function (reach) {
      var key = JSON.stringify([Array.from(reach.exact).sort(), reach.prefixes, everyDocument]);
      if (lastIndex.key === key) {
        return lastIndex.index;
      }
      return termsOf(reach).then(function (terms) {
        return lengthsFor(terms.reached).then(function (lengthOf) {
          var json = combinedIndexJson(shards, terms.reached, lengthOf, { everyDocument: everyDocument });
          lastIndex.key = key;
          lastIndex.index = lunr.Index.load(json);
          return lastIndex.index;
        });
      });
    });
  }

  // The terms a plain query looks up: plainNeeds, and the shorter forms of a half-typed word if the
  // first fetch shows that they are needed. Resolves to {terms (decoded, reached), view}.
  function plainTermsFetched(words) {
    function fetchFor(needs) {
      return resolved(needs).then(termsOf).then(function (terms) {
        return { reached: terms.reached, view: vocabularyView(terms.all) };
      });
    }
    return fetchFor(plainNeeds(words)).then(function (first) {
      var more = shorteningNeeds(first.view, words);
      return more ? fetchFor(more) : first;
    });
  }

  // Plain words: what rankedResults finds, ranked by lunr, but lunr only ranks the papers that can
  // be among the first `limit` that pass the filters (the scores of all are summed here first, from
  // the same field vector elements), since lunr's query takes time in proportion to the papers it
  // ranks. Resolves to {hits, total, matched} (matched: whether any paper has every word).
  function plainRanked(q, limit, passesLater) {
    var words = plainWords(q);
    return plainTermsFetched(words).then(function (fetched) {
      var terms = plainTerms(fetched.view, q);
      var query = new lunr.Query(shards.fields);
      addPlainClauses(query, terms);
      var weights = clauseWeights(query.clauses, fetched.view.tokenSet, pipeline);
      var entries = fetched.reached.filter(function (entry) { return weights.has(entry.term); });
      var matching = terms.length ? papersWithEveryWord(terms, entries) : new Set();
      if (matching.size === 0) {
        return { hits: [], total: 0, matched: false };
      }
      return Promise.all([lengthsFor(entries), passesLater]).then(function (loaded) {
        var lengthOf = loaded[0];
        var kept = sortedNumbers(matching).filter(loaded[1]);
        var scores = approximateScores(shards, entries, weights, lengthOf);
        var chosen = new Set(contenders(kept, scores, limit));
        var json = combinedIndexJson(shards, entries, lengthOf, { keep: function (p) { return chosen.has(p); } });
        var results = lunr.Index.load(json).query(function (built) { addPlainClauses(built, terms); })
          .filter(function (result) { return matchesEveryWord(terms, result); });
        return { hits: asHits(results), total: kept.length, matched: true };
      });
    });
  }

  // lunr's query language: the whole of lunr's answer, then the filters.
  function syntaxRanked(q, passesLater) {
    var query = new lunr.Query(shards.fields); // parsed as index.search parses it, errors included
    new lunr.QueryParser(q, query).parse();
    return Promise.all([indexFor(clauseNeeds(query.clauses, pipeline), query.isNegated()), passesLater])
      .then(function (loaded) {
        var hits = asHits(loaded[0].search(q)).filter(function (hit) { return loaded[1](Number(hit.ref)); });
        return { hits: hits, total: hits.length };
      });
  }

  // When no paper has every word: the typo-tolerant query, as rankedResults makes it.
  function fuzzyRanked(words, passesLater) {
    var query = new lunr.Query(shards.fields);
    addFuzzyClauses(query, words);
    return Promise.all([indexFor(clauseNeeds(query.clauses, pipeline), false), passesLater]).then(function (loaded) {
      var results = loaded[0].query(function (built) { addFuzzyClauses(built, words); });
      var hits = asHits(results).filter(function (hit) { return loaded[1](Number(hit.ref)); });
      return { hits: hits, total: hits.length, fuzzy: true };
    });
  }

  // A test for the tag and date filters, fetching only the facets the request uses.
  function filterFor(request) {
    var checks = [];
    if (request.tag) {
      var tagNumber = tagNumberOf(storeInfo, request.tag);
      checks.push(tagNumber < 0 ? Promise.resolve(function () { return false; }) : part("tags/" + tagNumber + ".json").then(function (gaps) {
        var tagged = new Set(undelta(numbersOf(gaps)));
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

  function ranked(q, limit, passesLater) {
    if (!q) {
      return passesLater.then(function (passes) {
        var hits = everyPaper(shards.count).filter(function (hit) { return passes(Number(hit.ref)); });
        return { hits: hits, total: hits.length };
      });
    }
    if (hasLunrSyntax(q)) {
      return syntaxRanked(q, passesLater);
    }
    return plainRanked(q, limit, passesLater).then(function (found) {
      var words = plainWords(q);
      return found.matched || !hasFuzzyWords(words) ? found : fuzzyRanked(words, passesLater);
    });
  }

  // One query, answered as searchPapers answers it for a single index.
  function search(request) {
    var q = (request.q || "").trim();
    var limit = limitOf(request);
    var passesLater = filterFor(request);
    return Promise.resolve()
      .then(function () { return ranked(q, limit, passesLater); })
      .then(function (found) {
        var shown = found.hits.slice(0, limit);
        return describeHits(shown).then(function (described) {
          return answer(request, found.total, shown, found.fuzzy, function (hit, n) { return described[n]; });
        });
      })
      .catch(function (error) { return failedAnswer(request, error); });
  }

  return { count: shards.count, pageSize: storeInfo.page, search: search, indexFor: indexFor };
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
  return { count: store.docs.length, pageSize: 0, search: function (request) { return searchPapers(index, store, request); } };
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
        scope.postMessage({ type: "ready", count: loaded.count, pageSize: loaded.pageSize });
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
