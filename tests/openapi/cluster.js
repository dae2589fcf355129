'use strict';
// Starts a real standalone broker (with its embedded name server) and a
// tern-console pointed at it, and signs Open API calls the way the guide says
// (spec/open-api.md §2.4): values sorted by name, HMAC-SHA1, Base64.
//
// Binaries come from <repo>/build unless TERN_BUILD_DIR says otherwise.

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(REPO_ROOT, 'build');

const MAIN = { user: '1000000000000001', ak: 'AK_MAIN', sk: 'SK_MAIN' };
const OTHER = { user: '2000000000000002', ak: 'AK_OTHER', sk: 'SK_OTHER' };
const SUB = { user: '1000000000000011', ak: 'AK_SUB', sk: 'SK_SUB' };
const SUBP = { user: '1000000000000012', ak: 'AK_SUBP', sk: 'SK_SUBP' };
const OFF = { user: '1000000000000013', ak: 'AK_OFF', sk: 'SK_OFF' };

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// Calls get() (sync or async) until pred(value) holds or `tries` calls were
// made, `ms` apart; returns the last value, for the caller to assert on.
async function until(get, pred, tries, ms) {
  let v;
  for (let i = 0; i < tries; i++) {
    v = await get();
    if (pred(v)) break;
    if (i + 1 < tries) await sleep(ms);
  }
  return v;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise(resolve => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = ok => { sock.destroy(); resolve(ok); };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function waitPort(port, child, what) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (code ${child.exitCode}) before port ${port} opened`);
    }
    if (await tryConnect(port)) return;
    await sleep(30);
  }
  throw new Error(`${what}: port ${port} did not open`);
}

function run(bin, args, logFile) {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(path.join(BUILD, bin), args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise(resolve => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// Starts broker + console. extra: more config lines.
async function startCluster(extra = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-openapi-'));
  const [bp, np, hp] = [await freePort(), await freePort(), await freePort()];
  const conf = path.join(dir, 'broker.conf');
  fs.writeFileSync(conf, [
    'brokerClusterName=DefaultCluster', 'brokerName=broker-oa', 'brokerId=0',
    'brokerIP1=127.0.0.1', `listenPort=${bp}`, `namesrvPort=${np}`,
    `namesrvAddr=127.0.0.1:${np}`, `storePathRootDir=${path.join(dir, 'store')}`,
    'autoCreateTopicEnable=false',
    // The console under test runs on its own; the broker embeds none.
    'openApiEnable=false',
    `openApiPort=${hp}`, `openApiDbPath=${path.join(dir, 'console', 'openapi.db')}`,
    `openApiAccessKey=${MAIN.ak}`, `openApiSecretKey=${MAIN.sk}`, `openApiUserId=${MAIN.user}`,
    'openApiExtraAccounts=' + [
      `${OTHER.user}:0:${OTHER.ak}:${OTHER.sk}`,
      `${SUB.user}:${MAIN.user}:${SUB.ak}:${SUB.sk}`,
      `${SUBP.user}:${MAIN.user}:${SUBP.ak}:${SUBP.sk}:privileged`,
      `${OFF.user}:${MAIN.user}:${OFF.ak}:${OFF.sk}:disabled`,
    ].join(';'),
    ...extra,
  ].join('\n') + '\n');
  const c = { dir, conf, brokerPort: bp, namesrvPort: np, httpPort: hp };
  c.broker = run('mqbroker', ['--standalone', '-c', conf], path.join(dir, 'broker.log'));
  await waitPort(bp, c.broker, 'mqbroker');
  await startConsole(c);
  return c;
}

async function startConsole(c) {
  c.console = run('tern-console', ['-c', c.conf], path.join(c.dir, 'console.log'));
  await waitPort(c.httpPort, c.console, 'tern-console');
}

async function stopCluster(c) {
  if (!c) return;
  await stop(c.console);
  await stop(c.broker);
  if (!process.env.TERN_KEEP_TMP) fs.rmSync(c.dir, { recursive: true, force: true });
}

function sign(params, secret) {
  const sts = Object.keys(params).filter(k => k !== '_signature').sort()
    .map(k => params[k]).join('');
  return crypto.createHmac('sha1', secret).update(sts, 'utf8').digest('base64');
}

// Calls path with endpoint params, signed as acct. opts: method ('GET' or
// 'POST' form), region (undefined = mq-private, null = omit), raw (return the
// Response), tamper (change the signature), noSign.
async function call(c, apiPath, params = {}, acct = MAIN, opts = {}) {
  const p = { _accesskey: acct.ak, __preventCache: String(Date.now()), ...params };
  if (opts.region !== null) p._regionId = opts.region || 'mq-private';
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  if (!opts.noSign) {
    let s = sign(p, acct.sk);
    if (opts.tamper) s = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    p._signature = s;
  }
  const body = new URLSearchParams(p).toString();
  const base = `http://127.0.0.1:${c.httpPort}${apiPath}`;
  const res = opts.method === 'POST'
    ? await fetch(base, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    : await fetch(`${base}?${body}`);
  if (opts.raw) return res;
  const text = await res.text();
  const json = JSON.parse(text);
  json.httpStatus = res.status;
  return json;
}

// Topic (or group) configs a broker really holds (tests/openapi/broker_probe.c).
function brokerHolds(c, what) {
  const out = execFileSync(path.join(BUILD, 'broker_probe'), [`127.0.0.1:${c.brokerPort}`, what]);
  const j = JSON.parse(out.toString());
  return what === 'topics' ? j.topicConfigTable : j.subscriptionGroupTable;
}

module.exports = {
  MAIN, OTHER, SUB, SUBP, OFF, startCluster, startConsole, stopCluster, stop, call, sign,
  brokerHolds, sleep, until,
};
