// Starts the theme's worker as a page does (startWorker on a scope of our own, with the real lunr.js),
// its index and store being the worker's own made-up sharded index (warmUpParts), fetched after a
// turn of the event loop, as a fast host would serve them. The page's query is sent on "ready".
// Usage: node worker_start.mjs LUNR_JS WORKER_JS < requests.json
// Requests, answered in order, each by a fresh worker:
//   {"q": ..., "after"?: ms, "breakWarmUp"?: true}
//       {ready, searchesBeforeQuery, answer}: q is sent when the worker says it is ready, or `after`
//       ms later (a reader typing); searchesBeforeQuery counts the searches the worker ran before
//       it (the warm-up's); breakWarmUp makes the warm-up's index fail to build.
import { readFileSync } from "node:fs";
import vm from "node:vm";

const [lunrPath, workerPath] = process.argv.slice(2);
const requests = JSON.parse(readFileSync(0, "utf8"));

function start(request) {
  return new Promise((resolve) => {
    let searches = 0;
    let searchesBeforeQuery = null;
    const scope = vm.createContext({
      console, URL, setTimeout,
      importScripts: () => vm.runInContext(readFileSync(lunrPath, "utf8"), scope, { filename: lunrPath }),
      fetch: (url) => new Promise((done) => setTimeout(() => {
        const made = scope.madeUp;
        const body = new URL(url).pathname.endsWith("/index.json") ? made.manifest : made.storeInfo;
        done({ ok: true, json: () => Promise.resolve(body) });
      }, 0)),
      postMessage: (message) => {
        if (message.type === "ready") {
          const ask = () => {
            searchesBeforeQuery = searches;
            scope.onmessage({ data: { type: "query", id: 1, q: request.q, limit: 20, typing: false } });
          };
          if (request.after) {
            setTimeout(ask, request.after);
          } else {
            ask();
          }
        } else {
          resolve({ ready: searchesBeforeQuery !== null, searchesBeforeQuery, answer: message });
        }
      },
    });
    vm.runInContext(readFileSync(workerPath, "utf8"), scope, { filename: workerPath });
    scope.madeUp = scope.warmUpParts();
    // The "real" index's parts are the made-up index's own.
    scope.loadedSource = (indexData, storeData) =>
      scope.shardedSource(indexData, storeData, (part) => Promise.resolve(scope.madeUp.part(part)));
    const search = scope.runSearch;
    scope.runSearch = (source, message) => { searches += 1; return search(source, message); };
    if (request.breakWarmUp) {
      scope.warmUpParts = () => { throw new Error("the warm-up's index could not be made"); };
    }
    scope.startWorker(scope);
    scope.onmessage({ data: { type: "init", lunrUrl: "http://site.test/lunr.min.js", indexUrl: "http://site.test/search/index.json",
                              storeUrl: "http://site.test/search/store.json" } });
  });
}

const answers = [];
for (const request of requests) {
  answers.push(await start(request));
}
console.log(JSON.stringify(answers));
