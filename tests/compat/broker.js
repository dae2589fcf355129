'use strict';
// Starts real Tern broker processes for the compatibility suite.
//
// Each broker runs as `mqbroker --standalone -c <tmp>/broker.conf` with its
// own temporary store directory and two free loopback ports: listenPort (the
// broker) and namesrvPort (the embedded name server). The binary is
// <repo>/build/mqbroker unless TERN_BROKER_BIN says otherwise.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BROKER_BIN = process.env.TERN_BROKER_BIN
  ? path.resolve(process.env.TERN_BROKER_BIN)
  : path.join(REPO_ROOT, 'build', 'mqbroker');

const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 5000;
const LOG_TAIL_BYTES = 16384;

// Every broker process still alive; killed when the test process exits, so a
// crashed test never leaves a broker behind.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

// Asks the kernel for a free port on 127.0.0.1.
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

async function waitPort(port, deadline, child) {
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`broker exited (code ${child.exitCode}, signal ${child.signalCode}) before port ${port} opened`);
    }
    if (await tryConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not accept connections within ${START_TIMEOUT_MS} ms`);
}

function writeConf(file, o) {
  const lines = [
    'brokerClusterName=DefaultCluster',
    `brokerName=${o.brokerName}`,
    'brokerId=0',
    'brokerIP1=127.0.0.1',
    `listenPort=${o.listenPort}`,
    `namesrvPort=${o.namesrvPort}`,
    `namesrvAddr=127.0.0.1:${o.namesrvPort}`,
    `storePathRootDir=${o.storeDir}`,
    'flushDiskType=ASYNC_FLUSH',
    'autoCreateTopicEnable=true',
    ...Object.entries(o.extra || {}).map(([k, v]) => `${k}=${v}`),
  ];
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

/**
 * Starts a broker and waits until both its ports accept connections.
 * @param {object} [opts]
 * @param {string} [opts.brokerName] broker name (default broker-compat)
 * @param {object} [opts.extra] additional broker.conf keys
 * @return {Promise<object>} { namesrvAddr, brokerAddr, brokerName, storeDir,
 *   stop(), kill9(), restart({ kill }), logTail(), pid }
 */
async function startBroker(opts = {}) {
  if (!fs.existsSync(BROKER_BIN)) {
    throw new Error(`broker binary not found at ${BROKER_BIN} (build it, or set TERN_BROKER_BIN)`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-compat-'));
  const storeDir = path.join(tmp, 'store');
  fs.mkdirSync(storeDir);
  const listenPort = await freePort();
  let namesrvPort = await freePort();
  while (namesrvPort === listenPort) namesrvPort = await freePort();
  const brokerName = opts.brokerName || 'broker-compat';
  const confFile = path.join(tmp, 'broker.conf');
  writeConf(confFile, { brokerName, listenPort, namesrvPort, storeDir, extra: opts.extra });

  let log = '';
  let child = null;
  let generation = 0;

  const append = chunk => {
    log += chunk.toString();
    if (log.length > 4 * LOG_TAIL_BYTES) log = log.slice(-LOG_TAIL_BYTES);
  };

  async function spawnOnce() {
    generation++;
    append(`\n=== broker start #${generation} (${BROKER_BIN} --standalone -c ${confFile}) ===\n`);
    child = spawn(BROKER_BIN, [ '--standalone', '-c', confFile ], {
      cwd: tmp,
      stdio: [ 'ignore', 'pipe', 'pipe' ],
    });
    const me = child;
    live.add(me);
    me.stdout.on('data', append);
    me.stderr.on('data', append);
    me.on('exit', (code, signal) => {
      live.delete(me);
      append(`=== broker #${generation} exited code=${code} signal=${signal} ===\n`);
    });
    me.on('error', err => append(`=== spawn error: ${err.message} ===\n`));
    const deadline = Date.now() + START_TIMEOUT_MS;
    try {
      await waitPort(listenPort, deadline, me);
      await waitPort(namesrvPort, deadline, me);
    } catch (err) {
      await stopChild(me, 'SIGKILL');
      err.message += '\n--- broker output ---\n' + log.slice(-LOG_TAIL_BYTES);
      throw err;
    }
  }

  function stopChild(c, signal) {
    return new Promise(resolve => {
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      const timer = setTimeout(() => {
        append('=== broker did not exit after SIGTERM; sending SIGKILL ===\n');
        try { c.kill('SIGKILL'); } catch { /* gone */ }
      }, STOP_TIMEOUT_MS);
      c.once('exit', () => { clearTimeout(timer); resolve(); });
      try { c.kill(signal); } catch { clearTimeout(timer); resolve(); }
    });
  }

  await spawnOnce();

  return {
    brokerName,
    namesrvAddr: `127.0.0.1:${namesrvPort}`,
    brokerAddr: `127.0.0.1:${listenPort}`,
    storeDir,
    get pid() { return child && child.pid; },
    logTail(n = LOG_TAIL_BYTES) { return log.slice(-n); },
    /** Graceful stop (SIGTERM, SIGKILL after 5 s). Idempotent. */
    async stop() {
      await stopChild(child, 'SIGTERM');
    },
    /** Hard kill, as a crash would. */
    async kill9() {
      await stopChild(child, 'SIGKILL');
    },
    /** Stops (gracefully, or with SIGKILL when kill is true) and starts again on the same ports and store. */
    async restart({ kill = false } = {}) {
      await stopChild(child, kill ? 'SIGKILL' : 'SIGTERM');
      await spawnOnce();
    },
    /** Removes the temporary directory (call after stop). */
    cleanup() {
      try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* ignore */ }
    },
  };
}

module.exports = { startBroker, freePort, sleep, BROKER_BIN, REPO_ROOT };
