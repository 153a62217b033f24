// cache-tests-run.mjs: runs the HTTP cache test suite (npm http-cache-tests, cache-tests.fyi)
// against one base URL for tools/bench/cache-tests.sh, as the suite's own cli.mjs does
// (the same test list, including surrogate-control, the same runner, the same result JSON),
// with two changes that keep one bad proxy from costing a whole column:
//   - every request has a time limit (node-fetch's `timeout`): a proxy that never answers
//     fails that test with a FetchError instead of hanging the run;
//   - on SIGTERM/SIGINT (the harness's per-proxy time limit) the results of the tests that
//     finished are still written, so a hang loses only the tests still in flight.
// It also writes the tests' metadata (suite, name, kind, depends_on), which the formatter
// (cache-tests-report.py) needs to classify results the way the suite's pages do.
//
// node cache-tests-run.mjs --suite DIR --base URL --out FILE [--meta FILE] [--timeout-ms N] [--id ID]
//   [--list-only]
//   DIR: the installed package (node_modules/http-cache-tests); URL without trailing slash;
//   --list-only: write the metadata and run nothing.
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'

function arg (name, dflt) {
  const i = process.argv.indexOf(name)
  if (i < 0 || i + 1 >= process.argv.length) {
    if (dflt !== undefined) return dflt
    console.error(`cache-tests-run: missing ${name} (usage: --suite DIR --base URL --out FILE [--meta FILE] [--timeout-ms N])`)
    process.exit(2)
  }
  return process.argv[i + 1]
}

const suite = path.resolve(arg('--suite'))
const base = arg('--base')
const out = arg('--out')
const meta = arg('--meta', '')
const timeoutMs = parseInt(arg('--timeout-ms', '20000'), 10)
const mod = p => import(pathToFileURL(path.join(suite, p)).href)

const { runTests, getResults } = await mod('client/runner.mjs')
const tests = (await mod('tests/index.mjs')).default
tests.push((await mod('tests/surrogate-control.mjs')).default)
// node-fetch comes from the suite's own dependencies (CommonJS: its default export)
const nodeFetch = (await import(pathToFileURL(path.join(suite, '..', 'node-fetch', 'lib', 'index.js')).href)).default

if (meta) {
  const list = []
  for (const s of tests) {
    for (const t of s.tests) {
      if (t.browser_only === true) continue // as the CLI runner: not run against proxies
      list.push({ id: t.id, suite: s.id, name: t.name, kind: t.kind || 'required', depends_on: t.depends_on || [] })
    }
  }
  fs.writeFileSync(meta, JSON.stringify(list, null, 1) + '\n')
}
if (process.argv.includes('--list-only')) process.exit(0)

let written = false
function write (why) {
  if (written) return
  written = true
  fs.writeFileSync(out, JSON.stringify(getResults(), null, 2) + '\n')
  if (why) console.error(`cache-tests-run: ${why}: wrote the ${Object.keys(getResults()).length} results finished so far to ${out}`)
}
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { write(`stopped by ${sig}`); process.exit(3) })
}

// --id ID: that test alone, its requests and responses printed on both sides (as the
// suite's `npm run cli --id=ID`)
const only = arg('--id', '')
let toRun = tests
if (only) {
  toRun = []
  for (const s of tests) {
    for (const t of s.tests) {
      if (t.id === only) {
        t.dump = true
        toRun.push({ name: s.name, id: s.id, description: s.description, tests: [t] })
      }
    }
  }
  if (!toRun.length) {
    console.error(`cache-tests-run: no test with the id ${only} (see tests.json)`)
    process.exit(2)
  }
}

const timedFetch = (url, init) => nodeFetch(url, Object.assign({}, init, { timeout: timeoutMs }))
const t0 = Date.now()
await runTests(toRun, timedFetch, false, base)
console.error(`cache-tests-run: ${Object.keys(getResults()).length} tests in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
if (only) console.log(JSON.stringify(getResults(), null, 2))
write('')
// Node's global agent keeps idle connections open (keep-alive) until the proxy closes
// them (squid: 2 minutes): the results are written, so do not wait for that
process.exit(0)
