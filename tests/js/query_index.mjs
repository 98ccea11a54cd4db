// Runs searches against a built site's index with the real lunr.js and the theme's worker code.
// Usage: node query_index.mjs LUNR_JS WORKER_JS INDEX_JSON STORE_JSON < requests.json
// Each request is {"q": ..., "tag"?, "from"?, "to"?, "limit"?} for the worker's searchPapers, or
// {"raw": ...} for lunr's own index.search, or {"pipeline": text} for the terms lunr.js's default
// indexing pipeline makes of a text. Prints one JSON array of answers: searchPapers answers as the
// worker sends them, raw answers as [{ref, score, terms}], pipeline answers as [term, ...].
import { readFileSync } from "node:fs";
import vm from "node:vm";

const [lunrPath, workerPath, indexPath, storePath] = process.argv.slice(2);

// One context plays the worker's global scope: lunr.min.js defines `lunr` on it, as importScripts would.
const scope = vm.createContext({ console });
vm.runInContext(readFileSync(lunrPath, "utf8"), scope, { filename: lunrPath });
vm.runInContext(readFileSync(workerPath, "utf8"), scope, { filename: workerPath });
if (typeof scope.lunr !== "function" || typeof scope.searchPapers !== "function") {
  throw new Error("lunr or the worker's searchPapers did not load");
}

const lunr = scope.lunr;
const index = lunr.Index.load(JSON.parse(readFileSync(indexPath, "utf8")));
const store = JSON.parse(readFileSync(storePath, "utf8"));
const requests = JSON.parse(readFileSync(0, "utf8"));

const indexing = new lunr.Pipeline();
indexing.add(lunr.trimmer, lunr.stopWordFilter, lunr.stemmer);

const answers = requests.map((request, n) => {
  if ("pipeline" in request) {
    return indexing.run(lunr.tokenizer(request.pipeline)).map(String);
  }
  if ("raw" in request) {
    return index.search(request.raw).map((r) => ({ ref: r.ref, score: r.score, terms: Object.keys(r.matchData.metadata) }));
  }
  return scope.searchPapers(index, store, { id: n, ...request });
});
process.stdout.write(JSON.stringify(answers));
