// Collaboration load: D documents with E editors each, every editor typing
// one character at a time into its document's Y.Text at a steady total rate
// (open loop: sends are scheduled, never held back by replies). Speaks the
// y-websocket protocol over `ws` without Y.Doc replicas, so one client core
// can drive thousands of editors: each editor's update is built by hand (one
// Item, a string of one character, whose origin is its previous character;
// the Yjs update format v1) and replies are only parsed for the client and
// clock of their first struct, which names the update.
//
//   node bench/collab/collab_bench.mjs '{"url": "ws://127.0.0.1:PORT/collab",
//     "token": "...", "documents": 1000, "editors": 5, "rate": 10000,
//     "seconds": 10, "warmup": 2, "server_pid": 123}'
//
// Prints one JSON line: updates/s sent, deliveries/s received, propagation
// p50/p99 (send to arrival at the other editors of the document), server RSS
// before and with everyone connected, and lost updates (sent, never seen by
// some editor of the document within 2 s after the end).
import { readFileSync } from 'node:fs'
import WebSocket from 'ws'

const a = JSON.parse(process.argv[2])
const D = a.documents ?? 1000
const E = a.editors ?? 5
const rate = a.rate ?? 10000
const seconds = a.seconds ?? 10
const warmup = a.warmup ?? 2

// lib0 encoding, just what an update and a sync message need.
function varUint (out, n) {
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f))
    n = Math.floor(n / 128)
  }
  out.push(n)
}
function varString (out, s) {
  const b = Buffer.from(s, 'utf8')
  varUint(out, b.length)
  for (const x of b) out.push(x)
}
function readVarUint (buf, pos) {
  let n = 0
  let mult = 1
  for (;;) {
    const b = buf[pos.i++]
    n += (b & 0x7f) * mult
    if (b < 0x80) return n
    mult *= 128
  }
}

// An update inserting char c as client's struct at clock (after its own
// previous character), wrapped as a y-protocols sync update message.
function updateMessage (client, clock, c) {
  const u = []
  varUint(u, 1) // one client
  varUint(u, 1) // one struct
  varUint(u, client)
  varUint(u, clock)
  if (clock === 0) {
    u.push(4) // Item, ContentString, no origin: the parent follows
    varUint(u, 1) // parent is a root type, by name
    varString(u, 't')
  } else {
    u.push(0x80 | 4) // Item, ContentString, left origin
    varUint(u, client)
    varUint(u, clock - 1)
  }
  varString(u, c)
  varUint(u, 0) // empty delete set
  const m = [0, 2] // sync, update
  varUint(m, u.length)
  return Buffer.from([...m, ...u])
}

const step1Empty = Buffer.from([0, 0, 1, 0]) // sync step 1, empty state vector

// utime + stime of the server, in seconds.
function cpuSeconds (pid) {
  if (!pid) return 0
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

function rssBytes (pid) {
  if (!pid) return 0
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)
  return m ? Number(m[1]) * 1024 : 0
}

const sent = new Map() // "client:clock" -> { t, doc, seen }
const lat = []
let deliveries = 0
let measuring = false
let openCount = 0

function connect (doc, e) {
  return new Promise((resolve, reject) => {
    const q = a.token ? `?token=${encodeURIComponent(a.token)}` : ''
    const ws = new WebSocket(`${a.url}/bench-${doc}${q}`, { perMessageDeflate: false })
    const ed = { ws, doc, client: 1 + doc * E + e, clock: 0, synced: false }
    ws.binaryType = 'nodebuffer'
    ws.on('open', () => {
      openCount++
      ws.send(step1Empty)
    })
    ws.on('message', (buf) => {
      if (buf[0] !== 0) return // awareness and others: not measured
      const pos = { i: 1 }
      const step = readVarUint(buf, pos)
      if (step === 0) {
        // The server's step 1: answer with nothing (this editor starts empty).
        ws.send(Buffer.from([0, 1, 2, 0, 0]))
        return
      }
      if (step === 1) {
        if (!ed.synced) {
          ed.synced = true
          resolve(ed)
        }
        return
      }
      readVarUint(buf, pos) // length of the update
      if (readVarUint(buf, pos) < 1) return
      readVarUint(buf, pos) // structs of the first client
      const client = readVarUint(buf, pos)
      const clock = readVarUint(buf, pos)
      const s = sent.get(client * 1e7 + clock)
      if (!s) return
      if (client !== ed.client) {
        s.seen++
        deliveries++
        if (measuring && s.measured) lat.push(performance.now() - s.t)
      }
    })
    ws.on('error', reject)
    ws.on('close', (code) => {
      if (!ed.synced) reject(new Error(`closed ${code} before sync`))
    })
  })
}

const rssBefore = rssBytes(a.server_pid)
const editors = []
// Connect in batches so the server's accept queue is not the test.
for (let d = 0; d < D; d += 50) {
  const batch = []
  for (let doc = d; doc < Math.min(D, d + 50); doc++) {
    for (let e = 0; e < E; e++) batch.push(connect(doc, e))
  }
  editors.push(...(await Promise.all(batch)))
}
await new Promise((resolve) => setTimeout(resolve, 500))
const rssConnected = rssBytes(a.server_pid)

// Open loop: one send every 1/rate s, round robin over editors.
const interval = 1000 / rate
const t0 = performance.now()
const end = t0 + (warmup + seconds) * 1000
let next = 0
let sends = 0
let measuredSends = 0
let k = 0
let cpuStart = 0
let clientStart = null
await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now()
    if (!measuring && now > t0 + warmup * 1000) {
      cpuStart = cpuSeconds(a.server_pid)
      clientStart = process.cpuUsage()
    }
    measuring = now > t0 + warmup * 1000
    while (t0 + next * interval <= now && now < end) {
      const ed = editors[k++ % editors.length]
      const msg = updateMessage(ed.client, ed.clock, 'x')
      // Latency counts from the scheduled time: a late send is late.
      sent.set(ed.client * 1e7 + ed.clock, { t: t0 + next * interval, seen: 0, measured: measuring })
      ed.clock++
      ed.ws.send(msg)
      sends++
      if (measuring) measuredSends++
      next++
    }
    if (now >= end) return resolve()
    setTimeout(tick, 1) // sends due within the last ms go out together
  }
  tick()
})
const measuredMs = seconds * 1000
const serverCpu = (cpuSeconds(a.server_pid) - cpuStart) / seconds
const used = process.cpuUsage(clientStart)
const clientCpu = (used.user + used.system) / 1e6 / seconds
await new Promise((resolve) => setTimeout(resolve, 2000))
let lost = 0
for (const s of sent.values()) if (s.seen < E - 1) lost++
lat.sort((x, y) => x - y)
const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null)
const rssEnd = rssBytes(a.server_pid)
for (const ed of editors) ed.ws.terminate()
console.log(JSON.stringify({
  documents: D,
  editors: E,
  connections: openCount,
  rate,
  updates_per_s: Math.round(measuredSends / (measuredMs / 1000)),
  deliveries_per_s: Math.round(lat.length / (measuredMs / 1000)),
  p50_ms: q(0.5) && +q(0.5).toFixed(2),
  p99_ms: q(0.99) && +q(0.99).toFixed(2),
  lost_updates: lost,
  server_cpu: +serverCpu.toFixed(2),
  client_cpu: +clientCpu.toFixed(2),
  sent: sends,
  rss_before: rssBefore,
  rss_connected: rssConnected,
  rss_end: rssEnd,
  rss_per_document: Math.round((rssConnected - rssBefore) / D)
}))
process.exit(0)
