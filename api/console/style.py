"""The console's one stylesheet, inlined in every page: readable, calm, print-friendly."""

CSS = """
:root { --ink:#1d2433; --muted:#5b6476; --line:#d9dee8; --bg:#f5f7fb; --card:#fff;
  --accent:#2456c7; --bad:#b42318; --bad-bg:#fdecea; --warn:#8a5a00; --warn-bg:#fff4d6;
  --ok:#1e7a46; --ok-bg:#e5f5ec; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--ink); background:var(--bg); }
a { color:var(--accent); }
header.top { display:flex; align-items:center; gap:1.5rem; padding:.6rem 1.5rem;
  background:#16233f; color:#fff; }
header.top a { color:#fff; text-decoration:none; font-weight:600; }
header.top nav { display:flex; gap:1.2rem; flex:1; }
header.top .who { font-size:.85rem; opacity:.85; }
header.top form { margin:0; }
header.top button { background:transparent; color:#fff; border:1px solid #fff6;
  padding:.2rem .7rem; border-radius:4px; cursor:pointer; }
main { max-width:1180px; margin:1.5rem auto; padding:0 1.5rem; }
h1 { font-size:1.5rem; margin:.2rem 0 1rem; }
h2 { font-size:1.05rem; margin:0 0 .6rem; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:1rem 1.2rem; margin-bottom:1rem; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(320px,1fr)); gap:1rem; }
.grid > .card { margin-bottom:0; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:.45rem .6rem; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { font-size:.78rem; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
tr.overdue td { background:var(--bad-bg); }
table.worklist td:not(:last-child) { white-space:nowrap; }
.overdue-text { color:var(--bad); font-weight:700; }
.soon-text { color:var(--warn); font-weight:600; }
.muted { color:var(--muted); }
.small { font-size:.85rem; }
.badge { display:inline-block; padding:.05rem .55rem; border-radius:999px; font-size:.8rem;
  font-weight:600; background:#e8edf7; color:#24365f; }
.badge.bad { background:var(--bad-bg); color:var(--bad); }
.badge.ok { background:var(--ok-bg); color:var(--ok); }
.badge.warn { background:var(--warn-bg); color:var(--warn); }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:.25rem 1rem; margin:0; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; }
.bar { display:flex; height:14px; border-radius:7px; overflow:hidden; background:#e6e9f0;
  margin:.4rem 0 .3rem; }
.bar .used { background:var(--accent); }
.bar .left { background:#9fc0ff; }
.legend { display:flex; gap:1.2rem; font-size:.85rem; color:var(--muted); }
form.filters { display:flex; gap:.8rem; align-items:end; flex-wrap:wrap; margin-bottom:1rem; }
form.assign { display:flex; gap:.4rem; align-items:end; flex-wrap:wrap; }
label { display:block; font-weight:600; font-size:.85rem; margin-bottom:.2rem; }
input, select, textarea { font:inherit; padding:.35rem .5rem; border:1px solid #b8c0cf;
  border-radius:5px; background:#fff; width:100%; }
input[aria-invalid=true], select[aria-invalid=true] { border-color:var(--bad);
  box-shadow:0 0 0 1px var(--bad); }
.field { margin-bottom:.7rem; }
.field .error { color:var(--bad); font-size:.83rem; margin-top:.15rem; }
.hint { color:var(--muted); font-size:.8rem; }
fieldset { border:1px solid var(--line); border-radius:8px; padding:.8rem 1rem;
  margin:0 0 1rem; background:#fff; }
legend { font-weight:700; padding:0 .3rem; }
.row { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:.8rem; }
button, .button { font:inherit; font-weight:600; background:var(--accent); color:#fff;
  border:0; border-radius:5px; padding:.45rem 1rem; cursor:pointer; text-decoration:none; }
button.secondary { background:#e8edf7; color:#24365f; }
button.danger { background:var(--bad); }
.alert { border-radius:6px; padding:.6rem .9rem; margin-bottom:1rem; }
.alert.error { background:var(--bad-bg); color:var(--bad); border:1px solid #f4b8b2; }
.alert.ok { background:var(--ok-bg); color:var(--ok); border:1px solid #b5e0c6; }
.alert ul { margin:.3rem 0 0; padding-left:1.2rem; }
.actions { display:grid; grid-template-columns:repeat(auto-fit,minmax(250px,1fr)); gap:1rem;
  align-items:start; }
.actions form { border:1px solid var(--line); border-radius:8px; padding:.8rem; }
.login { max-width:420px; margin:4rem auto; }
ol.timeline { list-style:none; margin:0; padding:0; }
ol.timeline li { display:grid; grid-template-columns:11rem 9rem 1fr; gap:.8rem;
  padding:.45rem 0; border-bottom:1px solid var(--line); }
.who-tag { font-size:.78rem; font-weight:700; text-transform:uppercase; color:var(--muted); }
.who-tag[data-actor] { text-transform:none; }
.who-tag .muted { font-weight:400; }
figure.chart { margin:0; }
figure.chart figcaption { font-weight:700; margin-bottom:.4rem; }
figure.chart svg text { font-size:12px; fill:var(--ink); }
figure.chart rect.ok { fill:var(--ok); } figure.chart rect.warn { fill:#c98a00; }
figure.chart rect.bad { fill:var(--bad); } figure.chart rect.accent { fill:var(--accent); }
ul.legend { list-style:none; padding:0; margin:.4rem 0 0; display:flex; gap:1rem;
  flex-wrap:wrap; font-size:.85rem; }
.swatch { display:inline-block; width:.8rem; height:.8rem; margin-right:.3rem;
  border-radius:2px; vertical-align:-1px; }
.swatch.ok { background:var(--ok); } .swatch.warn { background:#c98a00; }
.swatch.bad { background:var(--bad); } .swatch.accent { background:var(--accent); }
table.report td, table.report th { white-space:nowrap; }
tr.total th, tr.total td { font-weight:700; }
fieldset.quiet { border:0; padding:0; margin:.6rem 0 1rem; background:none; }
fieldset.quiet legend { font-weight:600; font-size:.85rem; color:var(--muted); padding:0; }
.next-step { border-left:4px solid var(--accent); }
.next-step .main-action { margin:.7rem 0 0; font-weight:600; }
details.more { margin-top:1rem; }
details.more > summary { cursor:pointer; font-weight:600; color:var(--accent);
  margin-bottom:.6rem; }
ol.notes { list-style:none; margin:0 0 1rem; padding:0; }
ol.notes li { padding:.45rem 0; border-bottom:1px solid var(--line); }
.note-text { white-space:pre-wrap; overflow-wrap:anywhere; }
ul.files { list-style:none; margin:0 0 1rem; padding:0; }
ul.files li { padding:.35rem 0; border-bottom:1px solid var(--line); overflow-wrap:anywhere; }
.visually-hidden { position:absolute; width:1px; height:1px; overflow:hidden;
  clip:rect(0 0 0 0); white-space:nowrap; }
header.top form.search { flex:0 1 16rem; }
header.top nav a, header.top .who { white-space:nowrap; }
tbody th { text-transform:none; letter-spacing:normal; font-size:inherit; color:inherit; }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));
  gap:1rem; margin-bottom:1rem; }
.charts > .card { margin-bottom:0; }
figure.chart svg { max-width:100%; height:auto; }
header.top form.search input { padding:.25rem .5rem; }
form.filters .grow { flex:1 1 18rem; }
.scroll { overflow-x:auto; }
@media (max-width: 700px) {
  header.top { flex-wrap:wrap; gap:.6rem 1rem; padding:.6rem .8rem; }
  header.top nav { flex-wrap:wrap; gap:.4rem 1rem; flex-basis:100%; order:2; }
  header.top form.search { flex:1 1 100%; order:3; }
  main { padding:0 .8rem; margin-top:1rem; }
  .grid { grid-template-columns:1fr; }
  ol.timeline li { grid-template-columns:1fr; gap:.1rem; }
  table.worklist td:not(:last-child) { white-space:normal; }
}
@media print { header.top, .actions, form { display:none; } }
"""
