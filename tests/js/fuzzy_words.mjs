// The worker's fuzzyWords against lunr.js's own fuzzy match (a TokenSet of the words intersected with
// TokenSet.fromFuzzyString), on vocabularies made from a few letters so that near neighbours abound.
// Usage: node fuzzy_words.mjs LUNR_JS WORKER_JS < requests.json
// Requests: [{alphabet, words, longest, terms, seed}] or [{words: [word], terms: [[term, editDistance]]}]; answers: [{compared, mismatches: [{term,
// editDistance, lunr, worker}], found}] (found: how many words lunr's match found, all terms together).
import { readFileSync } from "node:fs";
import vm from "node:vm";

const [lunrPath, workerPath] = process.argv.slice(2);
const scope = vm.createContext({ console, URL, setTimeout });
vm.runInContext(readFileSync(lunrPath, "utf8"), scope, { filename: lunrPath });
vm.runInContext(readFileSync(workerPath, "utf8"), scope, { filename: workerPath });
const lunr = scope.lunr;

function random(seed) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

// A listed vocabulary, as it comes (an empty word, a word twice), with listed [term, editDistance] pairs.
function listed(request) {
  const words = request.words.slice().sort();
  const vocabulary = lunr.TokenSet.fromArray(words);
  const mismatches = [];
  let found = 0;
  for (const [term, editDistance] of request.terms) {
    const expected = vocabulary.intersect(lunr.TokenSet.fromFuzzyString(term, editDistance)).toArray().sort();
    const got = scope.fuzzyWords(words, term, editDistance).slice().sort();
    found += expected.length;
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      mismatches.push({ term, editDistance, lunr: expected, worker: got });
    }
  }
  return { compared: request.terms.length, mismatches, found };
}

function answer(request) {
  if (Array.isArray(request.words)) {
    return listed(request);
  }
  const next = random(request.seed);
  const word = () => {
    const length = 1 + Math.floor(next() * request.longest);
    return Array.from({ length }, () => request.alphabet[Math.floor(next() * request.alphabet.length)]).join("");
  };
  const words = Array.from(new Set(Array.from({ length: request.words }, word))).sort();
  const vocabulary = lunr.TokenSet.fromArray(words);
  const mismatches = [];
  let found = 0;
  for (let n = 0; n < request.terms; n++) {
    const term = word();
    const editDistance = 1 + (n % 2);
    const expected = vocabulary.intersect(lunr.TokenSet.fromFuzzyString(term, editDistance)).toArray().sort();
    const got = scope.fuzzyWords(words, term, editDistance).slice().sort();
    found += expected.length;
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      mismatches.push({ term, editDistance, lunr: expected, worker: got });
    }
  }
  return { compared: request.terms, mismatches: mismatches.slice(0, 5), found };
}

const requests = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(requests.map(answer)));
