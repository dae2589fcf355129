'use strict';
// End to end through the Open API with access control on (issue 5): a
// namespaced instance, one topic of every orderType and the Group IDs are
// created through the API; libons (tests/openapi/msg_tool.c) and ali-ons
// (tests/compat's node_modules) send and consume with the main account's
// AccessKey/SecretKey against a broker whose rules the console pushed; then
// accumulate, trend, trace, getById/getByKey and the dead-letter endpoints
// must report exactly what the test did.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { MAIN, OTHER, startCluster, stopCluster, call, sleep } = require('./cluster');

const BUILD = process.env.TERN_BUILD_DIR
  ? path.resolve(process.env.TERN_BUILD_DIR)
  : path.join(__dirname, '..', '..', 'build');
const TOOL = path.join(BUILD, 'msg_tool');
// ali-ons is installed by `npm ci` in tests/compat (scripts/test.sh does it first).
const ONS_DIR = path.join(__dirname, '..', 'compat');
const ons = require(require.resolve('ali-ons', { paths: [ONS_DIR] }));
const ADMIN = { ak: 'AK_E2E_ADMIN', sk: 'SK_E2E_ADMIN' };
const MIN = 60000;
const N = 5;

// orderType -> topic and the msg_tool producer kind that may send to it.
const TOPICS = [
  { orderType: 0, topic: 'T_e2e_normal', kind: 'normal', group: 'GID_e2e_normal' },
  { orderType: 1, topic: 'T_e2e_part', kind: 'order', group: 'GID_e2e_part' },
  { orderType: 2, topic: 'T_e2e_global', kind: 'order', group: 'GID_e2e_global' },
  { orderType: 4, topic: 'T_e2e_txn', kind: 'txn', group: 'GID_e2e_txn' },
  { orderType: 5, topic: 'T_e2e_delay', kind: 'delay', group: 'GID_e2e_delay' },
];
const ALI_GROUP = 'GID_e2e_ali';
const DLQ_GROUP = 'GID_e2e_dlq';

let c;
let ns;
let inst;
const start = Date.now();

function ok(r) { assert.equal(r.success, true, JSON.stringify(r)); return r.data; }
const env = extra => ({
  ...process.env, ACCESS_KEY: MAIN.ak, SECRET_KEY: MAIN.sk, INSTANCE_ID: inst, ...extra,
});

// Sends n messages with libons; returns their Message IDs (throws on failure).
function send(topic, kind, tag, key, n, extra = {}) {
  const r = spawnSync(TOOL, ['send', ns, topic, tag, key, String(n)],
    { env: env({ SEND_KIND: kind, ...extra }) });
  if (r.status !== 0) throw new Error(`msg_tool send ${topic} (${kind}): ${r.stderr}`);
  return r.stdout.toString().trim().split('\n');
}

// A libons consumer: resolves with the Message IDs seen once `count` arrived
// (staying online `hold` s more), and when each arrived.
function consume(group, topic, count, hold, mode) {
  const args = ['consume', ns, group, topic, '*', String(count), String(hold)];
  if (mode) args.push(mode);
  const child = spawn(TOOL, args, { env: env() });
  const seen = [];
  let buf = '';
  let started;
  const online = new Promise(resolve => { started = resolve; });
  child.stdout.on('data', d => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'started') started();
      if (line.startsWith('consumed ')) seen.push({ id: line.slice(9), at: Date.now() });
    }
  });
  const done = new Promise((resolve, reject) => {
    child.on('exit', code => (code === 0 ? resolve(seen)
      : reject(new Error(`msg_tool consume ${group} exit ${code}, saw ${seen.length}`))));
  });
  return { online, done, seen };
}

// Polls a trend endpoint until its total reaches want (the console polls
// the brokers every 300 ms here), then returns the total.
async function trendTotal(apiPath, params, want) {
  let total = -1;
  for (let i = 0; i < 60; i++) {
    const d = ok(await call(c, apiPath, {
      instanceId: inst, ...params, beginTime: String(start - MIN), endTime: String(Date.now() + MIN),
      period: '1', type: '0',
    }));
    total = d.records.reduce((s, r) => s + r.y, 0);
    if (total >= want) break;
    await sleep(250);
  }
  return total;
}

function aliOptions(extra) {
  return {
    nameSrv: ns,
    httpclient: { async request() { throw new Error('nameSrv only'); } },
    accessKeyId: MAIN.ak,
    accessKeySecret: MAIN.sk,
    namespace: inst,
    instanceName: `e2e_${process.pid}_${Math.random().toString(36).slice(2)}`,
    logger: { info() {}, warn() {}, error() {}, debug() {} },
    pollNameServerInteval: 2000,
    heartbeatBrokerInterval: 3000,
    rebalanceInterval: 2000,
    persistConsumerOffsetInterval: 1000,
    ...extra,
  };
}

test.before(async () => {
  c = await startCluster([
    'aclEnable=true', `aclAdminAccessKey=${ADMIN.ak}`, `aclAdminSecretKey=${ADMIN.sk}`,
    'openApiAclPushIntervalMs=1000', 'openApiStatsPollMs=300',
  ]);
  ns = `127.0.0.1:${c.namesrvPort}`;
  inst = ok(await call(c, '/json/instance/create', {
    cluster: 'DefaultCluster', instanceName: 'e2e', independentNaming: 'true',
    maxSendTps: '5000', maxReceiveTps: '5000',
  })).instanceId;
  for (const t of TOPICS) {
    ok(await call(c, '/json/topic/create', { instanceId: inst, topic: t.topic, orderType: String(t.orderType) }));
    ok(await call(c, '/json/group/create', { instanceId: inst, groupId: t.group }));
  }
  for (const g of [ALI_GROUP, DLQ_GROUP]) ok(await call(c, '/json/group/create', { instanceId: inst, groupId: g }));
});
test.after(async () => {
  ons.Producer.defaultProducer && await ons.Producer.defaultProducer.close().catch(() => {});
  await stopCluster(c);
});

test('resources created through the API carry their types', async () => {
  for (const t of TOPICS) {
    const d = ok(await call(c, '/json/topic/get', { instanceId: inst, topic: t.topic }));
    assert.equal(d.orderType, t.orderType, JSON.stringify(d));
    assert.equal(d.relation, 1, JSON.stringify(d)); // the owner
    assert.equal(d.perm, 6, JSON.stringify(d));
  }
  const names = ok(await call(c, '/json/group/list', { instanceId: inst })).map(g => g.groupId).sort();
  assert.deepEqual(names, [...TOPICS.map(t => t.group), ALI_GROUP, DLQ_GROUP].sort());
});

test('libons and ali-ons send and consume with the account keys; the endpoints count it', async () => {
  const normal = TOPICS[0];
  // The console pushes the rules to the broker within a second.
  let first;
  for (let i = 0; i < 40 && !first; i++) {
    try { first = send(normal.topic, 'normal', 'Warm', 'warm', 1); } catch { await sleep(250); }
  }
  assert.ok(first, 'the owner can send once the rules reached the broker');
  const stranger = spawnSync(TOOL, ['send', ns, normal.topic, 'X', 'x', '1'],
    { env: env({ ACCESS_KEY: OTHER.ak, SECRET_KEY: OTHER.sk }) });
  assert.notEqual(stranger.status, 0, 'another account may not send to this topic');
  assert.match(stranger.stderr.toString(), /may not publish to topic/);
  // A topic's type is enforced at send: a normal message to the transaction topic is refused.
  assert.throws(() => send(TOPICS[3].topic, 'normal', 'X', 'x', 1), /is of type TRANSACTION; a NORMAL message cannot be sent/);

  // Consumers first (libons and ali-ons on the normal topic), then the senders.
  const lib = consume(normal.group, normal.topic, 2 * N + 1, 8);
  const aliSeen = new Map();
  const aliConsumer = new ons.Consumer(aliOptions({ consumerGroup: ALI_GROUP }));
  aliConsumer.on('error', () => {});
  let aliDelivered = 0;
  aliConsumer.subscribe(normal.topic, '*', async msg => {
    aliDelivered++;
    if (msg.tags !== 'Warm') aliSeen.set(msg.body.toString(), msg);
  });
  await aliConsumer.ready();
  await lib.online;
  await sleep(2500); // both own their queues

  const libIds = send(normal.topic, 'normal', 'TagLib', 'k-e2e', N);
  const producer = new ons.Producer(aliOptions({ producerGroup: 'GID_e2e_ali_producer' }));
  producer.on('error', () => {});
  await producer.ready();
  for (let i = 0; i < N; i++) {
    const m = new ons.Message(normal.topic, 'TagAli', Buffer.from(`ali-${i}`));
    m.keys = ['k-ali'];
    m.properties.origin = 'ali-ons';
    const r = await producer.send(m);
    assert.equal(r.sendStatus, 'SEND_OK');
  }
  for (let i = 0; i < 100 && lib.seen.length < 2 * N + 1; i++) await sleep(100);
  for (let i = 0; i < 80 && aliDelivered < 2 * N; i++) await sleep(100);
  // trace while both groups are online (an offline group is NOT_ONLINE); it
  // reads committed offsets, which clients commit every 5 s (ali-ons: 1 s here).
  let tr;
  let track = {};
  for (let i = 0; i < 40; i++) {
    tr = ok(await call(c, '/json/message/trace', { instanceId: inst, topic: normal.topic, msgId: libIds[0] }));
    track = Object.fromEntries(tr.map(t => [t.consumerGroup, t.trackType]));
    if (track[normal.group] === 'CONSUMED' && track[ALI_GROUP] === 'CONSUMED') break;
    await sleep(250);
  }
  assert.equal(track[normal.group], 'CONSUMED', JSON.stringify(tr));
  assert.equal(track[ALI_GROUP], 'CONSUMED', JSON.stringify(tr));
  const libSeen = [...new Set((await lib.done).map(s => s.id))];
  // ali-ons reports the broker's offset id as its send result; its messages
  // carry the client id (UNIQ_KEY) it generated, which is what consumers see.
  const aliIds = libSeen.filter(id => !first.includes(id) && !libIds.includes(id));
  assert.equal(aliIds.length, N, `libons consumed ${JSON.stringify(libSeen)}`);
  for (const id of [...first, ...libIds]) assert.ok(libSeen.includes(id), `libons consumed ${id}`);
  const want = [...first, ...libIds, ...aliIds].sort();
  for (let i = 0; i < 80 && aliSeen.size < 2 * N; i++) await sleep(100);
  for (let i = 0; i < N; i++) {
    assert.ok(aliSeen.has(`body-${i}`), `ali-ons consumed libons' body-${i}`);
    assert.ok(aliSeen.has(`ali-${i}`), `ali-ons consumed its own ali-${i}`);
  }
  const fromLib = aliSeen.get('body-0');
  assert.equal(fromLib.tags, 'TagLib');
  assert.equal(String(fromLib.keys), 'k-e2e');
  // ali-ons 3.x shows a namespaced message's topic as stored (instance%topic).
  assert.ok([normal.topic, `${inst}%${normal.topic}`].includes(fromLib.topic), fromLib.topic);
  await aliConsumer.close();
  await producer.close();

  // accumulate: nothing left for either group.
  for (const g of [normal.group, ALI_GROUP]) {
    const acc = ok(await call(c, '/json/consumer/accumulate', { instanceId: inst, groupId: g }));
    assert.equal(acc.totalDiff, 0, `${g}: ${JSON.stringify(acc)}`);
  }
  // Trends: 1 + 2N stored; each group had them all delivered.
  assert.equal(await trendTotal('/json/trend/topicInputTps', { topic: normal.topic }, 2 * N + 1), 2 * N + 1);
  assert.equal(await trendTotal('/json/trend/groupOutputTps', { topic: normal.topic, groupId: normal.group }, 2 * N + 1), 2 * N + 1);
  // ali-ons' group joined after the warm-up message: it counts what ali-ons got.
  const aliOut = await trendTotal('/json/trend/groupOutputTps', { topic: normal.topic, groupId: ALI_GROUP }, 2 * N);
  assert.equal(aliOut, aliDelivered);
  // Both offline now: trace says so.
  const off = ok(await call(c, '/json/message/trace', { instanceId: inst, topic: normal.topic, msgId: libIds[0] }));
  assert.ok(off.every(t => t.trackType === 'NOT_ONLINE'), JSON.stringify(off));
  // Queries by id and key find exactly what was sent.
  const aliMsgs = [];
  for (const id of aliIds) {
    aliMsgs.push(ok(await call(c, '/json/message/getById', { instanceId: inst, topic: normal.topic, msgId: id })));
  }
  assert.ok(aliMsgs.every(m => m.propertyList.some(p => p.name === 'origin' && p.value === 'ali-ons')),
    JSON.stringify(aliMsgs[0]));
  const byAliKey = ok(await call(c, '/json/message/getByKey', { instanceId: inst, topic: normal.topic, key: 'k-ali' }));
  assert.deepEqual(byAliKey.map(x => x.msgId).sort(), [...aliIds].sort());
  const byKey = ok(await call(c, '/json/message/getByKey', { instanceId: inst, topic: normal.topic, key: 'k-e2e' }));
  assert.deepEqual(byKey.map(x => x.msgId).sort(), [...libIds].sort());

  // Dead letters: a group whose every delivery fails (MaxReconsumeTimes=0)
  // sends all 2N+1 messages to its DLQ, and the DLQ endpoints list them.
  const dlq = consume(DLQ_GROUP, normal.topic, 2 * N + 1, 2, 'fail');
  await dlq.done;
  let dead = [];
  for (let i = 0; i < 40; i++) {
    const r = await call(c, '/json/message/getByPagedDLQ', {
      instanceId: inst, groupId: DLQ_GROUP, beginTime: '0', endTime: String(Date.now()), currentPage: '1', pageSize: '50',
    });
    if (r.success) { dead = r.data.data; if (dead.length >= 2 * N + 1) break; }
    await sleep(250);
  }
  assert.deepEqual([...new Set(dead.map(x => x.msgId))].sort(), want);
  const one = ok(await call(c, '/json/message/getByIdInDLQ', { instanceId: inst, groupId: DLQ_GROUP, msgId: libIds[2] }));
  assert.equal(one.topic, normal.topic);
});

test('ordered, transactional and scheduled topics deliver through libons and are counted', async () => {
  for (const t of TOPICS.slice(1)) {
    // An ordered topic is read by an OrderConsumer: only it promises the
    // queue's order (a plain consumer's threads may report in any order).
    const cons = consume(t.group, t.topic, N, 1, t.kind === 'order' ? 'order' : undefined);
    await cons.online;
    await sleep(1500);
    const sentAt = Date.now();
    const ids = send(t.topic, t.kind, 'TagK', `shard-${t.orderType}`, N, { DELAY_MS: '2000' });
    const seen = await cons.done;
    assert.deepEqual([...new Set(seen.map(s => s.id))].sort(), [...ids].sort(), t.topic);
    if (t.kind === 'order') {
      // One sharding key: one queue, consumed in send order.
      assert.deepEqual(seen.map(s => s.id), ids, `${t.topic}: order kept`);
    }
    if (t.kind === 'delay') {
      assert.ok(seen[0].at - sentAt >= 1800, `${t.topic}: delivered ${seen[0].at - sentAt} ms after the send`);
    }
    assert.equal(await trendTotal('/json/trend/topicInputTps', { topic: t.topic }, N), N, `${t.topic} input`);
    assert.equal(await trendTotal('/json/trend/groupOutputTps', { topic: t.topic, groupId: t.group }, N), N, `${t.topic} output`);
    const acc = ok(await call(c, '/json/consumer/accumulate', { instanceId: inst, groupId: t.group }));
    assert.equal(acc.totalDiff, 0, `${t.topic}: ${JSON.stringify(acc)}`);
  }
});
