// Runs searches against a built site's search files with the real lunr.js and the theme's worker code.
// Usage: node query_index.mjs LUNR_JS WORKER_JS SEARCH_DIR < requests.json
// SEARCH_DIR is a built site's search/ folder, in either layout; its index.json says which. Each
// request is {"q": ..., "typing"?, "tag"?, "org"?, "author"?, "from"?, "to"?, "sort"?, "facets"?,
// "limit"?} for the worker's runSearch, or {"words": text} for the words the worker's normalisation
// makes of a text, or {"stem": word}. Prints one JSON array of answers, in order; for a sharded
// layout each answer also has `fetched`: the parts (paths under SEARCH_DIR) a fresh search fetched.
import { readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";

const [lunrPath, workerPath, searchDir] = process.argv.slice(2);

// One context plays the worker's global scope: lunr.min.js defines `lunr` on it, as importScripts would.
const scope = vm.createContext({ console, URL, setTimeout });
vm.runInContext(readFileSync(lunrPath, "utf8"), scope, { filename: lunrPath });
vm.runInContext(readFileSync(workerPath, "utf8"), scope, { filename: workerPath });
if (typeof scope.lunr !== "function" || typeof scope.runSearch !== "function") {
  throw new Error("lunr or the worker's runSearch did not load");
}

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const indexData = readJson(path.join(searchDir, "index.json"));
const storeData = readJson(path.join(searchDir, "store.json"));
const sharded = scope.isSharded(indexData);
const single = sharded ? null : scope.singleSource(indexData, storeData);

// A source as a fresh page would have it; a sharded one notes each part it fetches.
function freshSource() {
  if (!sharded) {
    return { source: single, fetched: null };
  }
  const fetched = [];
  const source = scope.shardedSource(indexData, storeData, (part) => {
    fetched.push(part);
    return Promise.resolve().then(() => readJson(path.join(searchDir, part)));
  });
  return { source, fetched };
}

const requests = JSON.parse(readFileSync(0, "utf8"));
const answers = [];
for (const [n, request] of requests.entries()) {
  if ("words" in request) {
    answers.push(scope.wordsOf(request.words).map((w) => ({ joined: w.joined, parts: Array.from(w.parts) })));
  } else if ("stem" in request) {
    answers.push(scope.stemOf(request.stem));
  } else {
    const { source, fetched } = freshSource();
    const answer = await scope.runSearch(source, { id: n, ...request });
    answers.push(fetched ? { ...answer, fetched } : answer);
  }
}
process.stdout.write(JSON.stringify(answers));
