// Golden vectors for the native Yjs update format (src/collab/yupdate.*),
// made by the npm yjs that y-websocket clients run:
//   node tests/vectors/make_yjs_v1.mjs > tests/vectors/yjs_v1.json
// Each case is an update some Yjs editing session produced (hex), what
// Y.encodeStateVectorFromUpdate says of it, and Y.mergeUpdates of it with an
// empty update: Yjs's own re-encoding, which the C++ encoder must match byte
// for byte. The sessions are seeded, so the file only changes with yjs.
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';

let seed = 0x2545f491;
const rand = (n) => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed % n;
};
const words = ['a', 'hello', 'ünïcødé', '中文字', '😀', 'x😀y', '🎉🎉', '\n', 'Привет'];
const hex = (u8) => Buffer.from(u8).toString('hex');
const empty = Y.encodeStateAsUpdate(new Y.Doc());
const cases = [];
const merges = [];
const diffs = [];
const emitted = [];
const vectors = [];
const states = []; // whole states along the way: merged, they overlap in part
const add = (name, update) => {
  cases.push({
    name,
    update: hex(update),
    state_vector: hex(Y.encodeStateVectorFromUpdate(update)),
    reencoded: hex(Y.mergeUpdates([update, empty])),
  });
};

const docs = (n, gc) => Array.from({ length: n }, (_, i) => {
  const d = new Y.Doc({ gc });
  d.clientID = 1000 + i * 7919;
  return d;
});
const sync = (a, b) => {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
};

// Random editing: text inserts and deletes (astral characters included, so
// splits land inside surrogate pairs), map sets of every content kind,
// arrays, nested types, XML, formatting, embeds; every update a client emits
// is a case, and so is each document's whole state.
for (const gc of [true, false]) {
  const ds = docs(3, gc);
  ds.forEach((d, i) => d.on('update', (u) => {
    emitted.push(u);
    if (cases.length < 400 && rand(3) === 0) add(`gc=${gc} client ${i} update`, u);
  }));
  for (let step = 0; step < 300; step++) {
    const d = ds[rand(ds.length)];
    const t = d.getText('text');
    const m = d.getMap('map');
    const a = d.getArray('array');
    switch (rand(9)) {
      case 0: case 1: t.insert(rand(t.length + 1), words[rand(words.length)]); break;
      case 2: if (t.length > 0) { const at = rand(t.length); t.delete(at, 1 + rand(Math.min(5, t.length - at))); } break;
      case 3: m.set(`k${rand(6)}`, [1, -7, 2 ** 40, 1.5, 'str', true, null, { o: [1, 'x'] }, new Uint8Array([1, 2, 3])][rand(9)]); break;
      case 4: a.insert(rand(a.length + 1), [rand(100), 'v', { deep: { er: [null, false] } }]); break;
      case 5: if (a.length > 0) a.delete(rand(a.length), 1); break;
      case 6: { const sub = new Y.Map(); sub.set('n', rand(10)); m.set('sub', sub); break; }
      case 7: if (t.length > 1) t.format(0, 1 + rand(t.length - 1), { bold: rand(2) === 0 ? true : null }); break;
      case 8: sync(ds[rand(ds.length)], ds[rand(ds.length)]); break;
    }
    if (rand(20) === 0) vectors.push(Y.encodeStateVector(ds[rand(ds.length)]));
    if (rand(25) === 0) states.push(Y.encodeStateAsUpdate(ds[rand(ds.length)]));
  }
  ds.forEach((d, i) => add(`gc=${gc} state of client ${i}`, Y.encodeStateAsUpdate(d)));
}

// Kinds the random session does not make.
{
  const d = new Y.Doc(); d.clientID = 42;
  const x = d.getXmlFragment('xml');
  const el = new Y.XmlElement('p');
  el.setAttribute('class', 'c');
  el.insert(0, [new Y.XmlText('text in xml')]);
  x.insert(0, [el, new Y.XmlHook('hook')]);
  const t = d.getText('rich');
  t.insert(0, 'ab');
  t.insertEmbed(1, { image: 'x.png' });
  d.getMap('m').set('json', undefined);
  d.getMap('m').set('doc', new Y.Doc({ guid: 'sub-doc' }));
  d.getArray('bin').insert(0, [new Uint8Array([0, 255])]);
  add('xml, embed, sub-document, binary', Y.encodeStateAsUpdate(d));
  add('state from a state vector', Y.encodeStateAsUpdate(d, new Uint8Array([1, 42, 3])));
}
add('empty', empty);
// ContentJSON: Yjs 13 still reads it, though it writes ContentAny instead.
{
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1); // one client
  encoding.writeVarUint(e, 1); // one struct
  encoding.writeVarUint(e, 5); // client 5
  encoding.writeVarUint(e, 0); // from clock 0
  encoding.writeUint8(e, 2); // an item of ContentJSON, no origins
  encoding.writeVarUint(e, 1); // parent is a root type, by name
  encoding.writeVarString(e, 'arr');
  encoding.writeVarUint(e, 2);
  encoding.writeVarString(e, '{"a":[1,"x"]}');
  encoding.writeVarString(e, 'undefined');
  encoding.writeVarUint(e, 0); // empty delete set
  const u = encoding.toUint8Array(e);
  const d = new Y.Doc();
  Y.applyUpdate(d, u);
  if (d.getArray('arr').length !== 2) throw new Error('ContentJSON vector not applied');
  add('legacy JSON content', u);
}
// An update whose first struct for a client is not at clock 0, and one with a
// gap (Yjs writes a Skip for it when merging).
{
  const d = new Y.Doc(); d.clientID = 7;
  const t = d.getText('t');
  const parts = [];
  d.on('update', (u) => parts.push(u));
  t.insert(0, 'one'); t.insert(3, 'two'); t.insert(6, 'three');
  add('second of three', parts[1]);
  add('first and third (a gap)', Y.mergeUpdates([parts[0], parts[2]]));
}

// Merges of updates in any order, with repeats and gaps; diffs of whole
// states and of merges against state vectors taken along the way.
for (let i = 0; i < 60; i++) {
  const n = 2 + rand(8);
  const list = Array.from({ length: n }, () => emitted[rand(emitted.length)]);
  const merged = Y.mergeUpdates(list);
  merges.push({ updates: list.map(hex), merged: hex(merged) });
  const sv = vectors[rand(vectors.length)];
  diffs.push({ update: hex(merged), state_vector: hex(sv), diff: hex(Y.diffUpdate(merged, sv)) });
}
for (let i = 0; i < 30; i++) {
  const list = [states[rand(states.length)], states[rand(states.length)], emitted[rand(emitted.length)]];
  const merged = Y.mergeUpdates(list);
  merges.push({ updates: list.map(hex), merged: hex(merged) });
}
// A delete set out of order, with overlapping ranges: a merge sorts and
// joins them, a diff passes them on.
{
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 2); // two clients
  for (const [client, ranges] of [[3, [[10, 2], [0, 3], [2, 4]]], [9, [[5, 1]]]]) {
    encoding.writeVarUint(e, client);
    encoding.writeVarUint(e, ranges.length);
    for (const [clock, len] of ranges) { encoding.writeVarUint(e, clock); encoding.writeVarUint(e, len); }
  }
  const u = encoding.toUint8Array(e);
  merges.push({ updates: [hex(u), hex(empty)], merged: hex(Y.mergeUpdates([u, empty])) });
  diffs.push({ update: hex(u), state_vector: '00', diff: hex(Y.diffUpdate(u, new Uint8Array([0]))) });
}
for (const c of cases.slice(-12)) {
  const u = Buffer.from(c.update, 'hex');
  for (const sv of [vectors[rand(vectors.length)], vectors[rand(vectors.length)], new Uint8Array([0])]) {
    diffs.push({ update: c.update, state_vector: hex(sv), diff: hex(Y.diffUpdate(u, sv)) });
  }
}

process.stdout.write(JSON.stringify({ yjs: '13.6.33', cases, merges, diffs }, null, 1) + '\n');
