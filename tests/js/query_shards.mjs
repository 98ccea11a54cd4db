// Runs the same searches against a site's sharded search and against one lunr index of the same
// documents, with the real lunr.js and the theme's worker code.
// Usage: node query_shards.mjs LUNR_JS WORKER_JS SEARCH_DIR SINGLE_INDEX_JSON SINGLE_STORE_JSON < requests.json
// SEARCH_DIR is a built site's search/ folder in the sharded layout. Requests, answered in order:
//   {"q": ..., "tag"?, "from"?, "to"?, "limit"?}  the worker's answer both ways: {single, sharded, fetched}
//   {"raw": ..., "top"?}                          lunr's own index.search both ways: {single, sharded,
//                                                 fetched}, each {total, hits} with the first `top` (10)
//                                                 hits as {ref, score, terms}, or {error} if q is invalid
//   {"whole": true}                               every shard put together, compared with the single
//                                                 index as JSON text: {equal, shards, firstDifference}
//   {"session": [request, ...]}                   worker requests one after another on one sharded
//                                                 search: [{total, refs, fetched}] (fetched: new parts)
// `fetched` lists the parts (paths under SEARCH_DIR) a fresh sharded search fetched for that request.
import { readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";

const [lunrPath, workerPath, searchDir, singleIndexPath, singleStorePath] = process.argv.slice(2);

// One context plays the worker's global scope: lunr.min.js defines `lunr` on it, as importScripts would.
const scope = vm.createContext({ console, URL });
vm.runInContext(readFileSync(lunrPath, "utf8"), scope, { filename: lunrPath });
vm.runInContext(readFileSync(workerPath, "utf8"), scope, { filename: workerPath });
for (const name of ["searchPapers", "shardedSearch", "clauseNeeds", "combinedIndexJson", "decodeShard"]) {
  if (typeof scope[name] !== "function") {
    throw new Error(`the worker's ${name} did not load`);
  }
}
const lunr = scope.lunr;

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const manifest = readJson(path.join(searchDir, "index.json"));
const storeInfo = readJson(path.join(searchDir, "store.json"));
const singleJson = readJson(singleIndexPath);
const singleIndex = lunr.Index.load(singleJson);
const singleStore = readJson(singleStorePath);
const requests = JSON.parse(readFileSync(0, "utf8"));

// A fresh sharded search whose parts come from disk, noting each one it asks for.
function freshSharded() {
  const fetched = [];
  const search = scope.shardedSearch(manifest, storeInfo, (part) => {
    fetched.push(part);
    return Promise.resolve().then(() => readJson(path.join(searchDir, part)));
  });
  return { search, fetched };
}

const hitsOf = (results, top) => ({
  total: results.length,
  hits: results.slice(0, top).map((r) => ({ ref: r.ref, score: r.score, terms: Object.keys(r.matchData.metadata).sort() })),
});

async function attempt(run) {
  try {
    return await run();
  } catch (error) {
    if (error instanceof lunr.QueryParseError) {
      return { error: error.message };
    }
    throw error;
  }
}

async function raw(q, top) {
  const { search, fetched } = freshSharded();
  const single = await attempt(() => hitsOf(singleIndex.search(q), top));
  const sharded = await attempt(async () => {
    const query = new lunr.Query(manifest.shards.fields);
    new lunr.QueryParser(q, query).parse();
    const pipeline = lunr.Pipeline.load(manifest.shards.pipeline);
    const index = await search.indexFor(scope.clauseNeeds(query.clauses, pipeline), query.isNegated());
    return hitsOf(index.search(q), top);
  });
  return { single, sharded, fetched };
}

async function worker(request, n) {
  const { search, fetched } = freshSharded();
  const sharded = await search.search({ id: n, ...request });
  return { single: scope.searchPapers(singleIndex, singleStore, { id: n, ...request }), sharded, fetched };
}

// Every shard and every field length, put together the way a query's shards are.
async function whole() {
  const shards = manifest.shards;
  const decoded = scope.frontDecoded(shards.bounds).map((_, n) => scope.decodeShard(readJson(path.join(searchDir, "shards", `${n}.json`))));
  const columns = shards.fields.map((field) => scope.numbersOf(readJson(path.join(searchDir, "lengths", `${field}.json`))));
  const lengthOf = (field, position) => columns[field][position];
  const entries = [].concat(...decoded);
  const combined = JSON.stringify(scope.combinedIndexJson(shards, entries, lengthOf, { everyDocument: true }));
  const single = JSON.stringify(singleJson);
  let at = 0;
  while (at < combined.length && combined[at] === single[at]) {
    at++;
  }
  const equal = combined === single;
  const firstDifference = equal ? null : { at, combined: combined.slice(at - 80, at + 80), single: single.slice(at - 80, at + 80) };
  return { equal, shards: decoded.length, firstDifference };
}

async function session(steps) {
  const { search, fetched } = freshSharded();
  const out = [];
  for (const [n, request] of steps.entries()) {
    const before = fetched.length;
    const answer = await search.search({ id: n, ...request });
    out.push({ total: answer.total, refs: answer.results.map((r) => r.ref), error: answer.error, fetched: fetched.slice(before) });
  }
  return out;
}

const answers = [];
for (const [n, request] of requests.entries()) {
  if ("session" in request) {
    answers.push(await session(request.session));
  } else if ("whole" in request) {
    answers.push(await whole());
  } else if ("raw" in request) {
    answers.push(await raw(request.raw, request.top ?? 10));
  } else {
    answers.push(await worker(request, n));
  }
}
process.stdout.write(JSON.stringify(answers));
