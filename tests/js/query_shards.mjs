// Runs the same searches against a site's sharded search and against the single layout of the same
// documents, with the real lunr.js and the theme's worker code: one engine, two sources.
// Usage: node query_shards.mjs LUNR_JS WORKER_JS SEARCH_DIR SINGLE_INDEX_JSON SINGLE_STORE_JSON < requests.json
// SEARCH_DIR is a built site's search/ folder in the sharded layout. Requests, answered in order:
//   {"q": ..., ...}              the worker's answer both ways: {single, sharded, fetched}
//   {"whole": true}              every shard decoded and made into lunr's serialized index again,
//                                compared with the single index as JSON text: {equal, shards, firstDifference}
//   {"warmUp": true}             the answers of the worker's warm-up queries (on its made-up index)
//   {"session": [request, ...]}  requests one after another on one sharded search:
//                                [{total, refs, fetched}] (fetched: the parts newly fetched)
//   {"early": request}           the answers a phrase query hands on early, then its answer, on a
//                                fresh sharded search: {early: [{answer, fetched, served}], answer, fetched,
//                                singleEarly, single} (fetched: the parts asked for until then, served:
//                                those of them in rounds that were over, as timedSharded counts rounds;
//                                singleEarly: how many the single layout handed on, single its answer)
//   {"trickle": request}         the same as "early", but each store file comes in a turn of its own, one
//                                after another in the order asked for (the other parts come together):
//                                {early: [{answer, served}], answer, store} (served: the store files in
//                                when the early answer came; store: every store file asked for)
//   {"rounds": request}          the rounds of fetches a fresh sharded search waits for until its
//                                answer, when it hands on early answers and when it does not:
//                                {early, without} (parts asked for before the last are in share a round)
//   {"failing": request, "store": PATH} the same as "trickle", but the store file PATH fails at once (as a
//                                file the server has not, or a dropped connection): {events: [{answer,
//                                final}]}, every answer handed on, early or final, in the order given,
//                                until every other store file asked for has come and a few turns more
//   {"checks": request}          how many times a candidate's text is checked for the phrases (passesPhrases)
//                                until the answer, store files coming as in "trickle", when the query hands
//                                on early answers and when it does not: {early, without, same} (same: the
//                                two answers are equal)
// `fetched` lists the parts (paths under SEARCH_DIR) a fresh sharded search fetched for that request.
import { readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";

const [lunrPath, workerPath, searchDir, singleIndexPath, singleStorePath] = process.argv.slice(2);

// One context plays the worker's global scope: lunr.min.js defines `lunr` on it, as importScripts would.
const scope = vm.createContext({ console, URL, setTimeout });
vm.runInContext(readFileSync(lunrPath, "utf8"), scope, { filename: lunrPath });
vm.runInContext(readFileSync(workerPath, "utf8"), scope, { filename: workerPath });
for (const name of ["runSearch", "singleSource", "shardedSource", "decodeShard", "elementsOf", "numbersOf"]) {
  if (typeof scope[name] !== "function") {
    throw new Error(`the worker's ${name} did not load`);
  }
}

let phraseChecks = 0; // calls of the worker's passesPhrases, counted for "checks"
const passesPhrases = scope.passesPhrases;
scope.passesPhrases = function () {
  phraseChecks += 1;
  return passesPhrases.apply(this, arguments);
};

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const manifest = readJson(path.join(searchDir, "index.json"));
const storeInfo = readJson(path.join(searchDir, "store.json"));
const singleJson = readJson(singleIndexPath);
const single = scope.singleSource(singleJson, readJson(singleStorePath));
const requests = JSON.parse(readFileSync(0, "utf8"));

// A fresh sharded source whose parts come from disk, noting each one it asks for.
function freshSharded() {
  const fetched = [];
  const source = scope.shardedSource(manifest, storeInfo, (part) => {
    fetched.push(part);
    return Promise.resolve().then(() => readJson(path.join(searchDir, part)));
  });
  return { source, fetched };
}

async function both(request, n) {
  const { source, fetched } = freshSharded();
  const sharded = await scope.runSearch(source, { id: n, ...request });
  return { single: await scope.runSearch(single, { id: n, ...request }), sharded, fetched };
}

// lunr's serialized index made again from decoded shards: the test that counts, lengths and the
// recomputed elements are exactly what lunr.py wrote.
function serializedFrom(shards, entries, lengthOf) {
  const fields = shards.fields;
  const elements = fields.map(() => []);
  const invertedIndex = entries.map((entry) => {
    const posting = {};
    entry.fields.forEach((field, k) => {
      const scores = scope.elementsOf(shards, entry, k, lengthOf);
      const docs = {};
      field.positions.forEach((position, i) => {
        docs[position] = {};
        (elements[k][position] ||= []).push([entry.index, scores[i]]);
      });
      posting[fields[k]] = docs;
    });
    posting._index = entry.index;
    return [entry.term, posting];
  });
  const fieldVectors = [];
  for (let position = 0; position < shards.count; position++) {
    fields.forEach((name, k) => {
      const pairs = (elements[k][position] || []).sort((a, b) => a[0] - b[0]);
      fieldVectors.push([`${name}/${position}`, pairs.flat()]);
    });
  }
  return { version: shards.version, fields, fieldVectors, invertedIndex, pipeline: shards.pipeline };
}

function whole() {
  const shards = manifest.shards;
  const decoded = scope.frontDecoded(shards.bounds).map((_, n) => scope.decodeShard(readJson(path.join(searchDir, "shards", `${n}.json`))));
  const columns = shards.fields.map((field) => scope.numbersOf(readJson(path.join(searchDir, "lengths", `${field}.json`))));
  const lengthOf = (field, position) => columns[field][position];
  const combined = JSON.stringify(serializedFrom(shards, [].concat(...decoded), lengthOf));
  const singleText = JSON.stringify(singleJson);
  let at = 0;
  while (at < combined.length && combined[at] === singleText[at]) {
    at++;
  }
  const equal = combined === singleText;
  const firstDifference = equal ? null : { at, combined: combined.slice(at - 80, at + 80), single: singleText.slice(at - 80, at + 80) };
  return { equal, shards: decoded.length, firstDifference };
}

async function session(steps) {
  const { source, fetched } = freshSharded();
  const out = [];
  for (const [n, request] of steps.entries()) {
    const before = fetched.length;
    const answer = await scope.runSearch(source, { id: n, ...request });
    out.push({ total: answer.total, refs: answer.results.map((r) => r.ref), error: answer.error, fetched: fetched.slice(before) });
  }
  return out;
}

// A fresh sharded source whose parts all come a macrotask later: those asked for until then are one
// round. served(): the parts asked for in rounds that are over (not those of the round under way).
function timedSharded() {
  let rounds = 0;
  let round = null;
  let roundFrom = 0;
  const fetched = [];
  const source = scope.shardedSource(manifest, storeInfo, (part) => {
    if (round === null) {
      rounds += 1;
      roundFrom = fetched.length;
      round = new Promise((resolve) => setTimeout(() => { round = null; resolve(); }, 0));
    }
    fetched.push(part);
    return round.then(() => readJson(path.join(searchDir, part)));
  });
  return { source, fetched, rounds: () => rounds, served: () => fetched.slice(0, round === null ? fetched.length : roundFrom) };
}

// A fresh sharded source whose store files come one a turn, in the order they were asked for; its
// other parts come a turn after they are asked for.
function tricklingSharded() {
  const store = [];
  const served = [];
  let queue = Promise.resolve();
  const source = scope.shardedSource(manifest, storeInfo, (part) => {
    const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
    if (!part.startsWith("store/")) {
      return turn().then(() => readJson(path.join(searchDir, part)));
    }
    store.push(part);
    queue = queue.then(turn).then(() => { served.push(part); });
    return queue.then(() => readJson(path.join(searchDir, part)));
  });
  return { source, store, served };
}

async function trickle(request, n) {
  const { source, store, served } = tricklingSharded();
  const early = [];
  const answer = await scope.runSearch(source, { id: n, ...request }, (first) => {
    early.push({ answer: first, served: served.slice() });
  });
  return { early, answer, store };
}

async function failing(request, failed, n) {
  const store = [];
  let queue = Promise.resolve();
  const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
  const source = scope.shardedSource(manifest, storeInfo, (part) => {
    if (!part.startsWith("store/")) {
      return turn().then(() => readJson(path.join(searchDir, part)));
    }
    store.push(part);
    if (part === failed) {
      return Promise.reject(new Error(`HTTP 404 for ${part}`));
    }
    queue = queue.then(turn);
    return queue.then(() => readJson(path.join(searchDir, part)));
  });
  const events = [];
  const answer = await scope.runSearch(source, { id: n, ...request }, (first) => { events.push({ answer: first, final: false }); });
  events.push({ answer, final: true });
  let asked = -1;
  while (asked !== store.length) { // the files asked for before the answer come on: wait for every one
    asked = store.length;
    await queue;
  }
  for (let i = 0; i < 5; i++) {
    await turn();
  }
  return { events };
}

async function checks(request, n) {
  phraseChecks = 0;
  const withEarly = await scope.runSearch(tricklingSharded().source, { id: n, ...request }, () => {});
  const early = phraseChecks;
  phraseChecks = 0;
  const without = await scope.runSearch(tricklingSharded().source, { id: n, ...request });
  return { early, without: phraseChecks, same: JSON.stringify(withEarly) === JSON.stringify(without) };
}

async function rounds(request, n) {
  const withEarly = timedSharded();
  await scope.runSearch(withEarly.source, { id: n, ...request }, () => {});
  const without = timedSharded();
  await scope.runSearch(without.source, { id: n, ...request });
  return { early: withEarly.rounds(), without: without.rounds() };
}

async function early(request, n) {
  const { source, fetched, served } = timedSharded();
  const shown = [];
  const answer = await scope.runSearch(source, { id: n, ...request }, (first) => {
    shown.push({ answer: first, fetched: fetched.slice(), served: served() });
  });
  let singleEarly = 0; // the single layout has every part in memory: no round to wait for
  const single_ = await scope.runSearch(single, { id: n, ...request }, () => { singleEarly += 1; });
  return { early: shown, answer, fetched, singleEarly, single: single_ };
}

const answers = [];
for (const [n, request] of requests.entries()) {
  if ("session" in request) {
    answers.push(await session(request.session));
  } else if ("whole" in request) {
    answers.push(whole());
  } else if ("rounds" in request) {
    answers.push(await rounds(request.rounds, n));
  } else if ("checks" in request) {
    answers.push(await checks(request.checks, n));
  } else if ("failing" in request) {
    answers.push(await failing(request.failing, request.store, n));
  } else if ("trickle" in request) {
    answers.push(await trickle(request.trickle, n));
  } else if ("early" in request) {
    answers.push(await early(request.early, n));
  } else if ("warmUp" in request) {
    answers.push(await scope.warmUpEngine());
  } else {
    answers.push(await both(request, n));
  }
}
process.stdout.write(JSON.stringify(answers));
