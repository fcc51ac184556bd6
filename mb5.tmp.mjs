import { packRecords, unpackRecords } from '/work/main/dist/lib/codec/records.js';
import { Unpackr } from 'msgpackr';
import { makeLines } from '/work/main/dist/scenarios/steady-wordcount.js';
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const pool = makeLines(20000); const LINES = 70000;
const lines0 = Array.from({ length: LINES }, (_, i) => pool[i % pool.length]);
const block = packRecords(lines0);
const count = (m, l) => { for (const w of l.split(/\s+/)) { if (!w.length) continue; const s = m.get(w); if (s) s.c++; else m.set(w, { c: 1 }); } };
const variants = {
  mapOnPool() { const m = new Map(); for (const l of lines0) count(m, l); return m.size; },
  mapOnDecodedArray() { const m = new Map(); for (const l of unpackRecords(block)) count(m, l); return m.size; },
  mapOnDecodedCallback() { const m = new Map(); unpackr.unpackMultiple(block, (l) => { count(m, l); }); return m.size; },
};
const f = variants[process.argv[2]];
for (let i = 0; i < 5; i++) f(); const t = process.hrtime.bigint(); for (let i = 0; i < 30; i++) f(); console.log(process.argv[2].padEnd(22), (Number(process.hrtime.bigint() - t) / 1e6 / 30 / LINES * 1000).toFixed(3), 'ms/1k lines');
