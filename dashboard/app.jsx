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

/** Streams the project's new events (server-sent events over fetch, so the token goes in a header):
 * onMessage(name, data), name 'message' for an event, 'dfu' for an update's phase, 'delivery' for a route's attempt. */
function useEventStream(token, project, onMessage) {
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
          let name = 'message';
          for (const line of chunk.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) onMessage(name, JSON.parse(line.slice(6)));
          }
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
  const live = useEventStream(token, project, (name, e) => {
    if (name !== 'message') return;
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

/** A form's named fields as an object. */
const fields = (e) => Object.fromEntries(new FormData(e.target));

/** Projects, products and fleets, and which devices are in each fleet. */
function Fleets({ token, project, projects, pick, reloadProjects }) {
  const P = `/v1/projects/${project}`;
  const [products, setProducts] = useState([]);
  const [fleets, setFleets] = useState([]);
  const [devices, setDevices] = useState([]);
  const [open, setOpen] = useState('');
  const [members, setMembers] = useState([]);
  const [msg, setMsg] = useState('');
  const fail = (x) => setMsg(x.message);
  const load = () => Promise.all([
    api(token, 'GET', `${P}/products`).then((j) => setProducts(j.products)),
    api(token, 'GET', `${P}/fleets`).then((j) => setFleets(j.fleets)),
    api(token, 'GET', `${P}/devices?pageSize=500`).then((j) => setDevices(j.devices)),
  ]).catch(fail);
  const showFleet = (uid) => { setOpen(uid); if (uid) api(token, 'GET', `${P}/fleets/${uid}/devices?pageSize=500`).then((j) => setMembers(j.devices)).catch(fail); };
  useEffect(() => { load(); setOpen(''); }, [project]);
  const submit = (fn) => async (e) => {
    e.preventDefault();
    const form = e.target;
    try { setMsg(await fn(fields(e))); form.reset(); await load(); } catch (x) { fail(x); }
  };
  // a device is moved: into the chosen fleet, out of the others
  const move = submit(async ({ device, fleet }) => {
    const d = devices.find((x) => x.uid === device);
    const base = `${P}/devices/${encodeURIComponent(device)}/fleets`;
    await api(token, 'PUT', base, { fleet_uids: [fleet] });
    const others = (d?.fleet_uids ?? []).filter((f) => f !== fleet);
    if (others.length) await api(token, 'DELETE', base, { fleet_uids: others });
    showFleet(fleet);
    return `moved ${device} into ${fleets.find((f) => f.uid === fleet)?.label ?? fleet}`;
  });
  const remove = async (device) => {
    try { await api(token, 'DELETE', `${P}/devices/${encodeURIComponent(device)}/fleets`, { fleet_uids: [open] }); showFleet(open); await load(); } catch (x) { fail(x); }
  };
  const drop = async (uid) => {
    try { await api(token, 'DELETE', `${P}/fleets/${uid}`); if (open === uid) setOpen(''); await load(); } catch (x) { fail(x); }
  };
  const count = (f) => devices.filter((d) => d.fleet_uids?.includes(f)).length;
  return (
    <div>
      <p class="msg" data-testid="fleets-msg">{msg}</p>
      <section class="card" data-testid="projects-card">
        <h2>Projects</h2>
        <table data-testid="projects">
          <thead><tr><th>project</th><th>UID</th><th>role</th><th>created</th></tr></thead>
          <tbody>{projects.map((p) => (
            <tr key={p.uid} class={p.uid === project ? 'sel' : ''}>
              <td><a href="#" onClick={(e) => { e.preventDefault(); pick(p.uid); }}>{p.label}</a></td><td>{p.uid}</td><td>{p.role}</td><td>{when(p.created)}</td>
            </tr>
          ))}</tbody>
        </table>
        <form onSubmit={submit(async ({ label }) => { const p = await api(token, 'POST', '/v1/projects', { label }); reloadProjects(); return `created project ${p.label} (${p.uid})`; })}>
          <input name="label" placeholder="new project's name" required /> <button type="submit">create project</button>
        </form>
      </section>
      <section class="card">
        <h2>Products</h2>
        <table data-testid="products">
          <thead><tr><th>product UID</th><th>name</th><th>auto-provision fleets</th></tr></thead>
          <tbody>{products.map((p) => <tr key={p.uid}><td>{p.uid}</td><td>{p.label}</td><td>{p.auto_provision_fleets.join(', ')}</td></tr>)}</tbody>
        </table>
        <form data-testid="product-form" onSubmit={submit(async (f) => { const p = await api(token, 'POST', `${P}/products`, { product_uid: f.product_uid, label: f.label || undefined }); return `created product ${p.uid}`; })}>
          <input name="product_uid" placeholder="com.example.you:product" required /> <input name="label" placeholder="name" />
          <button type="submit">create product</button>
        </form>
      </section>
      <section class="card">
        <h2>Fleets</h2>
        <table data-testid="fleets">
          <thead><tr><th>fleet</th><th>UID</th><th>devices</th><th>created</th><th /></tr></thead>
          <tbody>{fleets.map((f) => (
            <tr key={f.uid} class={open === f.uid ? 'sel' : ''}>
              <td><a href="#" onClick={(e) => { e.preventDefault(); showFleet(f.uid); }}>{f.label}</a></td><td>{f.uid}</td><td>{count(f.uid)}</td><td>{when(f.created)}</td>
              <td><button onClick={() => drop(f.uid)}>delete</button></td>
            </tr>
          ))}</tbody>
        </table>
        <form data-testid="fleet-form" onSubmit={submit(async ({ label }) => { const f = await api(token, 'POST', `${P}/fleets`, { label }); return `created fleet ${f.label}`; })}>
          <input name="label" placeholder="new fleet's name" required /> <button type="submit">create fleet</button>
        </form>
        <form data-testid="move-form" onSubmit={move}>
          move <select name="device" required>{devices.map((d) => <option value={d.uid}>{d.serial_number || d.uid} ({d.uid})</option>)}</select>
          {' '}into <select name="fleet" required>{fleets.map((f) => <option value={f.uid}>{f.label}</option>)}</select>
          {' '}<button type="submit">move</button>
        </form>
      </section>
      {open && (
        <section class="card" data-testid="fleet-devices">
          <h2>Devices in {fleets.find((f) => f.uid === open)?.label}</h2>
          <table>
            <thead><tr><th>device</th><th>serial number</th><th>last seen</th><th /></tr></thead>
            <tbody>{members.map((d) => <tr key={d.uid}><td>{d.uid}</td><td>{d.serial_number}</td><td>{when(d.last_activity)}</td><td><button onClick={() => remove(d.uid)}>remove</button></td></tr>)}</tbody>
          </table>
          {!members.length && <p>No devices in this fleet.</p>}
        </section>
      )}
    </div>
  );
}

const MAX_PHASES = 12; // live phases kept per device update
const fmtBytes = (n) => (n === undefined ? '' : n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/** Firmware images: upload, list, request or cancel an update; each device's progress as the stream pushes it. */
function Firmware({ token, project }) {
  const P = `/v1/projects/${project}`;
  const [images, setImages] = useState([]);
  const [devices, setDevices] = useState([]);
  const [fleets, setFleets] = useState([]);
  const [dfu, setDfu] = useState({}); // `${device} ${type}` -> { ...status, phases }
  const [msg, setMsg] = useState('');
  const fail = (x) => setMsg(x.message);
  const take = (s, pushed) => setDfu((old) => {
    const key = `${s.device_uid} ${s.type}`;
    const was = old[key];
    if (!pushed && was) return old; // what the stream pushed is newer than this read
    const phases = [...(was?.phases ?? []), ...(pushed ? [`${s.status}: ${s.description ?? ''}`] : [])].slice(-MAX_PHASES);
    return { ...old, [key]: { ...s, phases } };
  });
  const loadImages = () => api(token, 'GET', `${P}/firmware`).then(setImages).catch(fail);
  useEffect(() => {
    setDfu({});
    loadImages();
    api(token, 'GET', `${P}/fleets`).then((j) => setFleets(j.fleets)).catch(fail);
    api(token, 'GET', `${P}/devices?pageSize=500`).then(async (j) => {
      setDevices(j.devices);
      for (const d of j.devices) {
        const full = await api(token, 'GET', `${P}/devices/${encodeURIComponent(d.uid)}`);
        for (const [k, type] of [['user', 'host'], ['card', 'notecard']]) {
          const u = full.dfu?.[k];
          if (u) take({ device_uid: d.uid, type, filename: u.file, status: u.mode, description: u.status, read: u.read, length: u.length }, false);
        }
      }
    }).catch(fail);
  }, [project]);
  const live = useEventStream(token, project, (name, d) => { if (name === 'dfu') take(d, true); });
  const upload = async (e) => {
    e.preventDefault();
    const form = e.target;
    const f = fields(e);
    const file = f.file;
    if (!file?.name) return setMsg('choose a file');
    try {
      const q = new URLSearchParams({ version: f.version, notes: f.notes });
      const r = await fetch(`${P}/firmware/${f.type}/${encodeURIComponent(file.name)}?${q}`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' }, body: file });
      const j = await r.json();
      if (!r.ok) throw new Error(j.err ?? `${r.status}`);
      setMsg(`uploaded ${j.filename} (${fmtBytes(j.length)}, md5 ${j.MD5})`);
      form.reset();
      loadImages();
    } catch (x) { fail(x); }
  };
  const request = async (action, f) => {
    const image = images.find((i) => i.filename === f.image);
    const type = image?.type ?? f.type ?? 'host';
    const [kind, uid] = f.target.split(' ');
    try {
      const j = await api(token, 'POST', `${P}/dfu/${type}/${action}?${kind}=${encodeURIComponent(uid)}`, action === 'update' ? { filename: f.image } : undefined);
      setMsg(`${action === 'update' ? `update to ${f.image} requested` : 'update cancelled'} for ${j.devices.length} device(s)`);
    } catch (x) { fail(x); }
  };
  const onRequest = (e) => { e.preventDefault(); request(e.submitter?.value ?? 'update', fields(e)); };
  const sn = (uid) => devices.find((d) => d.uid === uid)?.serial_number || '';
  return (
    <div>
      <p class="msg" data-testid="firmware-msg">{msg}</p>
      <section class="card">
        <h2>Upload firmware</h2>
        <form data-testid="upload-form" onSubmit={upload}>
          <select name="type"><option value="host">host</option><option value="notecard">notecard</option></select>
          {' '}<input type="file" name="file" data-testid="fw-file" required />
          {' '}<input name="version" placeholder="version" /> <input name="notes" placeholder="notes" />
          {' '}<button type="submit">upload</button>
        </form>
      </section>
      <section class="card">
        <h2>Images</h2>
        <table data-testid="firmware">
          <thead><tr><th>name</th><th>type</th><th>version</th><th>length</th><th>md5</th><th>created</th><th>notes</th></tr></thead>
          <tbody>{images.map((i) => <tr key={i.filename}><td>{i.filename}</td><td>{i.type}</td><td>{i.version}</td><td>{i.length}</td><td><code>{i.MD5}</code></td><td>{when(i.created)}</td><td>{i.description}</td></tr>)}</tbody>
        </table>
        <form data-testid="dfu-form" onSubmit={onRequest}>
          update <select name="target" required>
            {devices.map((d) => <option value={`deviceUID ${d.uid}`}>device {d.serial_number || d.uid}</option>)}
            {fleets.map((f) => <option value={`fleetUID ${f.uid}`}>fleet {f.label}</option>)}
          </select>
          {' '}to <select name="image">{[...images].reverse().map((i) => <option value={i.filename}>{i.filename}</option>)}</select>
          {' '}<button type="submit" value="update">request update</button> <button type="submit" value="cancel">cancel update</button>
        </form>
      </section>
      <section class="card">
        <h2>Updates <span class={live ? 'live on' : 'live'} data-testid="dfu-live">{live ? 'live' : 'not live'}</span></h2>
        <table data-testid="dfu">
          <thead><tr><th>device</th><th>type</th><th>image</th><th>status</th><th>progress</th><th>as it happened (latest first)</th></tr></thead>
          <tbody>{Object.entries(dfu).sort().map(([k, s]) => (
            <tr key={k} data-device={s.device_uid} data-status={s.status}>
              <td>{sn(s.device_uid) || s.device_uid}</td><td>{s.type}</td><td>{s.filename}</td>
              <td><b class={`st ${s.status}`}>{s.status}</b> {s.description}</td>
              <td>{s.length ? <progress max={s.length} value={s.read ?? 0} /> : null} {s.length ? `${fmtBytes(s.read ?? 0)} / ${fmtBytes(s.length)}` : ''}</td>
              <td><ul class="phases">{[...s.phases].reverse().map((p) => <li>{p}</li>)}</ul></td>
            </tr>
          ))}</tbody>
        </table>
        {!Object.keys(dfu).length && <p>No updates requested yet.</p>}
      </section>
    </div>
  );
}

const ROUTE_TYPES = ['http', 'proxy', 'notehub'];
const MAX_DELIVERIES = 20;
const list = (s) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** Routes: list, create (http, proxy, notehub), enable/disable, delete, and each one's latest deliveries (pushed). */
function Routes({ token, project }) {
  const P = `/v1/projects/${project}`;
  const [routes, setRoutes] = useState([]);
  const [deliveries, setDeliveries] = useState({});
  const [type, setType] = useState('http');
  const [msg, setMsg] = useState('');
  const fail = (x) => setMsg(x.message);
  const load = () => api(token, 'GET', `${P}/routes`).then(async (rs) => {
    setRoutes(rs);
    for (const r of rs) {
      const logs = await api(token, 'GET', `${P}/routes/${r.uid}/route-logs?sortBy=date&sortOrder=desc&pageSize=${MAX_DELIVERIES}`);
      setDeliveries((old) => (old[r.uid] ? old : { ...old, [r.uid]: logs }));
    }
  }).catch(fail);
  useEffect(() => { setDeliveries({}); load(); }, [project]);
  const live = useEventStream(token, project, (name, d) => {
    if (name === 'delivery') setDeliveries((old) => ({ ...old, [d.routeUID]: [d, ...(old[d.routeUID] ?? [])].slice(0, MAX_DELIVERIES) }));
  });
  const create = async (e) => {
    e.preventDefault();
    const form = e.target;
    const f = fields(e);
    const files = list(f.files);
    const body = { type, label: f.label || undefined };
    if (type === 'http') body.http = { url: f.url, filter: { type: files.length ? 'include' : 'all', files } };
    if (type === 'proxy') body.proxy = { url: f.url, alias: f.alias, timeout: f.timeout ? Number(f.timeout) : undefined };
    if (type === 'notehub') body.notehub = { url: f.url, pid: f.pid, psk: f.psk, filter: { files } };
    try { const r = await api(token, 'POST', `${P}/routes`, body); setMsg(`created route ${r.label}`); form.reset(); load(); } catch (x) { fail(x); }
  };
  const set = (r, disabled) => api(token, 'PUT', `${P}/routes/${r.uid}`, { type: r.type, disabled })
    .then(() => { setMsg(`${disabled ? 'disabled' : 'enabled'} ${r.label}`); load(); }).catch(fail);
  const del = (r) => api(token, 'DELETE', `${P}/routes/${r.uid}`).then(() => { setMsg(`deleted ${r.label}`); load(); }).catch(fail);
  const detail = (r) => (r.type === 'proxy' ? `alias ${r.proxy.alias}${r.proxy.timeout ? `, ${r.proxy.timeout}s` : ''}`
    : r.type === 'notehub' ? `publisher ${r.notehub.pid}; ${r.notehub.filter.files.join(', ') || 'all notefiles'}`
      : r.http.filter.files.join(', ') || 'all notefiles');
  return (
    <div>
      <p class="msg" data-testid="routes-msg">{msg}</p>
      <section class="card">
        <h2>Routes <span class={live ? 'live on' : 'live'} data-testid="routes-live">{live ? 'live' : 'not live'}</span></h2>
        <table data-testid="routes">
          <thead><tr><th>route</th><th>type</th><th>URL</th><th>what</th><th>state</th><th /><th>latest deliveries</th></tr></thead>
          <tbody>{routes.map((r) => (
            <tr key={r.uid} data-route={r.label} data-state={r.disabled ? 'disabled' : 'enabled'}>
              <td>{r.label}</td><td>{r.type}</td><td>{r[r.type]?.url}</td><td>{detail(r)}</td><td>{r.disabled ? 'disabled' : 'enabled'}</td>
              <td>
                <button onClick={() => set(r, !r.disabled)}>{r.disabled ? 'enable' : 'disable'}</button>{' '}
                <button onClick={() => del(r)}>delete</button>
              </td>
              <td>{r.type === 'proxy' ? <span class="note">carries the cards' web requests</span> : (
                <ul class="deliveries">{(deliveries[r.uid] ?? []).slice(0, 5).map((d) => (
                  <li class={d.attn ? 'err' : 'ok'} title={`${d.eventUID}${d.text ? `: ${d.text}` : ''}`}>{when(d.date)} {d.attn ? `failed: ${d.status ? `HTTP ${d.status}` : d.text}${d.dead ? ' (gave up)' : ''}` : 'delivered'}{d.attempt > 1 ? ` (attempt ${d.attempt})` : ''}</li>
                ))}</ul>
              )}</td>
            </tr>
          ))}</tbody>
        </table>
        {!routes.length && <p>No routes yet.</p>}
      </section>
      <section class="card">
        <h2>New route</h2>
        <form data-testid="route-form" onSubmit={create}>
          <select name="type" value={type} onChange={(e) => setType(e.target.value)}>{ROUTE_TYPES.map((t) => <option value={t}>{t}</option>)}</select>
          {' '}<input name="label" placeholder="name" /> <input name="url" placeholder={type === 'notehub' ? 'https://host/api/note' : 'https://...'} required />
          {type !== 'proxy' && <> <input name="files" placeholder="notefiles (comma-separated; all if empty)" /></>}
          {type === 'proxy' && <> <input name="alias" placeholder="alias" required /> <input name="timeout" type="number" min="0" placeholder="timeout (s)" /></>}
          {type === 'notehub' && <> <input name="pid" placeholder="publisher ID" required /> <input name="psk" placeholder="publisher key" required /></>}
          {' '}<button type="submit">create route</button>
        </form>
      </section>
    </div>
  );
}

const VIEWS = ['devices', 'fleets', 'firmware', 'routes'];

function App() {
  const [token, setToken] = useState(localStorage.getItem(TOKEN_KEY) ?? '');
  const [projects, setProjects] = useState([]);
  const [project, setProject] = useState('');
  const [device, setDevice] = useState('');
  const [view, setView] = useState('devices');
  const loadProjects = () => api(token, 'GET', '/v1/projects').then((j) => { setProjects(j.projects); setProject((p) => p || j.projects[0]?.uid || ''); });
  useEffect(() => {
    if (!token) return;
    loadProjects().catch(() => { localStorage.removeItem(TOKEN_KEY); setToken(''); });
  }, [token]);
  if (!token) return <SignIn onToken={(t) => { localStorage.setItem(TOKEN_KEY, t); setToken(t); }} />;
  return (
    <div>
      <header>
        <b>notehub-lite</b>
        <select data-testid="project" value={project} onChange={(e) => { setProject(e.target.value); setDevice(''); }}>
          {projects.map((p) => <option value={p.uid}>{p.label} ({p.uid})</option>)}
        </select>
        <nav>{VIEWS.map((v) => <a href="#" data-view={v} class={view === v ? 'on' : ''} onClick={(e) => { e.preventDefault(); setView(v); setDevice(''); }}>{v}</a>)}</nav>
        <button onClick={() => { localStorage.removeItem(TOKEN_KEY); setToken(''); }}>sign out</button>
      </header>
      {project && view === 'fleets' && <Fleets token={token} project={project} projects={projects} pick={setProject} reloadProjects={() => loadProjects().catch(() => {})} />}
      {project && view === 'firmware' && <Firmware token={token} project={project} />}
      {project && view === 'routes' && <Routes token={token} project={project} />}
      {project && view === 'devices' && (device
        ? <Device token={token} project={project} device={device} back={() => setDevice('')} />
        : <Project token={token} project={project} openDevice={setDevice} />)}
    </div>
  );
}

render(<App />, document.getElementById('app'));
