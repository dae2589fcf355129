'use strict';
// ali-ons client plumbing for the compatibility suite: producers, push
// consumers and a small "admin" channel, all pointed at one Tern broker's
// embedded name server, with bounded waits and guaranteed cleanup.
//
// ali-ons 3.x notes that shape this module:
// * `nameSrv` (string or array) makes it skip the HTTP onsAddr lookup, but the
//   constructor still insists on an `httpclient` object, so a stub is passed.
// * With accessKeyId/accessKeySecret set it signs every request (AccessKey,
//   Signature, OnsChannel=ALIYUN ext fields). Tern checks them only with
//   aclEnable=true (acl.test.js lists these keys as an admin account); the
//   other tests use them so that path is exercised like a real Aliyun user.
// * MQClient instances are shared per clientId (clientIP@instanceName), so
//   every client gets its own instanceName; otherwise two consumers of one
//   group would be one client and a later test would reuse a client that
//   points at an earlier test's broker.
// * Every consumer/producer also starts a process-wide "CLIENT_INNER_PRODUCER"
//   (Producer.defaultProducer), created with the options of the first client.
//   closeAll() closes it and clears the static so the next broker gets a
//   fresh one.
// * The client's periodic tasks sleep for their whole interval before they
//   notice a close, so intervals are kept short for a prompt process exit.
// * ali-ons has no public query/view API (its viewMessage is commented out),
//   so the admin helper sends QUERY_MESSAGE (12) / VIEW_MESSAGE_BY_ID (33)
//   through ali-ons' own RemotingClient, RemotingCommand and MessageDecoder.

const path = require('node:path');
const { Producer, Consumer, Message } = require('ali-ons');
const MQClientAPI = require('ali-ons/lib/mq_client_api');
const RemotingCommand = require('ali-ons/lib/protocol/command/remoting_command');
const RequestCode = require('ali-ons/lib/protocol/request_code');
const ResponseCode = require('ali-ons/lib/protocol/response_code');
const MessageDecoder = require('ali-ons/lib/message/message_decoder');
// ali-ons' decoder reads from a `byte` ByteBuffer; load the copy ali-ons uses.
const ByteBuffer = require(require.resolve('byte', { paths: [ path.dirname(require.resolve('ali-ons')) ] }));

const DEBUG = !!process.env.TERN_COMPAT_DEBUG;
const silentLogger = {
  info() {}, warn() {}, error() {}, debug() {},
};
const debugLogger = {
  info: (...a) => console.error('[ons info]', ...a),
  warn: (...a) => console.error('[ons warn]', ...a),
  error: (...a) => console.error('[ons error]', ...a),
  debug() {},
};

const httpclientStub = {
  async request() {
    throw new Error('compat suite: ali-ons must use nameSrv, not an HTTP onsAddr lookup');
  },
};

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([ promise, timeout ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls cond() every intervalMs until it returns truthy or timeoutMs passes.
 * @param {Function} cond - sync or async predicate
 * @param {number} timeoutMs - bound
 * @param {string|Function} what - description (or function producing one, for state at timeout)
 * @param {number} [intervalMs] - poll interval
 * @return {Promise<*>} the truthy value
 */
async function waitFor(cond, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const desc = typeof what === 'function' ? what() : what;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${desc}` +
    (lastErr ? ` (last error: ${lastErr.message})` : ''));
}

let seq = 0;
/** Unique, RocketMQ-legal name ([A-Za-z0-9_-]). */
function uniqueName(prefix) {
  seq++;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${seq}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

class Clients {
  /**
   * @param {object} broker - from startBroker()
   */
  constructor(broker) {
    this.broker = broker;
    this.consumers = [];
    this.producers = [];
    this.admins = [];
    this._closed = [];
    this.errors = [];
  }

  baseOptions(extra = {}) {
    return Object.assign({
      nameSrv: this.broker.namesrvAddr,
      httpclient: httpclientStub,
      accessKeyId: 'tern-compat-ak',
      accessKeySecret: 'tern-compat-sk',
      instanceName: uniqueName('inst'),
      logger: DEBUG ? debugLogger : silentLogger,
      pollNameServerInteval: 2000,
      heartbeatBrokerInterval: 5000,
      rebalanceInterval: 2000,
      persistConsumerOffsetInterval: 1000,
    }, extra);
  }

  // The process-wide inner producer has no listener of ours; without one
  // sdk-base prints every error it emits to the console.
  _watchInner() {
    const inner = Producer.defaultProducer;
    if (inner && !inner.__ternCompatWatched) {
      inner.__ternCompatWatched = true;
      inner.on('error', err => this._recordError('inner producer', err));
    }
  }

  _recordError(who, err) {
    this.errors.push(`${who}: ${err && err.message}`);
    if (DEBUG) console.error(`[ons ${who} error]`, err);
  }

  /** Errors the clients emitted, for diagnostics (not all are failures: e.g. TOPIC_NOT_EXIST before auto-create). */
  errorSummary(max = 15) {
    const counts = new Map();
    for (const e of this.errors) {
      const k = e.slice(0, 300);
      counts.set(k, (counts.get(k) || 0) + 1);
    }
    return Array.from(counts.entries()).slice(0, max).map(([ k, n ]) => `  ${n}x ${k}`).join('\n');
  }

  async producer(extra = {}) {
    const p = new Producer(this.baseOptions(Object.assign({ producerGroup: uniqueName('PG') }, extra)));
    p.on('error', err => this._recordError('producer', err));
    this.producers.push(p);
    await withTimeout(p.ready(), 15000, 'producer ready');
    this._watchInner();
    return p;
  }

  /**
   * Creates a push consumer and subscribes it.
   * @param {object} o
   * @param {string} o.group - consumer group
   * @param {string} o.topic - topic
   * @param {string} [o.expression] - tag expression (default '*')
   * @param {Function} o.onMessage - sync callback(msg); may return Consumer.ACTION_RETRY
   * @param {boolean} [o.broadcast] - BROADCASTING model
   * @param {object} [o.options] - more ali-ons options
   * @param {Function} [o.setup] - called with the consumer before it subscribes (to install spies)
   * @return {Promise<Consumer>} consumer (started)
   */
  async consumer(o) {
    const c = new Consumer(this.baseOptions(Object.assign({
      consumerGroup: o.group,
      isBroadcast: !!o.broadcast,
    }, o.options || {})));
    c.on('error', err => this._recordError(`consumer ${o.group}`, err));
    this.consumers.push(c);
    if (o.setup) o.setup(c);
    c.subscribe(o.topic, o.expression || '*', async msg => o.onMessage(msg));
    await withTimeout(c.ready(), 15000, 'consumer ready');
    this._watchInner();
    return c;
  }

  /**
   * Lets `producer` send to a topic that does not exist yet, so that the
   * broker auto-creates it from TBW102. ali-ons 3.x has the Java fallback
   * (route of the createTopicKey TBW102, min(defaultTopicQueueNums, its
   * queues) queues) but never reaches it: it rethrows the name server's
   * TOPIC_NOT_EXIST (17) first. This runs that fallback branch directly.
   */
  static async primeAutoCreate(producer, topic) {
    await producer.ready();
    await producer._mqClient.updateTopicRouteInfoFromNameServer(topic, true, producer);
  }

  /** Queues of `topic` currently assigned to (being pulled by) a consumer. */
  static assignedQueues(consumer, topic) {
    const ids = [];
    for (const { messageQueue } of consumer.processQueueTable.values()) {
      if (messageQueue.topic === topic) ids.push(Number(messageQueue.queueId));
    }
    return ids.sort((a, b) => a - b);
  }

  async admin() {
    const api = new MQClientAPI(this.baseOptions());
    api.on('error', err => this._recordError('admin', err));
    this.admins.push(api);
    await withTimeout(api.ready(), 10000, 'admin client ready');
    return new Admin(api, this.broker);
  }

  /** Closes one consumer or producer now (and forgets it, so closeAll does not close it twice). */
  async close(client) {
    for (const list of [ this.consumers, this.producers ]) {
      const k = list.indexOf(client);
      if (k >= 0) list.splice(k, 1);
    }
    this._closed.push(client);
    await Clients._closeOne(client, 'client');
  }

  static async _closeOne(client, what) {
    try {
      await withTimeout(client.close(), 8000, `close ${what}`);
    } catch (err) {
      if (DEBUG) console.error(`[compat] ${what} close failed: ${err.message}`);
    }
  }

  /** Closes every client (consumers, producers, the inner producer, admins), each bounded. */
  async closeAll() {
    const all = this.consumers.concat(this.producers, this._closed);
    for (const c of this.consumers.splice(0)) await Clients._closeOne(c, 'consumer');
    for (const p of this.producers.splice(0)) await Clients._closeOne(p, 'producer');
    if (Producer.defaultProducer) {
      const inner = Producer.defaultProducer;
      Producer.defaultProducer = null;
      all.push(inner);
      await Clients._closeOne(inner, 'inner producer');
    }
    // An MQClient is shared by the clients of one clientId and closes only
    // when its last client does; if a close() failed half way (e.g. the
    // broker was gone), shut the connection and timers down here.
    for (const client of all) {
      const mq = client._mqClient;
      if (mq && mq._inited) {
        mq._consumerTable.clear();
        mq._producerTable.clear();
        try { await withTimeout(mq.close(), 3000, 'force close'); } catch { /* ignore */ }
      }
    }
    this._closed = [];
    for (const a of this.admins.splice(0)) {
      try { await withTimeout(a.close(), 3000, 'close admin'); } catch { /* ignore */ }
    }
  }
}

class Admin {
  constructor(api, broker) {
    this.api = api;
    this.broker = broker;
  }

  close() {
    return this.api.close();
  }

  /** GET_ROUTEINFO_BY_TOPIC through the name server; throws on TOPIC_NOT_EXIST. */
  route(topic) {
    return this.api.getTopicRouteInfoFromNameServer(topic, 3000);
  }

  /** UPDATE_AND_CREATE_TOPIC (17) on the broker, then waits until the name server routes it. */
  async createTopic(topic, queueNums = 4) {
    await this.api.createTopic(this.broker.brokerAddr, 'TBW102', {
      topicName: topic,
      readQueueNums: queueNums,
      writeQueueNums: queueNums,
      perm: 6,
      topicFilterType: 'SINGLE_TAG',
      topicSysFlag: 0,
      order: false,
    }, 3000);
    await this.waitRoute(topic, 10000);
  }

  async waitRoute(topic, timeoutMs = 10000) {
    return await waitFor(async () => {
      const r = await this.route(topic);
      return r && r.queueDatas && r.queueDatas.length ? r : null;
    }, timeoutMs, `a name-server route for ${topic}`, 200);
  }

  async _invoke(addr, code, header, timeoutMs = 5000) {
    const request = RemotingCommand.createRequestCommand(code, header);
    return await this.api.invoke(addr, request, timeoutMs);
  }

  static _decodeAll(body) {
    if (!body || !body.length) return [];
    return MessageDecoder.decodes(ByteBuffer.wrap(body));
  }

  /**
   * QUERY_MESSAGE (12), as Java's MQAdminImpl.queryMessage sends it.
   * @return {Promise<{code:number, remark:string, header:object, messages:Array}>}
   */
  async queryMessage(topic, key, { maxNum = 32, begin = 0, end = Date.now() + 60000, unique = false, addr } = {}) {
    const header = { topic, key, maxNum, beginTimestamp: begin, endTimestamp: end };
    if (unique) header._UNIQUE_KEY_QUERY = 'true';
    const res = await this._invoke(addr || this.broker.brokerAddr, RequestCode.QUERY_MESSAGE, header);
    return {
      code: res.code,
      remark: res.remark,
      header: res.extFields || {},
      messages: res.code === ResponseCode.SUCCESS ? Admin._decodeAll(res.body) : [],
    };
  }

  /**
   * VIEW_MESSAGE_BY_ID (33): decodes the offset msgId (host:port + commit-log
   * offset) and asks that address, as Java's viewMessage does.
   */
  async viewMessage(msgId) {
    const { address, offset } = MessageDecoder.decodeMessageId(msgId);
    const res = await this._invoke(address, RequestCode.VIEW_MESSAGE_BY_ID, { offset: offset.toString() });
    const messages = res.code === ResponseCode.SUCCESS ? Admin._decodeAll(res.body) : [];
    return { code: res.code, remark: res.remark, address, offset: offset.toString(), messages };
  }
}

/**
 * Runs one scenario with fresh clients against `broker`; on failure the error
 * carries the broker's recent output and the clients' emitted errors; the
 * clients are always closed.
 */
async function scenario(broker, fn) {
  const cl = new Clients(broker);
  try {
    return await fn(cl);
  } catch (err) {
    if (err && typeof err.message === 'string') {
      const errs = cl.errorSummary();
      if (errs) err.message += '\n--- ali-ons client errors ---\n' + errs;
      err.message += '\n--- broker output (tail) ---\n' + broker.logTail(6000);
    }
    throw err;
  } finally {
    await cl.closeAll();
  }
}

/** Builds an ali-ons Message. */
function makeMessage(topic, { tag = null, body, keys, props, startDeliverTime, flag } = {}) {
  const msg = new Message(topic, tag, body);
  if (keys) msg.keys = keys;
  if (props) Object.assign(msg.properties, props);
  if (startDeliverTime) msg.setStartDeliverTime(startDeliverTime);
  if (flag !== undefined) msg.flag = flag;
  return msg;
}

module.exports = {
  Clients, Admin, scenario, makeMessage, waitFor, withTimeout, sleep, uniqueName,
  ResponseCode, Consumer, Producer, Message,
};
