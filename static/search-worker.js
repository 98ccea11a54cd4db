// The search worker: loads lunr.js, the prebuilt index and the result store, and answers queries,
// so that parsing a large index or running a broad prefix search never blocks the page.
// Protocol (postMessage):
//   in:  {type: "init", lunrUrl, indexUrl, storeUrl}
//        {type: "query", id, q, typing?, tag, org, author, from, to, sort, facets?, limit}
//   out: {type: "ready", count, pageSize, facetsCost}
//        {type: "results", id, total, atMost?, fuzzy?, direct?, facets?, partial?, atLeast?, results: [result]}
//        {type: "failed", message}          (the index could not be loaded)
// A result is {ref, score, terms, title, titleMarks, path, date, tags: [{slug, label, path, marks}],
// snippet, snippetMarks, organization, authors, upvotes}; marks are [start, end) ranges to highlight.
//
// There is one query engine (`runSearch`) for both layouts of docs/search-index.md. It asks a
// source for the terms a query needs, the papers it shows and the facets it filters by: a small
// site's source has the whole lunr index and store in memory, a large site's fetches term-range
// shards and result chunks as they are needed. The engine scores papers from lunr's own field
// vector elements (prebuilt by lunr.py, or recomputed from counts and lengths with its formula and
// rounding), so both sources give the same answer to every query.
// The functions above the wiring take their data as arguments so that tests can run them under node.
"use strict";

var DEFAULT_LIMIT = 50;

// ---------------------------------------------------------------------------------------------
// Text: the twin of src/digestgen/searchtext.py. Both must make the same words of any text.

var HYPHENS = "\\-\\u2010\\u2011\\u2012\\u2013";
var COMPOUND = new RegExp("[\\p{L}\\p{N}]+(?:[" + HYPHENS + "][\\p{L}\\p{N}]+)*", "gu");
var PIECE = new RegExp("[" + HYPHENS + "]", "u");
var APOSTROPHES = /['\u2019]/g;
var CAMEL = /(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2})/;
var NUMERIC_NOISE = /^[\d.,/%+~^]*\d[\d.,/%+~^]*[.,/%+~^][\d.,/%+~^]*$/;
var LINK = /^(?:https?:\/\/|www\.)/i;
var EDGE = /^[^\p{L}\p{N}_]+|[^\p{L}\p{N}_]+$/gu;
var MIN_CAMEL_PART = 2;

function camelParts(piece) {
  var parts = piece.split(CAMEL);
  return parts.length > 1 && parts.every(function (p) { return p.length >= MIN_CAMEL_PART; }) ? parts : [piece];
}

// One compound ("pre-training", "PriorCLIP") as {joined, parts}.
function compoundWord(compound) {
  var pieces = [];
  compound.split(PIECE).forEach(function (piece) { pieces = pieces.concat(camelParts(piece)); });
  var joined = pieces.join("").toLowerCase();
  return { joined: joined, parts: pieces.length > 1 ? pieces.map(function (p) { return p.toLowerCase(); }) : [] };
}

function chunkWords(chunk) {
  var trimmed = chunk.replace(EDGE, "");
  if (!trimmed || NUMERIC_NOISE.test(trimmed) || LINK.test(trimmed)) {
    return [];
  }
  return (trimmed.replace(APOSTROPHES, "").match(COMPOUND) || []).map(compoundWord);
}

// The words of a text, in order, each {joined, parts}.
// Greek letters are also words spelt out (searchtext.GREEK): `alpha` finds α, and `α` finds alpha.
var GREEK = {
  "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "ζ": "zeta", "η": "eta",
  "θ": "theta", "ϑ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
  "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi",
  "ψ": "psi", "ω": "omega", "Γ": "gamma", "Δ": "delta", "Θ": "theta", "Λ": "lambda", "Ξ": "xi", "Π": "pi",
  "Σ": "sigma", "Φ": "phi", "Ψ": "psi", "Ω": "omega"
};
var GREEK_LETTER = new RegExp("[" + Object.keys(GREEK).join("") + "]", "g");

function spellGreek(text) {
  return text.replace(GREEK_LETTER, function (letter) { return " " + GREEK[letter] + " "; });
}

function wordsOf(text) {
  var words = [];
  spellGreek(String(text)).split(/\s+/).forEach(function (chunk) {
    if (chunk) {
      words = words.concat(chunkWords(chunk));
    }
  });
  return words;
}

// Stems are asked for often (marks, phrases): each word is stemmed once.
var stems = new Map();

function stemOf(word) {
  var stem = stems.get(word);
  if (stem === undefined) {
    stem = lunr.stemmer(new lunr.Token(word, {})).toString();
    stems.set(word, stem);
  }
  return stem;
}

function isStopWord(word) {
  return lunr.stopWordFilter(new lunr.Token(word, {})) === undefined;
}

// ---------------------------------------------------------------------------------------------
// The query language: plain words (all must be found; the one being typed may be unfinished),
// "quoted phrases", -word or -"phrase" (must not be found), title:, author: and org: (that field
// only), word* (any word starting so). A colon that names no field is just text, so a pasted title
// searches as words. A query that is an arXiv ID or an arXiv or Hugging Face paper URL names a paper.

var FIELDS_OF = { title: ["title"], author: ["author"], org: ["names"] };
var CHUNK = /(^|\s)(-|\+)?(?:(title|author|org):)?(?:"([^"]*)("?)|(\S+))/gi;
var ARXIV = /^(?:arxiv:\s*)?(?:(?:https?:\/\/)?(?:www\.)?(?:arxiv\.org\/(?:abs|pdf|html)|huggingface\.co\/papers)\/)?(\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?\/?$/i;

function arxivIdOf(q) {
  var found = ARXIV.exec(q.trim());
  return found ? found[1] : null;
}

function arxivTerm(id) {
  return "arxiv" + id.replace(/\./g, "").toLowerCase();
}

// A word as the engine looks it up: typed (its joined form), stem, stop, and whether it may be unfinished.
function queryWord(word, prefix) {
  return { typed: word.joined, parts: word.parts, stem: stemOf(word.joined), stop: isStopWord(word.joined), prefix: prefix };
}

// q as {clauses: [{words, phrase, negated, fields}]}; `typing`: the last word may be unfinished.
function parseQuery(q, typing) {
  var clauses = [];
  var found;
  CHUNK.lastIndex = 0;
  while ((found = CHUNK.exec(q)) !== null) {
    var quoted = found[4] !== undefined;
    var text = quoted ? found[4] : found[6];
    var star = !quoted && /\*$/.test(text);
    var words = wordsOf(star ? text.replace(/\*+$/, "") : text);
    if (words.length === 0) {
      continue;
    }
    clauses.push({
      words: words.map(function (word, n) { return queryWord(word, star && n === words.length - 1); }),
      phrase: quoted && words.length > 1,
      negated: found[2] === "-",
      fields: found[3] ? FIELDS_OF[found[3].toLowerCase()] : null,
      end: CHUNK.lastIndex,
      open: quoted && !found[5],
    });
  }
  var last = clauses[clauses.length - 1];
  if (typing && last && !last.negated && (!last.phrase || last.open) && last.end === q.length) {
    var word = last.words[last.words.length - 1];
    word.prefix = true;
  }
  return { clauses: clauses };
}

// Two neighbouring plain words whose joined form the index knows are one word ("pre training"
// -> "pretraining"), as the index joins "pre-training", which is also found as the two words.
// `known(stem)` says whether a term exists.
function joinNeighbours(clauses, known) {
  var out = [];
  clauses.forEach(function (clause) {
    var previous = out[out.length - 1];
    if (previous && isPlain(previous) && isPlain(clause)) {
      var a = previous.words[0];
      var b = clause.words[0];
      var joined = compoundWord(a.typed + b.typed);
      if (!a.stop && !b.stop && known(stemOf(joined.joined))) {
        var word = queryWord({ joined: joined.joined, parts: [a.typed, b.typed] }, b.prefix);
        word.split = [a, b]; // found joined, or as the two words in a row (a title may write "computer vision")
        out[out.length - 1] = Object.assign({}, clause, { words: [word], joinedFrom: [a, b] });
        return;
      }
    }
    out.push(clause);
  });
  return out;
}

function isPlain(clause) {
  return !clause.phrase && !clause.negated && !clause.fields && clause.words.length === 1 && !clause.joinedFrom;
}

// The joined forms neighbouring plain words could make, for the first fetch.
function joinCandidates(clauses) {
  var stems = [];
  for (var n = 1; n < clauses.length; n++) {
    if (isPlain(clauses[n - 1]) && isPlain(clauses[n])) {
      stems.push(stemOf(compoundWord(clauses[n - 1].words[0].typed + clauses[n].words[0].typed).joined));
    }
  }
  return stems;
}

// ---------------------------------------------------------------------------------------------
// Matching. A word is found by its stem exactly (worth most), and, if it is the word being typed,
// by any term starting with what was typed. A half-typed word can be longer than the stem of the
// word it will become ("diffusi" on the way to "diffusion", indexed as "diffus"); then its shorter
// forms (up to four letters less) stand in for it.

var EXACT_BOOST = 10;
var MIN_PREFIX = 3;
var MAX_SHORTENING = 4;
var MIN_SHORTENED = 4;

function shorterForms(word) {
  var forms = [];
  for (var k = 1; k <= MAX_SHORTENING && word.typed.length - k >= MIN_SHORTENED; k++) {
    forms.push(word.typed.slice(0, word.typed.length - k));
  }
  return forms;
}

function hasPrefix(word) {
  return word.prefix && word.typed.length >= MIN_PREFIX;
}

// The terms a query's words reach: {exact, prefixes, scored: {terms, prefixes}}. `scored` maps each
// term and prefix that a word not negated weighs to the fields it weighs it in (names; null: every
// field), so that a term only a negated word reaches, or a word's term outside its field, is not
// scored. `extraExact`: the joined forms neighbouring plain words could make (scored in every
// field), or the shorter forms of half-typed words (scored as those words are).
function needsOf(clauses, extraExact) {
  var needs = { exact: (extraExact || []).slice(), prefixes: [], scored: { terms: new Map(), prefixes: new Map() } };
  var shortened = new Set();
  clauses.forEach(function (clause) {
    clause.words.concat(clause.joinedFrom || []).forEach(function (word) {
      (word.shortened || []).forEach(function (term) { shortened.add(term); });
      if (!word.stop) {
        needs.exact.push(word.stem);
      }
      if (hasPrefix(word)) {
        needs.prefixes.push(word.typed);
      }
      if (!clause.negated && !word.stop) {
        weighIn(needs.scored.terms, [word.stem].concat(word.shortened || []), clause.fields);
        weighIn(needs.scored.prefixes, hasPrefix(word) ? [word.typed] : [], clause.fields);
      }
    });
  });
  weighIn(needs.scored.terms, (extraExact || []).filter(function (term) { return !shortened.has(term); }), null);
  return needs;
}

// Notes that `keys` are weighed in `fields` (null: every field) besides any fields noted before.
function weighIn(weighed, keys, fields) {
  keys.forEach(function (key) {
    var before = weighed.has(key) ? weighed.get(key) : [];
    weighed.set(key, before === null || !fields ? null : before.concat(fields));
  });
}

// The shorter forms a half-typed word needs, once its first lookup did not find its stem.
function shorteningNeeds(clauses, known) {
  var exact = [];
  clauses.forEach(function (clause) {
    clause.words.forEach(function (word) {
      if (word.prefix && !word.stop && word.typed.length - 1 >= MIN_SHORTENED && !known(word.stem)) {
        word.shortened = shorterForms(word);
        exact = exact.concat(word.shortened);
      }
    });
  });
  return exact;
}

// The index terms that count for a word, each with its boost: {term: boost}.
function wordTerms(word, lookup) {
  var terms = new Map();
  if (word.stop) {
    return terms;
  }
  if (lookup.has(word.stem)) {
    terms.set(word.stem, EXACT_BOOST);
  }
  if (hasPrefix(word)) {
    lookup.startingWith(word.typed).forEach(function (term) { terms.set(term, (terms.get(term) || 0) + 1); });
  }
  // Of a half-typed word's shorter forms, the longest the index has ("diffusi" -> "diffus").
  var shorter = (word.shortened || []).filter(function (term) { return lookup.has(term); });
  if (shorter.length) {
    terms.set(shorter[0], (terms.get(shorter[0]) || 0) + 1);
  }
  // Of a typo, every close word the index has: which of them comes first in a list is no reason.
  (word.close || []).forEach(function (term) {
    if (lookup.has(term)) {
      terms.set(term, (terms.get(term) || 0) + 1);
    }
  });
  return terms;
}

// A pair whose first word is this short ("pre", "multi", "fine", "self") is a word split in two, so
// its two words must come in a row; a longer one ("pretrained models", "computer vision") is two words.
var BOUND_PREFIX_LENGTH = 5;

// The papers a word is found in: by its terms, or (a joined pair of words) by both words, in a row
// if the first is short (`rowOnly`: the papers that need that checked against their text).
function papersOfWord(word, terms, lookup, fields) {
  var papers = papersWith(terms, lookup, fields);
  var rowOnly = new Set();
  if (word.split) {
    var both = intersect(papersWith(wordTerms(word.split[0], lookup), lookup, fields),
      papersWith(wordTerms(word.split[1], lookup), lookup, fields));
    var inRow = word.split[0].typed.length <= BOUND_PREFIX_LENGTH;
    both.forEach(function (p) {
      if (!papers.has(p)) {
        if (inRow) {
          rowOnly.add(p);
        }
        papers.add(p);
      }
    });
  }
  return { papers: papers, rowOnly: rowOnly };
}

// The papers that have any of `terms` in any of `fields` (numbers; null: every field).
function papersWith(terms, lookup, fields) {
  var papers = new Set();
  terms.forEach(function (_boost, term) {
    lookup.get(term).fields.forEach(function (field, k) {
      if (!fields || fields.indexOf(k) !== -1) {
        field.positions.forEach(function (p) { papers.add(p); });
      }
    });
  });
  return papers;
}

function intersect(a, b) {
  if (a === null) {
    return b;
  }
  var out = new Set();
  a.forEach(function (p) {
    if (b.has(p)) {
      out.add(p);
    }
  });
  return out;
}

function fieldNumbers(names, allFields) {
  return names ? names.map(function (name) { return allFields.indexOf(name); }) : null;
}

// The query planned against the terms looked up: which papers have every word and none of the
// negated ones, and the query vector per field ({field: Map(term -> boost)}) that scores them.
function matchPlan(clauses, lookup, allFields) {
  var required = null;
  var excluded = new Set();
  var weights = allFields.map(function () { return new Map(); });
  var anyWord = false;
  var rows = [];
  clauses.forEach(function (clause) {
    var fields = fieldNumbers(clause.fields, allFields);
    clause.words.forEach(function (word) {
      if (word.stop) {
        return;
      }
      var terms = wordTerms(word, lookup);
      var found = papersOfWord(word, terms, lookup, fields);
      var papers = found.papers;
      if (found.rowOnly.size) {
        rows.push({ words: word.split, phrase: true, negated: false, fields: clause.fields, only: found.rowOnly });
      }
      (word.split || []).forEach(function (part) {
        wordTerms(part, lookup).forEach(function (boost, term) { terms.set(term, (terms.get(term) || 0) + boost); });
      });
      if (clause.negated) {
        if (!clause.phrase) {
          papers.forEach(function (p) { excluded.add(p); });
        }
        return;
      }
      anyWord = true;
      required = intersect(required, papers);
      terms.forEach(function (boost, term) {
        allFields.forEach(function (_name, k) {
          if (!fields || fields.indexOf(k) !== -1) {
            weights[k].set(term, (weights[k].get(term) || 0) + boost);
          }
        });
      });
    });
  });
  return { required: anyWord ? required : null, excluded: excluded, weights: weights, rows: rows };
}

// The (entry, field) pairs a plan's query vector weighs: the only field vector elements it reads.
function weighedFields(plan, lookup) {
  var pairs = [];
  plan.weights.forEach(function (weights, k) {
    weights.forEach(function (_w, term) { pairs.push({ entry: lookup.get(term), field: k }); });
  });
  return pairs;
}

// Each paper's score, as lunr scores a query: per field, the query vector's dot product with the
// paper's field vector over the query vector's length, summed over fields. `refs` are the papers to
// score, of `count`; the answer's get(ref) is a score. Kept in arrays by ref, not a Map: a common
// word reaches most papers, and the sums are added in the same order either way.
function scoresOf(plan, lookup, refs, count) {
  var wanted = new Uint8Array(count);
  refs.forEach(function (ref) { wanted[ref] = 1; });
  var values = new Float64Array(count);
  plan.weights.forEach(function (weights, k) {
    var magnitude = 0;
    weights.forEach(function (w) { magnitude += w * w; });
    magnitude = Math.sqrt(magnitude);
    weights.forEach(function (w, term) {
      var field = lookup.get(term).fields[k];
      var positions = field.positions;
      var elements = field.scores;
      var share = w / magnitude;
      for (var i = 0; i < positions.length; i++) {
        var p = positions[i];
        if (wanted[p] === 1) {
          values[p] += share * elements[i];
        }
      }
    });
  });
  return scoreTable(values);
}

function scoreTable(values) {
  return { values: values, get: function (ref) { return values ? values[ref] : 0; } };
}

// The terms of the plan, for highlighting: every term that counted for a word.
function markedTerms(plan) {
  var terms = new Set();
  plan.weights.forEach(function (weights) { weights.forEach(function (_w, term) { terms.add(term); }); });
  return terms;
}

// ---------------------------------------------------------------------------------------------
// The typo-tolerant fallback, when no paper has every word: each word may then be found within one
// edit (two for long words). Not for names or numbers, where a changed letter is another name.

var FUZZY_MIN_LENGTH = 4;
var FUZZY_TWO_EDITS_LENGTH = 9;

function looksLikeNamesOrNumbers(q) {
  var words = q.trim().split(/\s+/);
  var capitalised = words.every(function (w) { return /^[A-Z]/.test(w); });
  return /\d/.test(q) || (words.length > 1 && capitalised);
}

function fuzzyPatterns(clauses) {
  var patterns = [];
  clauses.forEach(function (clause) {
    clause.words.forEach(function (word) {
      if (!word.stop && !clause.negated && word.typed.length >= FUZZY_MIN_LENGTH) {
        patterns.push({ word: word, term: word.stem, editDistance: word.typed.length >= FUZZY_TWO_EDITS_LENGTH ? 2 : 1 });
      }
    });
  });
  return patterns;
}

function canBeFuzzy(q, parsed) {
  var plain = parsed.clauses.every(function (clause) { return !clause.phrase && !clause.fields; });
  return plain && !looksLikeNamesOrNumbers(q) && fuzzyPatterns(parsed.clauses).length > 0;
}

// ---------------------------------------------------------------------------------------------
// Showing a result: marks on the words whose terms matched, and a snippet around the first match.

var SNIPPET_CHARS = 240;
var SNIPPET_LEAD = 60;
var MARKED_WORD = new RegExp("[\\p{L}\\p{N}'\\u2019]+(?:[" + HYPHENS + "][\\p{L}\\p{N}'\\u2019]+)*", "gu");

function wordMatches(compound, terms) {
  var word = compoundWord(compound.replace(APOSTROPHES, ""));
  if (terms.has(stemOf(word.joined))) {
    return true;
  }
  return word.parts.some(function (part) { return terms.has(stemOf(part)); });
}

// [start, end) ranges of the words of `text` that one of `terms` matched; `untilFirst(range)`, if
// given, is told of the first and answers where the ranges may stop (no word starting there is read).
function markRanges(text, terms, untilFirst) {
  var ranges = [];
  if (terms.size === 0) {
    return ranges;
  }
  var stop = Infinity;
  var found;
  MARKED_WORD.lastIndex = 0;
  while ((found = MARKED_WORD.exec(text)) !== null && found.index < stop) {
    if (wordMatches(found[0], terms)) {
      ranges.push([found.index, found.index + found[0].length]);
      if (untilFirst && ranges.length === 1) {
        stop = untilFirst(ranges[0]);
      }
    }
  }
  return ranges;
}

// Where the snippet of `text` starts and ends, given its first marked word (or none).
function snippetBounds(text, first) {
  var start = 0;
  if (first && first[1] > SNIPPET_CHARS - 20) {
    start = text.lastIndexOf(" ", Math.max(0, first[0] - SNIPPET_LEAD)) + 1;
  }
  var end = start + SNIPPET_CHARS;
  if (end < text.length) {
    var space = text.lastIndexOf(" ", end);
    end = space > start ? space : end;
  } else {
    end = text.length;
  }
  return { start: start, end: end };
}

// A cut of `text` around its first marked word, at word boundaries: {text, marks}. Words after the
// cut are not read (an abstract is several snippets long): none of them could be marked in it.
function snippetOf(text, terms) {
  var ranges = markRanges(text, terms, function (first) { return snippetBounds(text, first).end; });
  var bounds = snippetBounds(text, ranges[0]);
  var start = bounds.start;
  var end = bounds.end;
  var lead = start > 0 ? "\u2026" : "";
  var cut = lead + text.slice(start, end).trim() + (end < text.length ? "\u2026" : "");
  var shift = lead.length - start - (text.slice(start, end).length - text.slice(start, end).trimStart().length);
  var marks = ranges
    .map(function (r) { return [r[0] + shift, r[1] + shift]; })
    .filter(function (r) { return r[0] >= lead.length && r[1] <= cut.length - (end < text.length ? 1 : 0); });
  return { text: cut, marks: marks };
}

function describeDoc(hit, doc, tagList, terms) {
  var snippet = snippetOf(doc[4], terms);
  return {
    ref: hit.ref,
    score: hit.score,
    terms: Array.from(terms).sort(),
    title: doc[0],
    titleMarks: markRanges(doc[0], terms),
    path: doc[1],
    date: doc[2],
    tags: doc[3].map(function (n) {
      var tag = tagList[n];
      return { slug: tag[0], label: tag[1], path: tag[2], marks: markRanges(tag[1], terms) };
    }),
    snippet: snippet.text,
    snippetMarks: snippet.marks,
    organization: doc[5],
    authors: doc[6],
    upvotes: doc[7],
  };
}

// ---------------------------------------------------------------------------------------------
// Quoted phrases are checked against the stored text: the phrase's words, stemmed, in a row.

function phraseTexts(doc, fields) {
  if (!fields) {
    return [doc[0], doc[4]];
  }
  if (fields[0] === "title") {
    return [doc[0]];
  }
  return fields[0] === "author" ? doc[6] : [doc[5]];
}

// Whether the phrase's words come in a row in one of the texts; a last word still being typed
// only has to start the word found there.
function hasPhrase(doc, clause) {
  var phrase = clause.words;
  return phraseTexts(doc, clause.fields).some(function (text) {
    var words = wordsOf(text);
    for (var i = 0; i + phrase.length <= words.length; i++) {
      if (phrase.every(function (word, j) { return phraseWordAt(word, words[i + j]); })) {
        return true;
      }
    }
    return false;
  });
}

function phraseWordAt(word, found) {
  return stemOf(found.joined) === word.stem || (word.prefix && found.joined.indexOf(word.typed) === 0);
}

function passesPhrases(ref, doc, phrases) {
  return phrases.every(function (clause) {
    return (clause.only && !clause.only.has(ref)) || hasPhrase(doc, clause) !== clause.negated;
  });
}

// Whether a ref needs its text checked at all.
function needsCheck(ref, phrases) {
  return phrases.some(function (clause) { return !clause.only || clause.only.has(ref); });
}

// ---------------------------------------------------------------------------------------------
// The engine, for a source of either layout (singleSource, shardedSource):
//   source.count, source.fields, source.tags ([slug, label, path] by number), source.fetches
//     (whether its parts come over the network: only then is an answer handed on early)
//   source.lookup(needs) -> promise of a lookup: has(term), get(term) -> entry, startingWith(prefix)
//     (an entry: {term, fields: [{positions, scores}]}, every term of `needs` it has; a field's
//     scores may wait for source.score)
//   source.score(pairs) -> promise, once the scores of every pair's {entry, field} are there
//   source.vocabulary(patterns) -> promise of sorted terms, every term the patterns match among them
//   source.docs(refs, progress?) -> promise of a Map ref -> store row; progress(rows, n), when given,
//     is called while rows are still to come, with the rows of refs[0..n) once they are all in
//   source.facets() -> promise of {orgs, authors, org: [n+1 | 0], people: [[n]], upvotes: [n]}
//   source.tagged(n) -> promise of a Set of refs; source.dates() -> promise of dates by ref

var PHRASE_CHECK_PAGES = 1; // phrase queries check at least this many pages of candidates (when there are)
var FACETS_CHECK_PAGES = 5; // and this many for counts by organization and author
// The best this many by score are read: those whose text has the query's words in a row come first.
var IN_A_ROW_WINDOW = 10;
// A sharded site's rows come a store file each: once this many of a page's first rows are in and
// final (more than a screenful: three start in view at 1440x900), they are handed on while the rest load.
var EARLY_ROWS = 5;

function limitOf(request) {
  return request.limit > 0 ? request.limit : DEFAULT_LIMIT;
}

function tagNumberOf(tags, slug) {
  for (var n = 0; n < tags.length; n++) {
    if (tags[n][0] === slug) {
      return n;
    }
  }
  return -1; // an unknown tag matches nothing
}

function passesDates(date, request) {
  if (request.from && (!date || date < request.from)) {
    return false;
  }
  return !(request.to && (!date || date > request.to));
}

function needsFacets(request) {
  return Boolean(request.org || request.author || request.facets || request.sort === "upvotes");
}

// A promise of a test (ref -> boolean) for the request's filters, fetching only what they use.
function filterFor(source, request, facets) {
  var checks = [];
  if (request.tag) {
    var number = tagNumberOf(source.tags, request.tag);
    checks.push(number < 0 ? function () { return false; } : source.tagged(number).then(function (tagged) {
      return function (ref) { return tagged.has(ref); };
    }));
  }
  if (request.from || request.to) {
    checks.push(source.dates().then(function (dates) {
      return function (ref) { return passesDates(dates[ref], request); };
    }));
  }
  if (request.org) {
    var org = facets.orgs.indexOf(request.org) + 1;
    checks.push(function (ref) { return org > 0 && facets.org[ref] === org; });
  }
  if (request.author) {
    var author = facets.authors.indexOf(request.author);
    checks.push(function (ref) { return author >= 0 && facets.people[ref].indexOf(author) !== -1; });
  }
  return Promise.all(checks).then(function (tests) {
    return function (ref) { return tests.every(function (test) { return test(ref); }); };
  });
}

// Organization and author counts over the matched papers, most papers first (then by name).
function facetCounts(facets, refs) {
  var orgs = new Map();
  var authors = new Map();
  refs.forEach(function (ref) {
    if (facets.org[ref]) {
      orgs.set(facets.org[ref] - 1, (orgs.get(facets.org[ref] - 1) || 0) + 1);
    }
    facets.people[ref].forEach(function (n) { authors.set(n, (authors.get(n) || 0) + 1); });
  });
  function ranked(counts, names) {
    return Array.from(counts).map(function (pair) { return { name: names[pair[0]], count: pair[1] }; })
      .sort(function (a, b) { return b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0); });
  }
  return { organizations: ranked(orgs, facets.orgs), authors: ranked(authors, facets.authors) };
}

// The matched refs in the order the request asks for: relevance (score, then newest), newest
// (references are numbered newest first, undated last) or most upvoted (then relevance).
// `needed`: only the first this many need be in order (the rest may follow in any order).
function ordered(refs, scores, request, facets, needed) {
  var values = scores.values || new Float64Array(0);
  function byScore(a, b) {
    return (values[b] || 0) - (values[a] || 0) || a - b;
  }
  if (request.sort === "newest") {
    return refs.sort(function (a, b) { return a - b; });
  }
  if (request.sort === "upvotes") {
    return refs.sort(function (a, b) { return facets.upvotes[b] - facets.upvotes[a] || byScore(a, b); });
  }
  if (needed * PARTIAL_ORDER_RATIO < refs.length) {
    return bestFirst(refs, values, needed, byScore);
  }
  return refs.sort(byScore);
}

// A common word matches most papers, and a page shows a few: when only the first `needed` of many
// refs must be in order, those scoring at least the needed-th best score are sorted (ties at it
// included, so they are the very first refs of the full order) and the rest follow unsorted.
var PARTIAL_ORDER_RATIO = 8;

function bestFirst(refs, values, needed, byScore) {
  var sortedScores = new Float64Array(refs.length);
  refs.forEach(function (ref, i) { sortedScores[i] = values[ref] || 0; });
  sortedScores.sort();
  var least = sortedScores[refs.length - needed];
  var best = [];
  var rest = [];
  refs.forEach(function (ref) { ((values[ref] || 0) >= least ? best : rest).push(ref); });
  return best.sort(byScore).concat(rest);
}

function everyRef(count) {
  var refs = [];
  for (var n = 0; n < count; n++) {
    refs.push(n);
  }
  return refs;
}

// The matched refs, their scores and the terms to mark, for a parsed query: {refs, scores, terms}.
function matchQuery(source, parsed, fuzzyAllowed) {
  var joins = joinCandidates(parsed.clauses);
  return source.lookup(needsOf(parsed.clauses, joins)).then(function (first) {
    var clauses = joinNeighbours(parsed.clauses, function (term) { return first.has(term); });
    var shorter = shorteningNeeds(clauses, function (t) { return first.has(t); });
    var looked = shorter.length ? source.lookup(needsOf(clauses, shorter)) : Promise.resolve(first);
    return looked.then(function (lookup) {
      var plan = matchPlan(clauses, lookup, source.fields);
      var refs = plan.required === null ? everyRef(source.count) : Array.from(plan.required);
      refs = refs.filter(function (ref) { return !plan.excluded.has(ref); });
      var phrases = clauses.filter(function (clause) { return clause.phrase; }).concat(plan.rows);
      if (refs.length === 0 && fuzzyAllowed) {
        return fuzzyMatch(source, clauses);
      }
      return source.score(weighedFields(plan, lookup)).then(function () {
        return { refs: refs, scores: scoresOf(plan, lookup, refs, source.count), terms: markedTerms(plan), phrases: phrases, row: plainRow(clauses) };
      });
    });
  });
}

// The plain words of a query in order (stop words too), as one phrase; null for fewer than two.
function plainRow(clauses) {
  var words = [];
  clauses.forEach(function (clause) {
    if (!clause.negated && !clause.fields && !clause.phrase) {
      (clause.joinedFrom || clause.words).forEach(function (word) { words.push(word); });
    }
  });
  return words.length > 1 ? { words: words, fields: null } : null;
}

// `test(ref, row)`, read once for each ref: the rows in so far are looked at again as each further
// store file comes, and a text check costs a third of a millisecond a paper.
function readOnce(test) {
  var known = new Map();
  return function (ref, row) {
    if (!known.has(ref)) {
      known.set(ref, test(ref, row));
    }
    return known.get(ref);
  };
}

// Of the best IN_A_ROW_WINDOW refs, those whose title or abstract has the query's words in a row
// come first (a phrase nobody quoted is still what most multi-word queries mean); the rest keep
// their order.
// `firstRows(refs, rows)`, when given, is handed the first refs of that order while the window's other
// rows load: those of the rows in so far (a prefix of the window) that have the words in a row.
function inARowFirst(source, refs, row, firstRows) {
  if (!row || refs.length < 2) {
    return Promise.resolve(refs);
  }
  var window = refs.slice(0, IN_A_ROW_WINDOW);
  var hasRow = readOnce(function (ref, doc) { return hasPhrase(doc, row); });
  var progress = firstRows ? function (rows, n) {
    firstRows(window.slice(0, n).filter(function (ref) { return hasRow(ref, rows.get(ref)); }), rows);
  } : undefined;
  return source.docs(window, progress).then(function (docs) {
    var first = window.filter(function (ref) { return hasRow(ref, docs.get(ref)); });
    var rest = window.filter(function (ref) { return !hasRow(ref, docs.get(ref)); });
    return first.concat(rest, refs.slice(IN_A_ROW_WINDOW));
  });
}

// The words of a sorted list within `editDistance` of `term`, as lunr counts edits: each word is run
// through lunr's own fuzzy TokenSet, the walk TokenSet.intersect makes, and a prefix shared with the
// word before is walked once. Making a TokenSet of the words themselves, to intersect, cost most of a
// cold fuzzy query's time (70 ms for the 50,000 words of five letters or so at 50,000 papers).
function fuzzyWords(words, term, editDistance) {
  var reached = [[lunr.TokenSet.fromFuzzyString(term, editDistance)]]; // nodes after d characters
  var previous = "";
  var found = [];
  words.forEach(function (word) {
    if (word === previous) {
      return; // a word listed twice is one word of lunr's TokenSet; nor does lunr match the empty word
    }
    var d = Math.min(sharedPrefixLength(previous, word), reached.length - 1);
    reached.length = d + 1;
    for (; d < word.length && reached[d].length; d++) {
      reached.push(fuzzyStep(reached[d], word.charAt(d)));
    }
    if (reached.length === word.length + 1 && reached[word.length].some(function (node) { return node.final; })) {
      found.push(word);
    }
    previous = word;
  });
  return found;
}

function sharedPrefixLength(a, b) {
  var n = 0;
  while (n < a.length && n < b.length && a.charCodeAt(n) === b.charCodeAt(n)) {
    n++;
  }
  return n;
}

// The nodes one character on from `nodes`: by that character's edge or by the wildcard.
function fuzzyStep(nodes, char) {
  var next = [];
  nodes.forEach(function (node) {
    [node.edges[char], node.edges["*"]].forEach(function (to) {
      if (to && next.indexOf(to) === -1) {
        next.push(to);
      }
    });
  });
  return next;
}

function fuzzyMatch(source, clauses) {
  var patterns = fuzzyPatterns(clauses);
  return source.vocabulary(patterns).then(function (words) {
    var found = new Map();
    patterns.forEach(function (pattern) {
      found.set(pattern, fuzzyWords(words, pattern.term, pattern.editDistance));
    });
    var exact = [];
    found.forEach(function (close) { exact = exact.concat(close); });
    // The words left out stay left out (`trakcing -learning`): their terms are looked up too.
    var leftOut = clauses.filter(function (clause) { return clause.negated; });
    var needs = needsOf(leftOut);
    needs.exact = needs.exact.concat(exact);
    weighIn(needs.scored.terms, exact, null);
    return source.lookup(needs).then(function (lookup) {
      var fuzzyClauses = patterns.map(function (pattern) {
        return { words: [{ typed: pattern.word.typed, stem: pattern.word.stem, stop: false, prefix: false, close: found.get(pattern) }], fields: null };
      });
      var plan = matchPlan(fuzzyClauses.concat(leftOut), lookup, source.fields);
      var refs = plan.required === null ? [] : Array.from(plan.required).filter(function (ref) { return !plan.excluded.has(ref); });
      return source.score(weighedFields(plan, lookup)).then(function () {
        return { refs: refs, scores: scoresOf(plan, lookup, refs, source.count), terms: markedTerms(plan), phrases: [], fuzzy: true };
      });
    });
  });
}

// The first `limit` refs that have the query's phrases, checking candidates a page at a time until
// a page of them passed (a page's store chunks are fetched together; every further page is another
// round of fetches): {verified, complete, unchecked} (verified: every checked ref that passed).
// `pages`: at least this many pages are checked, when there are that many (facet counts cover
// every verified ref, so a request for them checks more). `early(checked)` is called, when given,
// before each further round with what has passed so far, if more has than it was given; its promise and that round
// are waited for together: showing what passed may need rows no check fetched (a joined word's papers
// pass unchecked), and those come in the round's fetches, not in a round of their own before it.
// Within a round, once EARLY_ROWS have passed of the rows in so far, `early` is also called with those.
function checkPhrases(source, refs, phrases, limit, pages, early) {
  if (phrases.length === 0) {
    return Promise.resolve({ verified: refs, complete: true });
  }
  var verified = [];
  var at = 0;
  var handedOn = 0; // how many passed rows `early` was last given: it is given more, or nothing
  var passes = readOnce(function (ref, doc) { return passesPhrases(ref, doc, phrases); });
  var pageSize = Math.max(limit, 20);
  var most = pageSize * pages;
  function sofar() {
    return { verified: verified.slice(), complete: at >= refs.length, unchecked: refs.length - at };
  }
  function handOn(checked) {
    handedOn = checked.verified.length;
    return early(checked);
  }
  function next() {
    if (at >= refs.length || (verified.length >= limit && at >= most)) {
      return Promise.resolve(sofar());
    }
    var shown = at > 0 && early && verified.length > handedOn ? handOn(sofar()) : null;
    var batch = refs.slice(at, at + Math.max(pageSize, most - at));
    at += batch.length;
    // A ref passing unchecked this close to the top is shown: its row comes with the checked ones.
    var fetched = batch.filter(function (ref, i) { return needsCheck(ref, phrases) || (early && verified.length + i < limit); });
    var handed = false; // within this round: once
    var progress = early ? function (rows, n) {
      if (handed) {
        return;
      }
      var passed = passedSoFar(verified, batch, fetched.slice(0, n), rows, passes);
      if (passed.length >= EARLY_ROWS && passed.length > handedOn) {
        handed = true;
        // Only shown: if it fails (a newer query ended this one), the round's own fetches say so.
        Promise.resolve(handOn({ verified: passed, complete: false, unchecked: refs.length - passed.length }))
          .catch(function () {});
      }
    } : undefined;
    return Promise.all([source.docs(fetched, progress), shown]).then(function (loaded) {
      var docs = loaded[0];
      batch.forEach(function (ref) {
        if (!docs.has(ref) || passes(ref, docs.get(ref))) {
          verified.push(ref);
        }
      });
      return next();
    });
  }
  return next();
}

// What has passed of `batch` (after `verified`, from earlier rounds) while only the rows of `inSoFar`
// are in: the batch is read in order up to the first ref whose row it needs and has not.
// `passes(ref, row)`: whether the row has the phrases.
function passedSoFar(verified, batch, inSoFar, rows, passes) {
  var passed = verified.slice();
  var arrived = new Set(inSoFar);
  for (var i = 0; i < batch.length; i++) {
    var ref = batch[i];
    if (!arrived.has(ref)) {
      break;
    }
    if (passes(ref, rows.get(ref))) {
      passed.push(ref);
    }
  }
  return passed;
}

function directAnswer(source, request, id) {
  var term = stemOf(arxivTerm(id));
  return source.lookup({ exact: [term], prefixes: [] }).then(function (lookup) {
    var names = source.fields.indexOf("names");
    var refs = lookup.has(term) ? lookup.get(term).fields[names].positions.slice(0, 1) : [];
    return source.docs(refs).then(function (docs) {
      var results = refs.map(function (ref) { return describeDoc({ ref: String(ref), score: 0 }, docs.get(ref), source.tags, new Set()); });
      return { type: "results", id: request.id, total: results.length, results: results, direct: id };
    });
  });
}

// One query, answered: the engine every layout shares. `early(answer)`, when given, is handed the
// results found so far while a phrase query goes on checking candidates (each further page of them
// is another round of fetches): the page shows those, and the answer's results start with them.
// Nothing is handed on once the answer is made: the rows asked for go on coming after a failure.
function runSearch(source, request, early) {
  var answered = false;
  var handOnEarly = early ? function (answer) {
    if (!answered) {
      early(answer);
    }
  } : null;
  return searched(source, request, handOnEarly).then(function (answer) {
    answered = true;
    return answer;
  });
}

function searched(source, request, early) {
  var q = (request.q || "").trim();
  var limit = limitOf(request);
  var id = q ? arxivIdOf(q) : null;
  if (id) {
    return directAnswer(source, request, id);
  }
  var parsed = parseQuery(q, request.typing !== false);
  var fuzzyAllowed = parsed.clauses.length > 0 && canBeFuzzy(q, parsed);
  var matched = parsed.clauses.length
    ? matchQuery(source, parsed, fuzzyAllowed)
    : Promise.resolve({ refs: everyRef(source.count), scores: scoreTable(null), terms: new Set(), phrases: [] });
  var facetsLoaded = needsFacets(request) ? source.facets() : Promise.resolve(null);
  return Promise.all([matched, facetsLoaded]).then(function (loaded) {
    var match = loaded[0];
    var facets = loaded[1];
    return filterFor(source, request, facets).then(function (passes) {
      // Without phrases to check, only what is shown (and reordered by inARowFirst) needs its order.
      var needed = match.phrases.length ? Infinity : Math.max(limit, IN_A_ROW_WINDOW);
      var sorted = ordered(match.refs.filter(passes), match.scores, request, facets, needed);
      var byRelevance = !request.sort || request.sort === "relevance";
      // Counts by organization and author cover every verified paper: an early answer has none.
      var handsOn = early && source.fetches && !request.facets;
      var shownEarly = handsOn ? function (checked) {
        return answerOf(source, request, match, null, checked).then(function (answer) {
          answer.partial = true;
          answer.atLeast = true; // at least this many: the rest are being checked
          answer.total = checked.verified.length;
          delete answer.atMost;
          early(answer);
        });
      } : null;
      // Without phrases to check, the total is known and only the page's rows are still to come.
      var rowsEarly = handsOn && !match.phrases.length ? firstRowsOnce(source, request, match, sorted.length, early) : null;
      return (byRelevance ? inARowFirst(source, sorted, match.row, rowsEarly) : Promise.resolve(sorted)).then(function (refs) {
        return checkPhrases(source, refs, match.phrases, limit, request.facets ? FACETS_CHECK_PAGES : PHRASE_CHECK_PAGES, shownEarly);
      }).then(function (checked) {
        return answerOf(source, request, match, facets, checked, rowsEarly);
      });
    });
  }).catch(function (error) {
    return { type: "results", id: request.id, total: 0, results: [], error: "Search failed: " + errorText(error) };
  });
}

// The results message for what checkPhrases verified (its stored rows fetched already, or now).
// `firstRows(refs, rows)`, when given, is handed the first rows shown while the others load.
function answerOf(source, request, match, facets, checked, firstRows) {
  var shown = checked.verified.slice(0, limitOf(request));
  var progress = firstRows ? function (rows, n) { firstRows(shown.slice(0, n), rows); } : undefined;
  return source.docs(shown, progress).then(function (docs) {
    var done = {
      type: "results",
      id: request.id,
      total: checked.verified.length + (checked.complete ? 0 : checked.unchecked),
      results: describedRows(source, match, shown, docs),
    };
    if (!checked.complete) {
      done.atMost = true;
    }
    if (match.fuzzy) {
      done.fuzzy = true;
    }
    if (facets && request.facets) {
      done.facets = facetCounts(facets, checked.verified);
    }
    return done;
  });
}

function describedRows(source, match, refs, docs) {
  return refs.map(function (ref) {
    return describeDoc({ ref: String(ref), score: match.scores.get(ref) || 0 }, docs.get(ref), source.tags, match.terms);
  });
}

// A function that hands on, once, the first rows of a page (in their final order) when there are
// EARLY_ROWS of them: an answer of `total` papers whose other rows follow.
function firstRowsOnce(source, request, match, total, early) {
  var handed = false;
  return function (refs, docs) {
    var shown = refs.slice(0, limitOf(request));
    if (handed || shown.length < EARLY_ROWS) {
      return;
    }
    handed = true;
    var answer = { type: "results", id: request.id, total: total, partial: true, results: describedRows(source, match, shown, docs) };
    if (match.fuzzy) {
      answer.fuzzy = true;
    }
    early(answer);
  };
}

function errorText(error) {
  return String(error && error.message ? error.message : error);
}

// ---------------------------------------------------------------------------------------------
// Lookups over sorted entries (both sources): exact terms and prefixes by binary search.

function firstAtLeast(entries, term) {
  return firstIndexAtLeast(entries.length, function (i) { return entries[i].term; }, term);
}

function firstTermAtLeast(terms, term) {
  return firstIndexAtLeast(terms.length, function (i) { return terms[i]; }, term);
}

// The first of `count` sorted items (the i-th's term is termAt(i)) whose term is not below `term`.
function firstIndexAtLeast(count, termAt, term) {
  var low = 0;
  var high = count;
  while (low < high) {
    var middle = (low + high) >> 1;
    if (termAt(middle) < term) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

// A lookup over entries sorted by term (each may be asked for by name or by prefix).
function sortedLookup(entries) {
  var byTerm = new Map();
  entries.forEach(function (entry) { byTerm.set(entry.term, entry); });
  return {
    has: function (term) { return byTerm.has(term); },
    get: function (term) { return byTerm.get(term); },
    startingWith: function (prefix) {
      var out = [];
      for (var i = firstAtLeast(entries, prefix); i < entries.length && entries[i].term.indexOf(prefix) === 0; i++) {
        out.push(entries[i].term);
      }
      return out;
    },
  };
}

// The entries `needs` reaches, of entries sorted by term.
function reachedEntries(entries, needs) {
  var reached = new Map();
  needs.exact.forEach(function (term) {
    var i = firstAtLeast(entries, term);
    if (i < entries.length && entries[i].term === term) {
      reached.set(term, entries[i]);
    }
  });
  needs.prefixes.forEach(function (prefix) {
    for (var i = firstAtLeast(entries, prefix); i < entries.length && entries[i].term.indexOf(prefix) === 0; i++) {
      reached.set(entries[i].term, entries[i]);
    }
  });
  return Array.from(reached.values()).sort(function (a, b) { return a.term < b.term ? -1 : a.term > b.term ? 1 : 0; });
}

// ---------------------------------------------------------------------------------------------
// The single layout: index.json is one serialized lunr index, store.json has every result.

function facetsOfDocs(docs) {
  var orgs = Array.from(new Set(docs.map(function (d) { return d[5]; }).filter(Boolean))).sort();
  var authors = Array.from(new Set([].concat.apply([], docs.map(function (d) { return d[6]; })))).sort();
  var orgNumber = new Map(orgs.map(function (name, n) { return [name, n + 1]; }));
  var authorNumber = new Map(authors.map(function (name, n) { return [name, n]; }));
  return {
    orgs: orgs,
    authors: authors,
    org: docs.map(function (d) { return d[5] ? orgNumber.get(d[5]) : 0; }),
    people: docs.map(function (d) { return d[6].map(function (name) { return authorNumber.get(name); }); }),
    upvotes: docs.map(function (d) { return Math.max(0, d[7]); }),
  };
}

// Every term of a lunr index as an entry: per field the papers that have it and lunr's element there.
function entriesOfIndex(indexData) {
  var fields = indexData.fields;
  var elements = new Map(); // "field/ref" -> Map(termIndex -> score)
  indexData.fieldVectors.forEach(function (pair) {
    var vector = new Map();
    for (var i = 0; i < pair[1].length; i += 2) {
      vector.set(pair[1][i], pair[1][i + 1]);
    }
    elements.set(pair[0], vector);
  });
  return indexData.invertedIndex.map(function (row) {
    var posting = row[1];
    // (sorted below as JavaScript compares strings, which the lookups rely on)
    return {
      term: row[0],
      fields: fields.map(function (name) {
        var positions = Object.keys(posting[name]).map(Number).sort(function (a, b) { return a - b; });
        return {
          positions: positions,
          scores: positions.map(function (p) { return elements.get(name + "/" + p).get(posting._index); }),
        };
      }),
    };
  }).sort(function (a, b) { return a.term < b.term ? -1 : a.term > b.term ? 1 : 0; });
}

function singleSource(indexData, store) {
  var entries = entriesOfIndex(indexData);
  var terms = null;
  var facets = null;
  return {
    count: store.docs.length,
    pageSize: 0,
    fetches: false, // its parts are all in memory: a further round of phrase checks costs no wait
    fields: indexData.fields,
    tags: store.tags,
    lookup: function (needs) { return Promise.resolve(sortedLookup(reachedEntries(entries, needs))); },
    score: function () { return Promise.resolve(); }, // the single index holds every score
    vocabulary: function () {
      terms = terms || entries.map(function (e) { return e.term; });
      return Promise.resolve(terms);
    },
    docs: function (refs) {
      return Promise.resolve(new Map(refs.map(function (ref) { return [ref, store.docs[ref]]; })));
    },
    facets: function () {
      facets = facets || facetsOfDocs(store.docs);
      return Promise.resolve(facets);
    },
    tagged: function (n) {
      return Promise.resolve(new Set(everyRef(store.docs.length).filter(function (ref) { return store.docs[ref][3].indexOf(n) !== -1; })));
    },
    dates: function () { return Promise.resolve(store.docs.map(function (d) { return d[2]; })); },
  };
}

// ---------------------------------------------------------------------------------------------
// The sharded layout. A shard holds a contiguous range of the sorted vocabulary (manifest.bounds[i]
// is its first term); for each term its number and, per field, the documents that have it (as gaps)
// and how often. Field vector elements are recomputed from those counts and the field lengths with
// lunr.py's own formula and rounding, so they are the very numbers the single index holds.

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

// Term lengths (in UTF-16 code units, as lunr counts edits) a fuzzy pattern can match.
function patternLengths(pattern, longest) {
  var lengths = [];
  var low = pattern.term.length - pattern.editDistance;
  var high = pattern.term.length + pattern.editDistance;
  for (var n = Math.max(1, low); n <= Math.min(high, longest); n++) {
    lengths.push(n);
  }
  if (high > longest && lengths.indexOf(longest) === -1) {
    lengths.push(longest); // the last file holds every longer term
  }
  return lengths;
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

// Each character's digit value (0-31), plus 32 if it ends a number; -1 for any other character (as
// indexOf gave). A table, because decoding is most of the time a broad query spends on its shards.
var DIGIT_VALUES = (function () {
  var values = new Int8Array(128).fill(-1);
  for (var d = 0; d < 32; d++) {
    values[CONTINUED_DIGITS.charCodeAt(d)] = d;
    values[LAST_DIGITS.charCodeAt(d)] = d + 32;
  }
  return values;
})();

function numbersOf(text) {
  var numbers = [];
  var value = 0;
  for (var i = 0; i < text.length; i++) {
    var code = text.charCodeAt(i);
    var digit = code < 128 ? DIGIT_VALUES[code] : -1;
    if (digit >= 32) {
      numbers.push(value * 32 + digit - 32);
      value = 0;
    } else {
      value = value * 32 + digit;
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
// lengths}]}. A field's lengths are there unless the term is common in it (then: the length files);
// a field without the term is 0 in the file. A term's postings are decoded when first read, as a
// query reads few of a shard's terms (a common one's shard holds a hundred kilobytes of others).
function decodeShard(data) {
  return data.terms.map(function (row) { return new ShardTerm(row, data.idf); });
}

function ShardTerm(row, idfs) {
  this.term = row[0];
  this.index = row[1];
  this.row = row;
  this.idfs = idfs;
  this.decoded = null;
}

ShardTerm.prototype.decode = function () {
  if (this.decoded === null) {
    var row = this.row;
    var fields = [];
    var df = 0;
    for (var k = 2; k < row.length; k++) {
      if (row[k] === 0) {
        fields.push({ positions: [], counts: [], lengths: null, scores: [] });
        continue;
      }
      var positions = undelta(numbersOf(row[k][0]));
      df += positions.length;
      fields.push({ positions: positions, counts: numbersOf(row[k][1]), lengths: row[k].length > 2 ? numbersOf(row[k][2]) : null });
    }
    this.decoded = { idf: this.idfs[df], fields: fields };
  }
  return this.decoded;
};

Object.defineProperty(ShardTerm.prototype, "fields", { get: function () { return this.decode().fields; } });
Object.defineProperty(ShardTerm.prototype, "idf", { get: function () { return this.decode().idf; } });

// Python's round(x, 3) (lunr.py rounds every score so): the nearest multiple of 1/1000 to x's exact
// value, halfway cases to the even one. toFixed rounds halfway cases up; x is halfway exactly when
// 16x is an odd integer (x = j/16, x*1000 = 62.5j), and then x*1000 is exact.
// Most x are nowhere near halfway: then Math.round of x * 1000 is the nearest integer n to the exact
// 1000x (the product's rounding error is far below the margin), and n / 1000 is the double that
// Number(n-as-decimal) parses to, as one correctly rounded division. Near halfway: exactly, as before.
var HALFWAY_MARGIN = 1e-6;

function roundThousandths(x) {
  var thousandths = x * 1000;
  var fraction = thousandths - Math.floor(thousandths);
  if (Math.abs(fraction - 0.5) > HALFWAY_MARGIN && Math.abs(thousandths) < 1e9) {
    return Math.round(thousandths) / 1000;
  }
  return exactRoundThousandths(x);
}

function exactRoundThousandths(x) {
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
    var idf = entry.idf;
    var lengths = field.lengths;
    var positions = field.positions;
    var counts = field.counts;
    // A common term reaches most papers, with few distinct (count, length) pairs: each is scored once.
    var known = new Map();
    for (var i = 0; i < scores.length; i++) {
      var length = lengths ? lengths[i] : lengthOf(k, positions[i]);
      // The key is one number only while the count stays under 64: (10, 70) and (11, 6) would meet.
      var memo = counts[i] < 64;
      var key = length * 64 + counts[i];
      var score = memo ? known.get(key) : undefined;
      if (score === undefined) {
        score = fieldScore(shards, k, idf, counts[i], length);
        if (memo) known.set(key, score);
      }
      scores[i] = score;
    }
    field.scores = scores;
  }
  return field.scores;
}

function sortedNumbers(set) {
  return Array.from(set).sort(function (a, b) { return a - b; });
}

function decodedFacets(data) {
  var people = [];
  var flat = numbersOf(data.people);
  for (var i = 0; i < flat.length; i += flat[i] + 1) {
    people.push(flat.slice(i + 1, i + 1 + flat[i]));
  }
  return { orgs: data.orgs, authors: data.authors, org: numbersOf(data.org), people: people, upvotes: numbersOf(data.upvotes) };
}

// The manifest's common terms ({terms: front-coded, fields: number text of masks}) as {terms, masks};
// null for an index written without them.
function commonTerms(listed) {
  if (!listed) {
    return null;
  }
  var terms = frontDecoded(listed.terms);
  var masks = numbersOf(listed.fields);
  return { terms: terms, masks: new Map(terms.map(function (term, i) { return [term, masks[i]]; })) };
}

// The sharded source: `fetchPart(relativePath)` returns a promise of a part's parsed JSON (relative to
// index.json). Parts are fetched once and kept, decoded.
function shardedSource(manifest, storeInfo, fetchPart) {
  var shards = Object.assign({}, manifest.shards, { bounds: frontDecoded(manifest.shards.bounds) });
  var parts = new Map();
  var vocabulary = { lengths: new Set(), key: null, terms: null };
  var common = commonTerms(manifest.shards.common);

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

  function lengthFile(k) {
    return decodedPart("lengths/" + shards.fields[k] + ".json", numbersOf);
  }

  // The field vector elements of each {entry, field} pair, computed once; a field where the term is
  // common takes the lengths from that field's length file.
  function score(pairs) {
    var needed = new Set();
    pairs.forEach(function (pair) {
      var field = pair.entry.fields[pair.field];
      if (!field.lengths && !field.scores && field.positions.length) {
        needed.add(pair.field);
      }
    });
    var fields = sortedNumbers(needed);
    return Promise.all(fields.map(lengthFile)).then(function (columns) {
      var byField = [];
      fields.forEach(function (k, i) { byField[k] = columns[i]; });
      var lengthOf = function (field, position) { return byField[field][position]; };
      pairs.forEach(function (pair) { elementsOf(shards, pair.entry, pair.field, lengthOf); });
    });
  }

  // The fields whose length files the terms `needs` reaches will be scored with, from the manifest's
  // list of common terms: known before any shard is in, so the length files load with the shards.
  // A lookup that says nothing of scoring may score every term it reaches in every field.
  function commonFieldsOf(needs) {
    if (!common) {
      return [];
    }
    var scored = needs.scored || {
      terms: new Map(needs.exact.map(function (term) { return [term, null]; })),
      prefixes: new Map(needs.prefixes.map(function (prefix) { return [prefix, null]; })),
    };
    var mask = 0;
    scored.terms.forEach(function (fields, term) { mask |= (common.masks.get(term) || 0) & fieldBits(fields); });
    scored.prefixes.forEach(function (fields, prefix) {
      var terms = common.terms;
      var bits = fieldBits(fields);
      for (var i = firstTermAtLeast(terms, prefix); i < terms.length && terms[i].indexOf(prefix) === 0; i++) {
        mask |= common.masks.get(terms[i]) & bits;
      }
    });
    return shards.fields.map(function (_name, k) { return k; }).filter(function (k) { return mask & (1 << k); });
  }

  // The bits of the named fields in a mask of common.masks (null: every field).
  function fieldBits(names) {
    if (!names) {
      return -1;
    }
    var bits = 0;
    names.forEach(function (name) {
      var k = shards.fields.indexOf(name);
      bits |= k === -1 ? 0 : 1 << k;
    });
    return bits;
  }

  // The decoded entries `needs` reaches.
  function lookup(needs) {
    commonFieldsOf(needs).forEach(function (k) { lengthFile(k); });
    var numbers = new Set();
    needs.exact.forEach(function (term) { numbers.add(shardOf(shards.bounds, term)); });
    needs.prefixes.forEach(function (prefix) {
      prefixShards(shards.bounds, prefix).forEach(function (n) { numbers.add(n); });
    });
    var files = sortedNumbers(numbers).map(function (n) { return decodedPart("shards/" + n + ".json", decodeShard); });
    return Promise.all(files).then(function (decoded) {
      return sortedLookup(reachedEntries([].concat.apply([], decoded), needs));
    });
  }

  // The sorted terms of every vocabulary file fetched so far, covering at least the lengths `patterns` match.
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
        vocabulary.terms = words.sort();
        vocabulary.key = key;
      }
      return vocabulary.terms;
    });
  }

  // The rows of `refs`, their files asked for in the order of the refs (the first shown first). With
  // `progress`, the rows of the longest prefix of refs that is in are handed on as it grows, a turn
  // later, so that files which come together (the same round, or kept from an earlier query) do not.
  function docs(refs, progress) {
    var chunkSize = storeInfo.chunk;
    var chunkOf = function (ref) { return Math.floor(ref / chunkSize); };
    var byChunk = new Map();
    var inSoFar = 0;
    var scheduled = false; // a look at the prefix in is due a turn from now
    function rowsOf(some) {
      return new Map(some.map(function (ref) { return [ref, byChunk.get(chunkOf(ref))[ref % chunkSize]]; }));
    }
    function handOnPrefix() {
      scheduled = false;
      var before = inSoFar;
      while (inSoFar < refs.length && byChunk.has(chunkOf(refs[inSoFar]))) {
        inSoFar++;
      }
      if (inSoFar > before && inSoFar < refs.length) {
        progress(rowsOf(refs.slice(0, inSoFar)), inSoFar);
      }
    }
    var chunks = Array.from(new Set(refs.map(chunkOf)));
    return Promise.all(chunks.map(function (n) {
      return part("store/" + n + ".json").then(function (rows) {
        byChunk.set(n, rows);
        if (progress && !scheduled) {
          scheduled = true;
          setTimeout(handOnPrefix, 0);
        }
      });
    })).then(function () { return rowsOf(refs); });
  }

  return {
    count: shards.count,
    pageSize: storeInfo.page,
    fetches: true,
    fields: shards.fields,
    tags: storeInfo.tags,
    lookup: lookup,
    score: score,
    vocabulary: vocabularyFor,
    docs: docs,
    facets: function () { return decodedPart("facets.json", decodedFacets); },
    tagged: function (n) {
      return decodedPart("tags/" + n + ".json", function (gaps) { return new Set(undelta(numbersOf(gaps))); });
    },
    dates: function () {
      return decodedPart("dates.json", function (runs) {
        var dates = [];
        runs.forEach(function (run) {
          for (var i = 0; i < run[1]; i++) {
            dates.push(run[0]);
          }
        });
        return dates;
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function fetchJson(url) {
  return fetch(url, { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) {
      throw new Error("HTTP " + response.status + " for " + url);
    }
    return response.json();
  });
}

function isSharded(indexData) {
  return Boolean(indexData && indexData.shards);
}

function loadedSource(indexData, storeData, indexUrl) {
  if (isSharded(indexData)) {
    return shardedSource(indexData, storeData, function (path) { return fetchJson(new URL(path, indexUrl).href); });
  }
  return singleSource(indexData, storeData);
}

// The text functions run once on a sample while the index loads, so that compiling their patterns
// and the stemmer's is not part of the reader's first query.
var WARM_UP_TEXT = "Warm-up: PriorCLIP's pre-training of LLMs on 3.5% of \u03b1-\"quoted\" models";

function warmUp() {
  var parsed = parseQuery(WARM_UP_TEXT + " title:a -b", true);
  var terms = new Set(parsed.clauses.map(function (clause) { return clause.words[0].stem; }));
  snippetOf(WARM_UP_TEXT, terms);
  hasPhrase([WARM_UP_TEXT, WARM_UP_TEXT], { words: parsed.clauses[0].words, fields: null });
  arxivIdOf(WARM_UP_TEXT);
}

// A made-up sharded index held in memory, laid out as the build writes one: a common word ("alpha",
// on most papers, scored from the length files) and a rare one ("beta", lengths inline).
var WARM_UP_PAPERS = 6000;
var WARM_UP_COMMON = 5000;
var WARM_UP_RARE = 40;

function warmUpParts() {
  var fields = ["title", "abstract", "tags", "author", "names"];
  var common = "1".repeat(WARM_UP_COMMON); // gaps of one: papers 1 to 5,000
  var rare = "1".repeat(WARM_UP_RARE);
  var counts = "123".repeat(Math.ceil(WARM_UP_COMMON / 3)).slice(0, WARM_UP_COMMON);
  var abstractLengths = "a2a3a4b0".repeat(WARM_UP_PAPERS / 4); // 130, 131, 132, 160
  var text = "Warm-up: an alpha abstract with beta words and alpha beta together. " + WARM_UP_TEXT;
  var doc = ["Alpha and beta, warm", "papers/warm/", "2024-01-01", [0], text, "Warm Lab", ["A. Warm"], 1, ""];
  var manifest = { shards: {
    format: 2, version: "2.3.9", fields: fields, boosts: [10, 1, 0.3, 3, 3], k1: 1.2, b: 0.75,
    averages: [12, 131, 14, 2, 1.4], pipeline: ["stemmer"], count: WARM_UP_PAPERS, bounds: ["0"],
    longestTermBucket: 20, common: { terms: ["0alpha"], fields: "3" },
  } };
  var idf = {};
  idf[WARM_UP_COMMON * 2] = 0.2;
  idf[WARM_UP_RARE] = 4.9;
  var parts = {
    "shards/0.json": { idf: idf, terms: [
      ["alpha", 0, [common, counts], [common, counts], 0, 0, 0],
      ["beta", 1, 0, [rare, "2".repeat(WARM_UP_RARE), "a2".repeat(WARM_UP_RARE)], 0, 0, 0],
    ] },
    "lengths/title.json": "C".repeat(WARM_UP_PAPERS),
    "lengths/abstract.json": abstractLengths,
    "terms/4.json": ["0beta"],
    "terms/5.json": ["0alpha"],
    "terms/6.json": [],
  };
  var storeInfo = { fields: [], tags: [["warm", "Warm", "tags/warm/"]], count: WARM_UP_PAPERS, chunk: 2, page: 20 };
  return { manifest: manifest, storeInfo: storeInfo, part: function (path) { return parts[path] || [doc, doc]; } };
}

// The engine's warm-up: a few queries on that index, one a step (each a function giving a promise of
// its answer), so that a reader's query need not wait for the browser to compile decoding, scoring
// and ordering. Nothing they make is kept (but the stems of their words).
function warmUpSteps() {
  var made = warmUpParts();
  var fetchPart = function (path) { return Promise.resolve(made.part(path)); };
  var source = shardedSource(made.manifest, made.storeInfo, fetchPart);
  var queries = ["alpha", "alpha beta", "\"alpha beta\" -gamma", "alpah", "alp"];
  return queries.map(function (q, n) {
    var request = { id: n, q: q, limit: 20, typing: n === queries.length - 1 };
    return function () { return runSearch(source, request); };
  });
}

// Every warm-up step in turn, for tests: a promise of their answers.
function warmUpEngine() {
  var answers = [];
  return warmUpSteps().reduce(function (done, step) {
    return done.then(step).then(function (answer) { answers.push(answer); });
  }, Promise.resolve()).then(function () { return answers; });
}

// The page answers "ready" with its query at once when its address has one: the warm-up waits this
// long, so that such a query comes first.
var WARM_UP_AFTER_READY_MS = 50;

// A source as one query sees it: once `abandon` is called, whatever the query waits for fails, so
// that the worker can move on; the parts it asked for go on loading, and are kept for later queries.
function abandonable(source) {
  var abandon = null;
  var abandoned = new Promise(function (_resolve, reject) { abandon = reject; });
  abandoned.catch(function () {}); // a query that waits for nothing more never sees it
  var view = Object.assign({}, source);
  ["lookup", "score", "vocabulary", "docs", "facets", "tagged", "dates"].forEach(function (name) {
    view[name] = function () { return Promise.race([source[name].apply(source, arguments), abandoned]); };
  });
  var run = { source: view, abandoned: false };
  run.abandon = function () {
    run.abandoned = true; // its answers are stale: the page would not show them
    abandon(new Error("a newer query came"));
  };
  return run;
}

// The worker's side of the protocol. Queries that arrive while one runs are coalesced: only the
// newest is answered, because the page only shows the newest. For the same reason the one running
// is abandoned when a newer one comes (a phrase query can wait for many rounds of store fetches).
function startWorker(scope) {
  var source = null;
  var pending = null;
  var busy = false;
  var asked = false; // a query has come: the warm-up is over
  var running = null; // the query being answered, as abandonable made it

  function answerPending() {
    if (!source || !pending || busy) {
      return;
    }
    var request = pending;
    var run = abandonable(source);
    pending = null;
    busy = true;
    running = run;
    // An abandoned query's answers are stale: the page would not show them.
    var post = function (answer) {
      if (!run.abandoned) {
        scope.postMessage(answer);
      }
    };
    runSearch(run.source, request, post).then(function (answer) {
      post(answer);
      running = null;
      busy = false;
      answerPending();
    });
  }

  function abandonRunning() {
    if (running) {
      running.abandon();
    }
  }

  function schedule() {
    scope.setTimeout(answerPending, 0);
  }

  // The warm-up runs after "ready", a step a turn and only while no query waits: a query the page
  // sends at once (a search/?q= address) is not kept waiting, and one typed later finds the engine
  // compiled. The first query ends it; a step that fails ends it too (the search works without it).
  // `steps` null: the warm-up's index is made then, after the delay.
  function warmUpWhileIdle(steps, delay) {
    scope.setTimeout(function () {
      var left = asked || busy ? [] : steps || stepsOrNone();
      if (!left.length) {
        return;
      }
      busy = true;
      new Promise(function (resolve) { resolve(left[0]()); }).then(function () {
        busy = false;
        return asked ? answerPending() : warmUpWhileIdle(left.slice(1), 0);
      }, function () {
        busy = false;
        answerPending();
      });
    }, delay);
  }

  function stepsOrNone() {
    try {
      return warmUpSteps();
    } catch (error) {
      return []; // a warm-up that cannot start has only not warmed anything up
    }
  }

  function load(message) {
    scope.importScripts(message.lunrUrl);
    // Both files are small for a sharded site (a manifest and the store's outline), so they are
    // fetched together whichever layout the site has; the text functions warm up while they load.
    var loading = Promise.all([fetchJson(message.indexUrl), fetchJson(message.storeUrl)]);
    warmUp();
    loading
      .then(function (data) {
        source = loadedSource(data[0], data[1], message.indexUrl);
        // facetsCost: whether counts by organization and author cost a download of their own.
        scope.postMessage({ type: "ready", count: source.count, pageSize: source.pageSize, facetsCost: isSharded(data[0]) });
        schedule();
        warmUpWhileIdle(null, WARM_UP_AFTER_READY_MS);
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
      asked = true;
      abandonRunning();
      schedule();
    }
  };
}

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  startWorker(self);
}
