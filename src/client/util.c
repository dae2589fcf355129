/* SPDX-License-Identifier: Apache-2.0 */
/* util.c: the SDK's small shared pieces: the user log sink, exceptions
 * (spec §8, §15.2), enumeration helpers, version, send results, the local address and UNIQ_KEY ids.
 *
 * Thread-safe: the log sink and the id generator are process-wide and set up
 * once; everything else works on caller-owned objects. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/msgid.h"

void cl_copy(char *dst, size_t cap, tern_bytes_t v)
{
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    if (n)
        memcpy(dst, v.ptr, n);
    dst[n] = '\0';
}

/* ---- logging ------------------------------------------------------------- */

static ons_log_fn g_log_fn;
static void *g_log_user;
static _Atomic int g_log_min = ONS_LOG_ERROR + 1;

void ons_set_log_callback(ons_log_fn fn, ons_log_level_t min_level, void *user)
{
    g_log_fn = fn;
    g_log_user = user;
    atomic_store(&g_log_min, fn ? (int)min_level : ONS_LOG_ERROR + 1);
}

void cl_log(ons_log_level_t lvl, const char *fmt, ...)
{
    if ((int)lvl < atomic_load(&g_log_min) || g_log_fn == NULL)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ons_log_fn fn = g_log_fn;
    if (fn)
        fn(lvl, line, g_log_user);
}

/* ---- exceptions ------------------------------------------------------------ */

static ons_exception_t *ex_alloc(const char *message, ons_exception_t *cause)
{
    ons_exception_t *e = cl_calloc(1, sizeof *e);
    if (e == NULL) {
        ons_exception_free(cause);
        return NULL;
    }
    e->category = cause ? cause->category : ONS_ERR_GENERIC;
    e->response_code = cause ? cause->response_code : -1;
    e->cause = cause;
    const char *msg = message ? message : (cause ? cause->message : NULL);
    if (msg && (e->message = cl_strdup(msg)) == NULL) {
        ons_exception_free(e);
        return NULL;
    }
    return e;
}

ons_exception_t *ons_exception_new(void)
{
    return ex_alloc(NULL, NULL);
}

ons_exception_t *ons_exception_new_message(const char *message)
{
    return ex_alloc(message, NULL);
}

ons_exception_t *ons_exception_new_cause(ons_exception_t *cause)
{
    return ex_alloc(NULL, cause);
}

ons_exception_t *ons_exception_new_message_cause(const char *message, ons_exception_t *cause)
{
    return ex_alloc(message, cause);
}

const char *ons_exception_message(const ons_exception_t *ex)
{
    return ex ? ex->message : NULL;
}

const ons_exception_t *ons_exception_cause(const ons_exception_t *ex)
{
    return ex ? ex->cause : NULL;
}

ons_error_category_t ons_exception_category(const ons_exception_t *ex)
{
    return ex ? ex->category : ONS_ERR_GENERIC;
}

int ons_exception_response_code(const ons_exception_t *ex)
{
    return ex ? ex->response_code : -1;
}

const char *ons_exception_remark(const ons_exception_t *ex)
{
    return ex ? ex->remark : NULL;
}

const char *ons_error_category_name(ons_error_category_t c)
{
    static const char *const NAMES[] = {
        "GENERIC",         "ILLEGAL_ARGUMENT", "NULL_POINTER", "ILLEGAL_STATE",
        "TIMEOUT",         "NETWORK",          "AUTH",         "NO_PERMISSION",
        "TOPIC_NOT_EXIST", "MESSAGE_ILLEGAL",  "FLOW_CONTROL", "BROKER",
        "NOT_SUPPORTED"};
    if ((unsigned)c >= sizeof NAMES / sizeof NAMES[0])
        return "UNKNOWN";
    return NAMES[c];
}

void ons_exception_free(ons_exception_t *ex)
{
    while (ex) {
        ons_exception_t *next = ex->cause;
        free(ex->message);
        free(ex->remark);
        free(ex);
        ex = next;
    }
}

/* A statically allocated exception would be shared; out-of-memory instead
 * retries a bare allocation of the struct, which needs far less memory. */
static void store(ons_exception_t **ex, ons_error_category_t cat, int code, const char *msg,
                  tern_bytes_t remark)
{
    if (ex == NULL || *ex != NULL)
        return;
    ons_exception_t *e = cl_calloc(1, sizeof *e);
    if (e == NULL)
        return;
    e->category = cat;
    e->response_code = code;
    e->message = cl_strdup(msg);
    if (remark.ptr)
        e->remark = cl_strndup((const char *)remark.ptr, remark.len);
    *ex = e;
}

int cl_raise(ons_exception_t **ex, ons_error_category_t cat, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cl_log(ONS_LOG_DEBUG, "exception %s: %s", ons_error_category_name(cat), msg);
    store(ex, cat, -1, msg, TERN_BYTES_NULL);
    return -1;
}

int cl_raise_oom(ons_exception_t **ex)
{
    return cl_raise(ex, ONS_ERR_GENERIC, "out of memory");
}

ons_error_category_t cl_category_of_code(int code)
{
    switch (code) {
    case RESP_NO_PERMISSION:
        return ONS_ERR_NO_PERMISSION;
    case RESP_TOPIC_NOT_EXIST:
        return ONS_ERR_TOPIC_NOT_EXIST;
    case RESP_MESSAGE_ILLEGAL:
        return ONS_ERR_MESSAGE_ILLEGAL;
    case RESP_SYSTEM_BUSY:
        return ONS_ERR_FLOW_CONTROL;
    default:
        return ONS_ERR_BROKER;
    }
}

int cl_raise_remote(ons_exception_t **ex, int code, tern_bytes_t remark, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s: broker answered code %d (%s): %.*s", what, code,
             code == RESP_TOPIC_NOT_EXIST ? "TOPIC_NOT_EXIST" : "error",
             (int)(remark.len > 300 ? 300 : remark.len),
             remark.ptr ? (const char *)remark.ptr : "");
    store(ex, cl_category_of_code(code), code, msg, remark);
    return -1;
}

int cl_raise_err(ons_exception_t **ex, int err, const char *what)
{
    ons_error_category_t cat = ONS_ERR_NETWORK;
    if (err == TERN_ETIMEOUT)
        cat = ONS_ERR_TIMEOUT;
    else if (err == TERN_ENOMEM)
        cat = ONS_ERR_GENERIC;
    return cl_raise(ex, cat, "%s: %s", what, tern_strerror(err));
}

/* ---- enumerations ------------------------------------------------------------ */

static const ons_action_t ACTIONS[] = {ONS_ACTION_COMMIT_MESSAGE, ONS_ACTION_RECONSUME_LATER};
static const ons_order_action_t ORDER_ACTIONS[] = {ONS_ORDER_ACTION_SUCCESS,
                                                   ONS_ORDER_ACTION_SUSPEND};

const char *ons_action_name(ons_action_t a)
{
    switch (a) {
    case ONS_ACTION_COMMIT_MESSAGE:
        return "CommitMessage";
    case ONS_ACTION_RECONSUME_LATER:
        return "ReconsumeLater";
    }
    return NULL;
}

const char *ons_order_action_name(ons_order_action_t a)
{
    switch (a) {
    case ONS_ORDER_ACTION_SUCCESS:
        return "Success";
    case ONS_ORDER_ACTION_SUSPEND:
        return "Suspend";
    }
    return NULL;
}

const char *ons_transaction_status_name(ons_transaction_status_t s)
{
    switch (s) {
    case ONS_COMMIT_TRANSACTION:
        return "CommitTransaction";
    case ONS_ROLLBACK_TRANSACTION:
        return "RollbackTransaction";
    case ONS_UNKNOW:
        return "Unknow";
    }
    return NULL;
}

int ons_action_value_of(const char *name, ons_action_t *out, ons_exception_t **ex)
{
    if (name == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "Name is null");
    for (size_t i = 0; i < 2; i++) {
        if (strcmp(name, ons_action_name(ACTIONS[i])) == 0) {
            if (out)
                *out = ACTIONS[i];
            return 0;
        }
    }
    return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "No enum constant Action.%s", name);
}

const ons_action_t *ons_action_values(size_t *count)
{
    if (count)
        *count = 2;
    return ACTIONS;
}

int ons_order_action_value_of(const char *name, ons_order_action_t *out, ons_exception_t **ex)
{
    if (name == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "Name is null");
    for (size_t i = 0; i < 2; i++) {
        if (strcmp(name, ons_order_action_name(ORDER_ACTIONS[i])) == 0) {
            if (out)
                *out = ORDER_ACTIONS[i];
            return 0;
        }
    }
    return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "No enum constant OrderAction.%s", name);
}

const ons_order_action_t *ons_order_action_values(size_t *count)
{
    if (count)
        *count = 2;
    return ORDER_ACTIONS;
}

/* ---- version ------------------------------------------------------------- */

unsigned ons_version(void)
{
    return ONS_VERSION_HEX;
}

const char *ons_version_string(void)
{
    return ONS_VERSION_STRING;
}

bool ons_check_compat(unsigned header_version)
{
    unsigned major = header_version >> 16;
    return major == ONS_VERSION_MAJOR && (header_version & 0xFFFF) <= (ONS_VERSION_HEX & 0xFFFF);
}

/* ---- send results ---------------------------------------------------------- */

ons_send_result_t *ons_send_result_new(void)
{
    return cl_calloc(1, sizeof(ons_send_result_t));
}

const char *ons_send_result_get_message_id(const ons_send_result_t *r)
{
    return r ? r->message_id : NULL;
}

const char *ons_send_result_get_topic(const ons_send_result_t *r)
{
    return r ? r->topic : NULL;
}

char *ons_send_result_to_string(const ons_send_result_t *r)
{
    const char *t = r && r->topic ? r->topic : "null";
    const char *id = r && r->message_id ? r->message_id : "null";
    size_t n = strlen(t) + strlen(id) + 48;
    char *s = cl_malloc(n);
    if (s)
        snprintf(s, n, "SendResult[topic=%s, messageId=%s]", t, id);
    return s;
}

void ons_send_result_free(ons_send_result_t *r)
{
    if (r == NULL)
        return;
    free(r->message_id);
    free(r->topic);
    free(r);
}

/* Internal constructor used by the producers (declared in producer.c). */
ons_send_result_t *cl_send_result_make(const char *topic, const char *msg_id);
ons_send_result_t *cl_send_result_make(const char *topic, const char *msg_id)
{
    ons_send_result_t *r = ons_send_result_new();
    if (r == NULL)
        return NULL;
    r->topic = cl_strdup(topic ? topic : "");
    r->message_id = cl_strdup(msg_id ? msg_id : "");
    if (r->topic == NULL || r->message_id == NULL) {
        ons_send_result_free(r);
        return NULL;
    }
    return r;
}

/* ---- host address and ids ------------------------------------------------ */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static char g_ip[INET_ADDRSTRLEN] = "127.0.0.1";
static struct uniq_gen g_uniq;

static void init_host(void)
{
    uint8_t ip4[4] = {127, 0, 0, 1};
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
                continue;
            const struct sockaddr_in *sa = (const struct sockaddr_in *)(const void *)i->ifa_addr;
            const uint8_t *b = (const uint8_t *)&sa->sin_addr;
            if (b[0] == 127)
                continue;
            memcpy(ip4, b, 4);
            inet_ntop(AF_INET, &sa->sin_addr, g_ip, sizeof g_ip);
            break;
        }
        freeifaddrs(ifs);
    }
    uniq_gen_init(&g_uniq, ip4);
}

const char *cl_local_ip(void)
{
    pthread_once(&g_once, init_host);
    return g_ip;
}

void cl_uniq_id(char out[33], int64_t now_ms)
{
    pthread_once(&g_once, init_host);
    uniq_gen_next(&g_uniq, now_ms, out);
}
