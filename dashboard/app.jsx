// The notehub-lite dashboard: a Preact app bundled by esbuild (hub/build-dashboard.ts), served at /.
// It talks to the hub's own HTTP API with a bearer token kept in localStorage.
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './app.css';

const TOKEN_KEY = 'notehub-lite-token';
const MAX_EVENTS = 500; // kept in the page; older ones drop off

async function api(token, method, path, body) {
  const r = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  const json = text ? JSON.parse(text) : {};
  if (!r.ok) throw new Error(json.err ?? `${r.status}`);
  return json;
}

function SignIn({ onToken }) {
  const [user, setUser] = useState('admin');
  const [pw, setPw] = useState('');
  const [tok, setTok] = useState('');
  const [err, setErr] = useState('');
  const login = async (e) => {
    e.preventDefault();
    try {
      if (tok) { await api(tok, 'GET', '/v1/projects'); onToken(tok); return; }
      const r = await fetch('/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: user, password: pw }) });
      const j = await r.json();
      if (!r.ok) throw new Error(j.err);
      onToken(j.session_token);
    } catch (x) { setErr(String(x.message ?? x)); }
  };
  return (
    <form class="card signin" onSubmit={login} data-testid="signin">
      <h1>notehub-lite</h1>
      <label>user <input name="username" value={user} onInput={(e) => setUser(e.target.value)} /></label>
      <label>password <input name="password" type="password" value={pw} onInput={(e) => setPw(e.target.value)} /></label>
      <p>or an API token (<code>notehub-lite token</code>)</p>
      <label>token <input name="token" value={tok} onInput={(e) => setTok(e.target.value)} /></label>
      <button type="submit">Sign in</button>
      {err && <p class="err">{err}</p>}
    </form>
  );
}

const when = (t) => (t ? new Date(typeof t === 'number' ? t * 1000 : t).toLocaleString() : '');
function status(d) {
  if (d.disabled) return 'disabled';
  if (!d.last_activity) return 'never seen';
  return Date.now() - Date.parse(d.last_activity) < 15 * 60_000 ? 'active' : 'idle';
}

/** Streams the project's new events (server-sent events over fetch, so the token goes in a header). */
function useEventStream(token, project, onEvent) {
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!project) return undefined;
    const abort = new AbortController();
    (async () => {
      const r = await fetch(`/v1/projects/${project}/events/stream`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      setLive(true);
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of chunk.split('\n')) if (line.startsWith('data: ')) onEvent(JSON.parse(line.slice(6)));
        }
      }
    })().catch(() => {}).finally(() => setLive(false));
    return () => abort.abort();
  }, [token, project]);
  return live;
}

function Plot({ events }) {
  const ref = useRef(null);
  const keys = useMemo(() => {
    const k = new Set();
    // lat/lon go on the track, not the plot
    for (const e of events) for (const [n, v] of Object.entries(e.body ?? {})) if (typeof v === 'number' && n !== 'lat' && n !== 'lon') k.add(n);
    return [...k].sort();
  }, [events]);
  useEffect(() => {
    if (!ref.current || !keys.length) return undefined;
    const pts = events.filter((e) => keys.some((k) => typeof e.body?.[k] === 'number')).sort((a, b) => a.when - b.when);
    const data = [pts.map((e) => e.when), ...keys.map((k) => pts.map((e) => (typeof e.body?.[k] === 'number' ? e.body[k] : null)))];
    const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
    const u = new uPlot({
      width: 640, height: 240,
      series: [{}, ...keys.map((k, i) => ({ label: k, stroke: colors[i % colors.length], points: { show: true } }))],
    }, data, ref.current);
    return () => u.destroy();
  }, [events, keys]);
  return (
    <section class="card" data-testid="plot" data-points={events.filter((e) => keys.some((k) => typeof e.body?.[k] === 'number')).length}>
      <h2>Numeric body fields over time</h2>
      {keys.length ? <div ref={ref} /> : <p>No numeric body fields in these events.</p>}
    </section>
  );
}

/** best_lat/best_lon (and _track.qo bodies' lat/lon) on a plain equirectangular projection. */
function Track({ events }) {
  const pts = events
    .map((e) => ({ lat: e.best_lat ?? e.body?.lat, lon: e.best_lon ?? e.body?.lon, when: e.when, track: e.file === '_track.qo' }))
    .filter((p) => typeof p.lat === 'number' && typeof p.lon === 'number')
    .sort((a, b) => a.when - b.when);
  const W = 480, H = 300, M = 20;
  let body = <text x={W / 2} y={H / 2} text-anchor="middle">no locations yet</text>;
  if (pts.length) {
    const k = Math.cos((pts.reduce((s, p) => s + p.lat, 0) / pts.length) * Math.PI / 180) || 1;
    const xs = pts.map((p) => p.lon * k), ys = pts.map((p) => p.lat);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const s = Math.min((W - 2 * M) / (x1 - x0 || 1e-6), (H - 2 * M) / (y1 - y0 || 1e-6));
    // centred: a single point (or a straight line) sits in the middle
    const dx = (W - 2 * M - (x1 - x0) * s) / 2, dy = (H - 2 * M - (y1 - y0) * s) / 2;
    const at = (p) => [M + dx + (p.lon * k - x0) * s, H - M - dy - (p.lat - y0) * s];
    body = (
      <g>
        <polyline points={pts.map((p) => at(p).join(',')).join(' ')} fill="none" stroke="#1f77b4" stroke-width="2" />
        {pts.map((p) => { const [x, y] = at(p); return <circle cx={x} cy={y} r="3" fill={p.track ? '#d62728' : '#1f77b4'}><title>{`${p.lat}, ${p.lon} ${when(p.when)}`}</title></circle>; })}
      </g>
    );
  }
  return (
    <section class="card" data-testid="track">
      <h2>Location track ({pts.length} points)</h2>
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} class="map">{body}</svg>
    </section>
  );
}

function Project({ token, project, openDevice }) {
  const [devices, setDevices] = useState([]);
  const [events, setEvents] = useState([]);
  const [fDevice, setFDevice] = useState('');
  const [fFile, setFFile] = useState('');
  const [err, setErr] = useState('');
  const load = () => api(token, 'GET', `/v1/projects/${project}/devices?pageSize=500`).then((j) => setDevices(j.devices ?? [])).catch((e) => setErr(e.message));
  useEffect(() => {
    setEvents([]);
    load();
    api(token, 'GET', `/v1/projects/${project}/events?pageSize=${MAX_EVENTS}&sortOrder=desc`)
      .then((j) => setEvents((old) => [...old, ...(j.events ?? []).reverse()].slice(-MAX_EVENTS))).catch((e) => setErr(e.message));
  }, [project]);
  const live = useEventStream(token, project, (e) => {
    setEvents((old) => (old.some((o) => o.event === e.event) ? old : [...old, e].slice(-MAX_EVENTS)));
    load(); // last seen changed
  });
  const files = [...new Set(events.map((e) => e.file))].sort();
  const shown = events.filter((e) => (!fDevice || e.device === fDevice) && (!fFile || e.file === fFile));
  return (
    <div>
      {err && <p class="err">{err}</p>}
      <section class="card">
        <h2>Devices</h2>
        <table data-testid="devices">
          <thead><tr><th>device</th><th>serial number</th><th>product</th><th>last seen</th><th>status</th></tr></thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.uid}>
                <td><a href="#" onClick={(e) => { e.preventDefault(); openDevice(d.uid); }}>{d.uid}</a></td>
                <td>{d.serial_number}</td><td>{d.product_uid}</td><td>{when(d.last_activity)}</td><td>{status(d)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Events <span class={live ? 'live on' : 'live'} data-testid="live">{live ? 'live' : 'not live'}</span></h2>
        <label>device <select data-testid="filter-device" value={fDevice} onChange={(e) => setFDevice(e.target.value)}>
          <option value="">all</option>{devices.map((d) => <option value={d.uid}>{d.serial_number || d.uid}</option>)}
        </select></label>
        <label>notefile <select data-testid="filter-file" value={fFile} onChange={(e) => setFFile(e.target.value)}>
          <option value="">all</option>{files.map((f) => <option value={f}>{f}</option>)}
        </select></label>
        <table data-testid="events">
          <thead><tr><th>when</th><th>device</th><th>notefile</th><th>body</th></tr></thead>
          <tbody>
            {shown.slice(-100).reverse().map((e) => (
              <tr key={e.event}><td>{when(e.when)}</td><td>{e.sn || e.device}</td><td>{e.file}</td><td><code>{JSON.stringify(e.body ?? {})}</code></td></tr>
            ))}
          </tbody>
        </table>
      </section>
      <Plot events={shown} />
      <Track events={shown} />
    </div>
  );
}

function Env({ token, base }) {
  const [vars, setVars] = useState({});
  const [effective, setEffective] = useState({});
  const [key, setKey] = useState('');
  const [val, setVal] = useState('');
  const [msg, setMsg] = useState('');
  const take = (j) => { setVars(j.environment_variables ?? {}); setEffective(j.environment_variables_effective ?? {}); };
  useEffect(() => { api(token, 'GET', `${base}/environment_variables`).then(take).catch((e) => setMsg(e.message)); }, [base]);
  const put = (obj) => api(token, 'PUT', `${base}/environment_variables`, { environment_variables: obj }).then((j) => { take(j); setMsg('saved'); }).catch((e) => setMsg(e.message));
  const del = (k) => api(token, 'DELETE', `${base}/environment_variables/${encodeURIComponent(k)}`).then((j) => { take(j); setMsg('deleted'); }).catch((e) => setMsg(e.message));
  return (
    <section class="card" data-testid="env">
      <h2>Environment variables</h2>
      <table>
        <thead><tr><th>name</th><th>device value</th><th>effective</th><th /></tr></thead>
        <tbody>
          {Object.keys({ ...effective, ...vars }).sort().map((k) => (
            <tr key={k}>
              <td>{k}</td>
              <td><input data-env={k} value={vars[k] ?? ''} onChange={(e) => put({ [k]: e.target.value })} /></td>
              <td>{effective[k]}</td>
              <td>{k in vars && <button onClick={() => del(k)}>delete</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={(e) => { e.preventDefault(); if (key) put({ [key]: val }).then(() => { setKey(''); setVal(''); }); }}>
        <input placeholder="name" name="env-name" value={key} onInput={(e) => setKey(e.target.value)} />
        <input placeholder="value" name="env-value" value={val} onInput={(e) => setVal(e.target.value)} />
        <button type="submit">set</button> <span data-testid="env-msg">{msg}</span>
      </form>
    </section>
  );
}

function Notefiles({ token, base }) {
  const [info, setInfo] = useState({});
  const [open, setOpen] = useState('');
  const [notes, setNotes] = useState(null);
  const [file, setFile] = useState('data.qi');
  const [body, setBody] = useState('{}');
  const [msg, setMsg] = useState('');
  const load = () => api(token, 'GET', `${base}/files`).then((j) => setInfo(j.info ?? {})).catch((e) => setMsg(e.message));
  useEffect(() => { load(); }, [base]);
  const show = (f) => { setOpen(f); api(token, 'GET', `${base}/notes/${encodeURIComponent(f)}`).then((j) => setNotes(j.notes)).catch((e) => setMsg(e.message)); };
  const add = async (e) => {
    e.preventDefault();
    try {
      await api(token, 'POST', `${base}/notes/${encodeURIComponent(file)}`, { body: JSON.parse(body) });
      setMsg(`added to ${file}`);
      load();
    } catch (x) { setMsg(x.message); }
  };
  return (
    <section class="card" data-testid="notefiles">
      <h2>Notefiles</h2>
      <ul>{Object.entries(info).map(([f, i]) => <li key={f}><a href="#" onClick={(e) => { e.preventDefault(); show(f); }}>{f}</a> ({i.total})</li>)}</ul>
      {open && <pre>{open}: {JSON.stringify(notes, null, 2)}</pre>}
      <form onSubmit={add}>
        inbound note: <input value={file} onInput={(e) => setFile(e.target.value)} /> <input value={body} onInput={(e) => setBody(e.target.value)} />
        <button type="submit">add</button> {msg}
      </form>
    </section>
  );
}

/** Highlights the {tags} in an error reply. */
function Highlighted({ text }) {
  const parts = text.split(/(\{[a-z0-9-]+\})/g);
  return <>{parts.map((p, i) => (i % 2 ? <mark class="tag">{p}</mark> : p))}</>;
}

function Terminal({ token, base }) {
  const [names, setNames] = useState([]);
  const [line, setLine] = useState('');
  const [log, setLog] = useState([]);
  const [hist, setHist] = useState([]);
  const [pos, setPos] = useState(-1);
  const [hint, setHint] = useState('');
  useEffect(() => { api(token, 'GET', `${base}/terminal`).then((j) => setNames(j.requests)).catch((x) => setLog([{ req: '', out: `hub: ${x.message}` }])); }, [base]);
  const send = async () => {
    const text = line.trim();
    if (!text) return;
    const req = text.startsWith('{') ? text : JSON.stringify({ req: text }); // a bare name is a request without arguments
    setHist((h) => [...h, text]);
    setPos(-1);
    setLine('');
    let out;
    try {
      const { reply } = await api(token, 'POST', `${base}/terminal`, { req });
      try { out = JSON.stringify(JSON.parse(reply), null, 2); } catch { out = reply || '(no reply: a cmd)'; }
    } catch (x) { out = `hub: ${x.message}`; }
    setLog((l) => [...l, { req, out }]);
  };
  const complete = () => {
    const m = /^(.*"req"\s*:\s*")([^"]*)$/.exec(line) ?? /^()([a-z0-9._]*)$/i.exec(line);
    if (!m) return;
    const hits = names.filter((n) => n.startsWith(m[2]));
    if (!hits.length) return;
    let common = hits[0];
    for (const h of hits) while (!h.startsWith(common)) common = common.slice(0, -1);
    setLine(m[1] + (hits.length === 1 ? hits[0] + (m[1] ? '"' : '') : common));
    setHint(hits.length > 1 ? hits.join('  ') : '');
  };
  const key = (e) => {
    if (e.key === 'Enter') { e.preventDefault(); send(); }
    else if (e.key === 'Tab') { e.preventDefault(); complete(); }
    else if (e.key === 'ArrowUp' && hist.length) { e.preventDefault(); const p = pos < 0 ? hist.length - 1 : Math.max(0, pos - 1); setPos(p); setLine(hist[p]); }
    else if (e.key === 'ArrowDown' && pos >= 0) { e.preventDefault(); const p = pos + 1; if (p >= hist.length) { setPos(-1); setLine(''); } else { setPos(p); setLine(hist[p]); } }
  };
  return (
    <section class="card" data-testid="terminal">
      <h2>Terminal</h2>
      <p class="note">Requests go to the card through the hub, which reaches only cards it hosts in its own process (the simulator started with --with-hub). Tab completes request names; arrows walk the history.</p>
      <div class="term">
        {log.map((x) => <div><div class="req">&gt; {x.req}</div><pre class="reply"><Highlighted text={x.out} /></pre></div>)}
      </div>
      <input class="termline" data-testid="terminal-input" value={line} placeholder='{"req":"card.version"}' onInput={(e) => setLine(e.target.value)} onKeyDown={key} />
      {hint && <div class="hint">{hint}</div>}
    </section>
  );
}

function Device({ token, project, device, back }) {
  const base = `/v1/projects/${project}/devices/${device}`;
  const [d, setD] = useState(null);
  useEffect(() => { api(token, 'GET', base).then(setD).catch(() => {}); }, [base]);
  return (
    <div>
      <p><a href="#" onClick={(e) => { e.preventDefault(); back(); }}>&larr; project</a></p>
      <section class="card" data-testid="device">
        <h2>{device}</h2>
        {d && <p>serial number {d.serial_number}, product {d.product_uid}, last seen {when(d.last_activity)} ({status(d)})</p>}
      </section>
      <Env token={token} base={base} />
      <Notefiles token={token} base={base} />
      <Terminal token={token} base={base} />
    </div>
  );
}

function App() {
  const [token, setToken] = useState(localStorage.getItem(TOKEN_KEY) ?? '');
  const [projects, setProjects] = useState([]);
  const [project, setProject] = useState('');
  const [device, setDevice] = useState('');
  useEffect(() => {
    if (!token) return;
    api(token, 'GET', '/v1/projects').then((j) => { setProjects(j.projects); setProject((p) => p || j.projects[0]?.uid || ''); })
      .catch(() => { localStorage.removeItem(TOKEN_KEY); setToken(''); });
  }, [token]);
  if (!token) return <SignIn onToken={(t) => { localStorage.setItem(TOKEN_KEY, t); setToken(t); }} />;
  return (
    <div>
      <header>
        <b>notehub-lite</b>
        <select data-testid="project" value={project} onChange={(e) => { setProject(e.target.value); setDevice(''); }}>
          {projects.map((p) => <option value={p.uid}>{p.label} ({p.uid})</option>)}
        </select>
        <button onClick={() => { localStorage.removeItem(TOKEN_KEY); setToken(''); }}>sign out</button>
      </header>
      {project && (device
        ? <Device token={token} project={project} device={device} back={() => setDevice('')} />
        : <Project token={token} project={project} openDevice={setDevice} />)}
    </div>
  );
}

render(<App />, document.getElementById('app'));
