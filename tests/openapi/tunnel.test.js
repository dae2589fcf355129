'use strict';
// /json/vpcTunnel/tunnelSwitch (spec/open-api.md §6.3.1) against a real
// broker: the configured addresses per tunnel type, vSwitch and cluster; the
// returned NAMESRV_ADDR and every instance's tcpEndpoint afterwards (also
// after a console restart); the traffic check (refused while a producer runs
// unless force=true); permissions; and a deployment without tunnels.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const {
  MAIN, OTHER, SUB, SUBP, startCluster, startConsole, stopCluster, stop, call, sleep,
} = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TUNNELS = 'openApiTunnels=anyTunnel=10.1.0.1:9876;10.1.0.2:9876,singleTunnel=10.2.0.1:9876,'
  + 'singleTunnel/vsw-b=10.3.0.1:9876, OtherCluster:anyTunnel=10.9.0.1:9876';
const SWITCH = '/json/vpcTunnel/tunnelSwitch';

const ok = r => { assert.equal(r.success, true, JSON.stringify(r)); return r.data; };
const fail = (r, code) => {
  assert.equal(r.success, false, JSON.stringify(r));
  assert.equal(r.dynamicCode, code, JSON.stringify(r));
  return r.dynamicMessage;
};
const inst = (name, ns) => ({
  cluster: 'DefaultCluster', instanceName: name, independentNaming: String(ns),
  maxSendTps: '100', maxReceiveTps: '100',
});

test('without openApiTunnels the endpoint is not offered', async () => {
  const c = await startCluster();
  try {
    const i = ok(await call(c, '/json/instance/create', inst('plain-a', true)));
    fail(await call(c, SWITCH, { instanceId: i.instanceId, tunnelType: 'anyTunnel' }),
      'ONS_SERVICE_UNSUPPORTED');
  } finally {
    await stopCluster(c);
  }
});

test('a malformed openApiTunnels stops the console at start', () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'tern-tunnel-'));
  try {
    const conf = path.join(dir, 'c.conf');
    fs.writeFileSync(conf, ['openApiPort=0', `openApiDbPath=${path.join(dir, 'db')}`,
      'openApiAccessKey=AK', 'openApiSecretKey=SK', 'openApiTunnels=fastTunnel=1.2.3.4:9876'].join('\n'));
    const r = spawnSync(path.join(BUILD, 'tern-console'), ['-c', conf], { timeout: 10000 });
    assert.notEqual(r.status, 0);
    assert.equal(r.signal, null);
    assert.match(r.stderr.toString() + r.stdout.toString(), /openApiTunnels/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tunnelSwitch: validation, addresses, endpoints, traffic check, restart', async () => {
  const c = await startCluster([TUNNELS]);
  let producer;
  try {
    const ns = ok(await call(c, '/json/instance/create', inst('tunnel-ns', true)));
    const def = ok(await call(c, '/json/instance/create', inst('tunnel-def', false)));
    const id = ns.instanceId;
    const sw = (p, acct) => call(c, SWITCH, { instanceId: id, ...p }, acct);

    fail(await sw({}), 'BIZ_FIELD_CHECK_INVALID');
    fail(await sw({ tunnelType: 'fastTunnel' }), 'BIZ_FIELD_CHECK_INVALID');
    fail(await call(c, SWITCH, { tunnelType: 'anyTunnel' }), 'BIZ_FIELD_CHECK_INVALID');
    fail(await sw({ tunnelType: 'anyTunnel', force: 'maybe' }), 'BIZ_FIELD_CHECK_INVALID');
    fail(await sw({ tunnelType: 'anyTunnel' }, SUB), 'ONS_PERMISSION_DENIED');
    fail(await sw({ tunnelType: 'anyTunnel' }, OTHER), 'BIZ_FIELD_CHECK_INVALID');
    fail(await sw({ tunnelType: 'anyTunnel', instanceId: 'MQ_INST_nope' }), 'BIZ_FIELD_CHECK_INVALID');
    // vSwitches are listed for singleTunnel, and vsw-x is not one of them.
    fail(await sw({ tunnelType: 'singleTunnel', vSwitchId: 'vsw-x' }), 'BIZ_FIELD_CHECK_INVALID');
    // Nothing changed so far.
    const before = ok(await call(c, '/json/instance/baseInfo', { instanceId: id }));
    assert.equal(before.endpoints.tcpEndpoint, `${id}.127.0.0.1:${c.namesrvPort}`);

    // An idle cluster switches without force; the namespaced endpoint form.
    assert.equal(ok(await sw({ tunnelType: 'anyTunnel', slbUrl: 'http://slb.local/api' })),
      `${id}.10.1.0.1:9876;${id}.10.1.0.2:9876`);
    let b = ok(await call(c, '/json/instance/baseInfo', { instanceId: id }, SUB));
    assert.equal(b.endpoints.tcpEndpoint, `${id}.10.1.0.1:9876;${id}.10.1.0.2:9876`);
    // The whole cluster switched: the instance without a namespace too.
    b = ok(await call(c, '/json/instance/baseInfo', { instanceId: def.instanceId }));
    assert.equal(b.endpoints.tcpEndpoint, '10.1.0.1:9876;10.1.0.2:9876');

    // A privileged sub-account; vSwitch-specific and general single tunnels;
    // a vSwitch is ignored for anyTunnel.
    assert.equal(ok(await sw({ tunnelType: 'singleTunnel', vSwitchId: 'vsw-b' }, SUBP)),
      `${id}.10.3.0.1:9876`);
    assert.equal(ok(await sw({ tunnelType: 'singleTunnel', force: 'true' })), `${id}.10.2.0.1:9876`);
    assert.equal(ok(await call(c, SWITCH, { instanceId: def.instanceId, tunnelType: 'anyTunnel',
      vSwitchId: 'vsw-x' })), '10.1.0.1:9876;10.1.0.2:9876');

    // Traffic: a producer keeps the broker above 10 TPS.
    producer = spawn(path.join(BUILD, 'mqbench'), ['produce', '-n', `127.0.0.1:${c.namesrvPort}`,
      '-t', 'TunnelLoad', '--create', '-b', `127.0.0.1:${c.brokerPort}`, '-q', '1', '-w', '1',
      '-s', '64', '-d', '20'], { stdio: 'ignore' });
    await sleep(2500);
    const why = fail(await sw({ tunnelType: 'singleTunnel' }), 'BIZ_FIELD_CHECK_INVALID');
    assert.match(why, /broker-oa .* TPS .*force=true/);
    assert.equal(ok(await call(c, '/json/instance/baseInfo', { instanceId: id })).endpoints.tcpEndpoint,
      `${id}.10.1.0.1:9876;${id}.10.1.0.2:9876`);
    assert.equal(ok(await sw({ tunnelType: 'singleTunnel', force: 'true' })), `${id}.10.2.0.1:9876`);
    producer.kill('SIGTERM');
    await new Promise(resolve => producer.once('exit', resolve));
    producer = null;

    // The switch is stored: it survives a console restart.
    await stop(c.console);
    await startConsole(c);
    b = ok(await call(c, '/json/instance/baseInfo', { instanceId: id }));
    assert.equal(b.endpoints.tcpEndpoint, `${id}.10.2.0.1:9876`);
  } finally {
    if (producer) producer.kill('SIGKILL');
    await stopCluster(c);
  }
});
