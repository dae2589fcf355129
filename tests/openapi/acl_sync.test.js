'use strict';
// TCP access control from the console's accounts, topics, groups and grants
// (docs/design/acl.md "The pushed table"): a broker with aclEnable=true gets
// the table from tern-console (TERN_PUT_ACL_TABLE, signed by
// aclAdminAccessKey), and libons clients (tests/openapi/msg_tool.c) with
// each account's keys are let through or refused accordingly.
//
// Grants: when /json/empower/create is not served by this build, grants are
// written straight into the console's database with the sqlite3 CLI (a
// test-only path); the console's periodic push (openApiAclPushIntervalMs=1000
// here) carries them to the broker.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { spawn, execFileSync, spawnSync } = require('node:child_process');
const {
  MAIN, OTHER, SUB, startCluster, startConsole, stopCluster, stop, call, until,
} = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');
const ADMIN = { ak: 'AK_BROKER_ADMIN', sk: 'SK_BROKER_ADMIN' };
const TOPIC = 'T_acl';
const GROUP = 'GID_acl';

let c;
let ns;
let instanceId;
function ok(r) { assert.equal(r.success, true, JSON.stringify(r)); return r.data; }

// inst: the namespaced instance the client is configured with (INSTANCE_ID).
const env = (acct, inst) => {
  const e = { ...process.env, ACCESS_KEY: acct.ak, SECRET_KEY: acct.sk };
  if (inst) e.INSTANCE_ID = inst; else delete e.INSTANCE_ID;
  return e;
};

// One send as acct: { ok, out } (out = stderr on failure).
function send(acct, n = 1, topic = TOPIC, inst = undefined) {
  const r = spawnSync(TOOL, ['send', ns, topic, 'TagA', 'k', String(n)], { env: env(acct, inst) });
  return { ok: r.status === 0, out: (r.status === 0 ? r.stdout : r.stderr).toString() };
}

// Consumes as acct/group for `seconds`; resolves to the number of messages seen.
function consume(acct, group, seconds, topic = TOPIC, inst = undefined) {
  return new Promise((resolve, reject) => {
    const child = spawn(TOOL, ['consume', ns, group, topic, '*', '0', String(seconds)],
      { env: env(acct, inst) });
    let out = '';
    child.stdout.on('data', d => { out += d; });
    child.on('error', reject);
    child.on('exit', () => resolve(out.split('\n').filter(l => l.startsWith('consumed ')).length));
  });
}

// Retries send until it has the wanted outcome (the push is asynchronous).
async function sendUntil(acct, wantOk, what, topic = TOPIC, inst = undefined) {
  const r = await until(() => send(acct, 1, topic, inst), x => x.ok === wantOk, 40, 250);
  if (r.ok !== wantOk) assert.fail(`${what}: send ok=${r.ok} (wanted ${wantOk}): ${r.out}`);
  return r;
}

// Waits until the table the broker saved satisfies pred. The console pushes
// changes asynchronously; the broker writes config/acl.json only after the
// new table is in force, so a match there means the rule applies.
async function tableUntil(pred, what) {
  const file = path.join(c.dir, 'store', 'config', 'acl.json');
  const read = () => {
    try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { return null; } // not yet, or being replaced
  };
  const t = await until(read, x => x !== null && pred(x), 100, 100);
  if (t === null || !pred(t)) assert.fail(`${what}: the broker's saved table did not change within 10 s`);
}

function sql(stmt) {
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(c.dir, 'console', 'openapi.db'), stmt]);
}

async function grant(user, relation) {
  const r = await call(c, '/json/empower/create', { topic: TOPIC, empowerUser: user, relation: String(relation) });
  if (r.success) return;
  assert.equal(r.dynamicCode, 'ONS_SERVICE_UNSUPPORTED', JSON.stringify(r));
  sql(`INSERT OR REPLACE INTO empower(instance_id, topic, owner, empower_user, relation, create_time)
       VALUES('${instanceId}', '${TOPIC}', ${MAIN.user}, ${user}, ${relation}, 0)`);
}

async function revoke(user) {
  const r = await call(c, '/json/empower/delete', { topic: TOPIC, empowerUser: user });
  if (r.success) return;
  assert.equal(r.dynamicCode, 'ONS_SERVICE_UNSUPPORTED', JSON.stringify(r));
  sql(`DELETE FROM empower WHERE instance_id='${instanceId}' AND topic='${TOPIC}' AND empower_user=${user}`);
}

test.before(async () => {
  c = await startCluster([
    'aclEnable=true', `aclAdminAccessKey=${ADMIN.ak}`, `aclAdminSecretKey=${ADMIN.sk}`,
    'openApiAclPushIntervalMs=1000',
  ]);
  ns = `127.0.0.1:${c.namesrvPort}`;
  instanceId = ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'plain', independentNaming: 'false',
    maxSendTps: '1000', maxReceiveTps: '1000',
  })).instanceId;
  ok(await call(c, '/json/topic/create', { topic: TOPIC, orderType: '0' }));
  ok(await call(c, '/json/group/create', { groupId: GROUP }));
  // The stranger's own instance and group (its consumer needs a group it may use).
  ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'other', independentNaming: 'false',
    maxSendTps: '1000', maxReceiveTps: '1000',
  }, OTHER));
  ok(await call(c, '/json/group/create', { groupId: 'GID_other' }, OTHER));
});
test.after(async () => { await stopCluster(c); });

test('owner sends and consumes; strangers and foreign groups are refused', async () => {
  await sendUntil(MAIN, true, 'owner after the first push');
  send(MAIN, 2);
  assert.ok(await consume(MAIN, GROUP, 4) >= 3, 'the owner consumes its messages');

  const stranger = send(OTHER);
  assert.equal(stranger.ok, false);
  assert.match(stranger.out, /may not publish to topic T_acl|NO_PERMISSION|16/);
  const unknown = send({ ak: 'AK_NOBODY', sk: 'x' });
  assert.equal(unknown.ok, false);

  // A sub-account may use its main account's topic, not the main account's group.
  assert.equal(send(SUB).ok, true, 'sub-account of the owner sends');
  send(MAIN, 1);
  assert.equal(await consume(SUB, GROUP, 3), 0, 'sub-account may not use the main account\'s group');
  assert.equal(await consume(OTHER, 'GID_other', 3), 0, 'no SUB right without a grant');
});

test('a PUB grant lets the grantee send but not consume; revoking it refuses again', async () => {
  await grant(OTHER.user, 2);
  await sendUntil(OTHER, true, 'grantee with relation 2');
  assert.equal(await consume(OTHER, 'GID_other', 3), 0, 'relation 2 has no SUB right');
  await revoke(OTHER.user);
  const r = await sendUntil(OTHER, false, 'after revoking the grant');
  assert.match(r.out, /may not publish to topic T_acl|NO_PERMISSION|16/);
});

test('topic perm and group readEnable are enforced', async () => {
  ok(await call(c, '/json/topic/update', { topic: TOPIC, perm: '4' }));
  await sendUntil(MAIN, false, 'perm=4 (read-only)');
  ok(await call(c, '/json/topic/update', { topic: TOPIC, perm: '2' }));
  await sendUntil(MAIN, true, 'perm=2 (write-only)');
  assert.equal(await consume(MAIN, GROUP, 3), 0, 'perm=2: nothing is delivered');
  ok(await call(c, '/json/topic/update', { topic: TOPIC, perm: '6' }));
  await tableUntil(t => t.topics.some(x => x.topic === TOPIC && x.perm === 6), 'perm=6');
  assert.ok(await consume(MAIN, GROUP, 4) >= 1, 'perm=6 again: the backlog is delivered');

  ok(await call(c, '/json/group/consumerUpdate', { groupId: GROUP, readEnable: 'false' }));
  await tableUntil(t => t.groups.some(g => g.group === GROUP && g.readEnable === false),
    'readEnable=false');
  send(MAIN, 1);
  assert.equal(await consume(MAIN, GROUP, 3), 0, 'readEnable=false: nothing is delivered');
  ok(await call(c, '/json/group/consumerUpdate', { groupId: GROUP, readEnable: 'true' }));
  await tableUntil(t => t.groups.some(g => g.group === GROUP && g.readEnable === true),
    'readEnable=true');
  assert.ok(await consume(MAIN, GROUP, 4) >= 1, 'readEnable=true again');
});

test('namespaced instance: rules follow the physical names', async () => {
  const inst = ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'spaced', independentNaming: 'true',
    maxSendTps: '1000', maxReceiveTps: '1000',
  })).instanceId;
  ok(await call(c, '/json/topic/create', { instanceId: inst, topic: 'T_ns', orderType: '0' }));
  ok(await call(c, '/json/group/create', { instanceId: inst, groupId: 'GID_ns' }));
  await sendUntil(MAIN, true, 'owner in a namespaced instance', 'T_ns', inst);
  assert.ok(await consume(MAIN, 'GID_ns', 4, 'T_ns', inst) >= 1);
  // The plain name is another topic (unknown to the broker and to the table).
  assert.equal(send(MAIN, 1, 'T_ns').ok, false);
  assert.equal(send(OTHER, 1, 'T_ns', inst).ok, false);
});

test('a broker restarted without the console keeps the last rules', async () => {
  await stop(c.console);
  await stop(c.broker);
  const file = path.join(c.dir, 'store', 'config', 'acl.json');
  const table = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.ok(table.topics.some(t => t.topic === TOPIC));
  const log = fs.openSync(path.join(c.dir, 'broker2.log'), 'a');
  c.broker = spawn(path.join(BUILD, 'mqbroker'), ['--standalone', '-c', c.conf],
    { stdio: ['ignore', log, log] });
  await sendUntil(MAIN, true, 'owner after restart');
  assert.equal(send(OTHER).ok, false, 'stranger after restart');
  await startConsole(c);
});
