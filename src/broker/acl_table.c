/* SPDX-License-Identifier: Apache-2.0 */
/* acl_table.c: parsing, lookups and the swap slot of the pushed access
 * rules (see acl_table.h; format in docs/design/acl.md).
 *
 * A snapshot keeps everything in one arena (the JSON text, accounts, topics
 * with their grants, groups) and three hash maps whose values point into it,
 * so freeing is one arena_deinit and lookups are one probe each. */
#include "broker/acl_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "broker/persist.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/strmap.h"
#include "common/xalloc.h"
#include "protocol/json.h"

/* Longest name quoted back in a remark. */
#define REMARK_NAME_MAX 128

struct acl_grant {
    int64_t user_id;
    int relation; /* 2, 4 or 6 (open-api.md §4.7) */
};

struct acl_topic {
    int64_t owner_main;
    int perm; /* 2, 4 or 6 */
    size_t ngrants;
    struct acl_grant *grants; /* in the arena */
};

struct acl_group {
    int64_t owner;      /* creating account */
    int64_t owner_main; /* its main account (== owner for a main account) */
    bool read_enable;
};

struct acl_table {
    arena_t ar;        /* owns the text and every entry */
    tern_bytes_t text; /* in ar: the JSON the snapshot came from */
    strmap_t accounts; /* access key -> struct acl_principal (in ar) */
    strmap_t topics;   /* physical topic -> struct acl_topic (in ar) */
    strmap_t groups;   /* physical group -> struct acl_group (in ar) */
    /* Slot bookkeeping once replaced (guarded by the slot's lock). */
    struct acl_table *next_retired; /* older retiree; owned by the slot */
    int64_t retired_at_ms;
};

/* ---- parse ------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *what, size_t i)
{
    snprintf(err, errlen, "%s #%zu: missing or invalid field", what, i);
    return TERN_EPROTOCOL;
}

static const struct json_val *array_of(const struct json_val *root, const char *key)
{
    const struct json_val *v = json_get(root, key);
    return v && v->type == JSON_ARRAY ? v : NULL;
}

static bool valid_relation(int64_t r)
{
    return r == 2 || r == 4 || r == 6;
}

static int parse_accounts(struct acl_table *t, const struct json_val *arr, char *err, size_t errlen)
{
    for (size_t i = 0; arr && i < arr->n; i++) {
        const struct json_val *o = &arr->items[i];
        struct acl_principal *p = arena_alloc(&t->ar, sizeof *p);
        int64_t parent = 0;
        if (!p)
            return TERN_ENOMEM;
        p->access_key = json_get_str(o, "accessKey");
        p->secret = json_get_str(o, "secretKey");
        if (p->access_key.len == 0 || p->secret.len == 0 ||
            json_get_i64(o, "userId", &p->user_id) != TERN_OK)
            return fail(err, errlen, "account", i);
        (void)json_get_i64(o, "parentId", &parent);
        p->main_id = parent > 0 ? parent : p->user_id;
        p->admin = json_get_bool(o, "admin", false);
        if (!json_get_bool(o, "enabled", true))
            continue;
        if (strmap_put(&t->accounts, p->access_key, p)) {
            snprintf(err, errlen, "access key %.*s is listed twice", REMARK_NAME_MAX,
                     (const char *)p->access_key.ptr);
            return TERN_EPROTOCOL;
        }
    }
    return TERN_OK;
}

static int parse_topics(struct acl_table *t, const struct json_val *arr, char *err, size_t errlen)
{
    for (size_t i = 0; arr && i < arr->n; i++) {
        const struct json_val *o = &arr->items[i];
        struct acl_topic *tp = arena_alloc(&t->ar, sizeof *tp);
        int64_t perm = 6;
        if (!tp)
            return TERN_ENOMEM;
        tern_bytes_t name = json_get_str(o, "topic");
        if (name.len == 0 || json_get_i64(o, "owner", &tp->owner_main) != TERN_OK)
            return fail(err, errlen, "topic", i);
        (void)json_get_i64(o, "perm", &perm);
        tp->perm = (int)(perm & 6);
        const struct json_val *g = array_of(o, "grants");
        tp->ngrants = g ? g->n : 0;
        tp->grants = tp->ngrants ? arena_alloc(&t->ar, tp->ngrants * sizeof *tp->grants) : NULL;
        if (tp->ngrants && !tp->grants)
            return TERN_ENOMEM;
        for (size_t j = 0; j < tp->ngrants; j++) {
            int64_t rel = 0;
            if (json_get_i64(&g->items[j], "user", &tp->grants[j].user_id) != TERN_OK ||
                json_get_i64(&g->items[j], "relation", &rel) != TERN_OK || !valid_relation(rel))
                return fail(err, errlen, "grant of topic", i);
            tp->grants[j].relation = (int)rel;
        }
        (void)strmap_put(&t->topics, name, tp);
    }
    return TERN_OK;
}

static int parse_groups(struct acl_table *t, const struct json_val *arr, char *err, size_t errlen)
{
    for (size_t i = 0; arr && i < arr->n; i++) {
        const struct json_val *o = &arr->items[i];
        struct acl_group *g = arena_alloc(&t->ar, sizeof *g);
        if (!g)
            return TERN_ENOMEM;
        tern_bytes_t name = json_get_str(o, "group");
        if (name.len == 0 || json_get_i64(o, "owner", &g->owner) != TERN_OK)
            return fail(err, errlen, "group", i);
        if (json_get_i64(o, "ownerMain", &g->owner_main) != TERN_OK || g->owner_main <= 0)
            g->owner_main = g->owner;
        g->read_enable = json_get_bool(o, "readEnable", true);
        (void)strmap_put(&t->groups, name, g);
    }
    return TERN_OK;
}

int acl_table_parse(tern_bytes_t json, struct acl_table **out, char *err, size_t errlen)
{
    struct acl_table *t = xcalloc(1, sizeof *t);
    arena_init(&t->ar);
    strmap_init(&t->accounts);
    strmap_init(&t->topics);
    strmap_init(&t->groups);
    t->text = arena_copy(&t->ar, json);
    struct json_val *root = NULL;
    int rc = t->text.len == json.len ? json_parse(t->text, &t->ar, &root) : TERN_ENOMEM;
    if (rc != TERN_OK || root->type != JSON_OBJECT) {
        snprintf(err, errlen, "the access table is not a JSON object");
        acl_table_free(t);
        return TERN_EPROTOCOL;
    }
    if ((rc = parse_accounts(t, array_of(root, "accounts"), err, errlen)) != TERN_OK ||
        (rc = parse_topics(t, array_of(root, "topics"), err, errlen)) != TERN_OK ||
        (rc = parse_groups(t, array_of(root, "groups"), err, errlen)) != TERN_OK) {
        if (rc == TERN_ENOMEM)
            snprintf(err, errlen, "out of memory");
        acl_table_free(t);
        return rc;
    }
    *out = t;
    return TERN_OK;
}

void acl_table_free(struct acl_table *t)
{
    if (!t)
        return;
    strmap_deinit(&t->accounts);
    strmap_deinit(&t->topics);
    strmap_deinit(&t->groups);
    /* Secrets do not outlive the snapshot in freed heap memory. */
    if (t->text.len)
        OPENSSL_cleanse((void *)t->text.ptr, t->text.len);
    arena_deinit(&t->ar);
    free(t);
}

tern_bytes_t acl_table_text(const struct acl_table *t)
{
    return t->text;
}

size_t acl_table_accounts(const struct acl_table *t)
{
    return strmap_count(&t->accounts);
}

size_t acl_table_topics(const struct acl_table *t)
{
    return strmap_count(&t->topics);
}

size_t acl_table_groups(const struct acl_table *t)
{
    return strmap_count(&t->groups);
}

/* ---- rights ------------------------------------------------------------ */

const struct acl_principal *acl_table_account(const struct acl_table *t, tern_bytes_t access_key)
{
    return strmap_get(&t->accounts, access_key);
}

static int clip(tern_bytes_t b)
{
    return b.len > REMARK_NAME_MAX ? REMARK_NAME_MAX : (int)b.len;
}

bool acl_table_group_ok(const struct acl_table *t, const struct acl_principal *p,
                        tern_bytes_t group, bool need_read, char *remark, size_t remark_len)
{
    if (p->admin)
        return true;
    const struct acl_group *g = strmap_get(&t->groups, group);
    if (!g) {
        snprintf(remark, remark_len, "group %.*s is not known to the access control table",
                 clip(group), (const char *)group.ptr);
        return false;
    }
    if (p->user_id != g->owner && p->user_id != g->owner_main) {
        snprintf(remark, remark_len, "accessKey=%.*s may not use group %.*s", clip(p->access_key),
                 (const char *)p->access_key.ptr, clip(group), (const char *)group.ptr);
        return false;
    }
    if (need_read && !g->read_enable) {
        snprintf(remark, remark_len, "group %.*s has reading disabled (readEnable=false)",
                 clip(group), (const char *)group.ptr);
        return false;
    }
    return true;
}

/* The group of a %RETRY%/%DLQ% topic, or TERN_BYTES_NULL. */
static tern_bytes_t group_of_system_topic(tern_bytes_t topic)
{
    static const char *const prefixes[] = {"%RETRY%", "%DLQ%"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (topic.len > n && memcmp(topic.ptr, prefixes[i], n) == 0)
            return tern_bytes(topic.ptr + n, topic.len - n);
    }
    return TERN_BYTES_NULL;
}

static bool holds(const struct acl_topic *tp, const struct acl_principal *p, int right)
{
    if (tp->owner_main == p->main_id)
        return true;
    for (size_t i = 0; i < tp->ngrants; i++) {
        const struct acl_grant *g = &tp->grants[i];
        if ((g->user_id == p->user_id || g->user_id == p->main_id) && (g->relation & right))
            return true;
    }
    return false;
}

bool acl_table_topic_ok(const struct acl_table *t, const struct acl_principal *p,
                        tern_bytes_t topic, int right, char *remark, size_t remark_len)
{
    if (p->admin)
        return true;
    tern_bytes_t group = group_of_system_topic(topic);
    if (group.len)
        return acl_table_group_ok(t, p, group, false, remark, remark_len);
    const struct acl_topic *tp = strmap_get(&t->topics, topic);
    const char *what = right == ACL_RIGHT_PUB ? "publish to" : "subscribe to";
    if (!tp) {
        snprintf(remark, remark_len, "topic %.*s is not known to the access control table",
                 clip(topic), (const char *)topic.ptr);
        return false;
    }
    if (!holds(tp, p, right)) {
        snprintf(remark, remark_len, "accessKey=%.*s may not %s topic %.*s (%s)",
                 clip(p->access_key), (const char *)p->access_key.ptr, what, clip(topic),
                 (const char *)topic.ptr, right == ACL_RIGHT_PUB ? "needs PUB" : "needs SUB");
        return false;
    }
    if (!(tp->perm & right)) {
        snprintf(remark, remark_len, "topic %.*s is %s (perm=%d)", clip(topic),
                 (const char *)topic.ptr, right == ACL_RIGHT_PUB ? "not writable" : "not readable",
                 tp->perm);
        return false;
    }
    return true;
}

/* ---- slot -------------------------------------------------------------- */

void acl_slot_init(struct acl_slot *s)
{
    atomic_init(&s->cur, NULL);
    pthread_mutex_init(&s->lock, NULL);
    s->retired = NULL;
    atomic_init(&s->dirty, false);
}

void acl_slot_deinit(struct acl_slot *s)
{
    acl_table_free(atomic_load(&s->cur));
    atomic_store(&s->cur, NULL);
    while (s->retired) {
        struct acl_table *next = s->retired->next_retired;
        acl_table_free(s->retired);
        s->retired = next;
    }
    pthread_mutex_destroy(&s->lock);
}

/* Frees the retirees older than the grace (the list is newest first). */
static void free_expired(struct acl_slot *s, int64_t now)
{
    struct acl_table **pp = &s->retired;
    while (*pp && now - (*pp)->retired_at_ms < ACL_SLOT_GRACE_MS)
        pp = &(*pp)->next_retired;
    struct acl_table *t = *pp;
    *pp = NULL;
    while (t) {
        struct acl_table *next = t->next_retired;
        acl_table_free(t);
        t = next;
    }
}

bool acl_slot_swap(struct acl_slot *s, struct acl_table *t)
{
    pthread_mutex_lock(&s->lock);
    struct acl_table *old = atomic_load_explicit(&s->cur, memory_order_relaxed);
    if (old && tern_bytes_eq(old->text, t->text)) {
        pthread_mutex_unlock(&s->lock);
        acl_table_free(t);
        return false;
    }
    int64_t now = clock_mono_ms();
    atomic_store_explicit(&s->cur, t, memory_order_release);
    if (old) {
        /* Readers that loaded old before the store above may still use it:
         * it waits out the grace on the retired list. */
        old->retired_at_ms = now;
        old->next_retired = s->retired;
        s->retired = old;
    }
    free_expired(s, now);
    atomic_store(&s->dirty, true);
    pthread_mutex_unlock(&s->lock);
    return true;
}

int acl_slot_persist(struct acl_slot *s, const char *path)
{
    if (!atomic_exchange(&s->dirty, false))
        return TERN_OK;
    buf_t copy;
    buf_init(&copy);
    pthread_mutex_lock(&s->lock);
    struct acl_table *t = atomic_load(&s->cur);
    if (t)
        buf_append(&copy, t->text.ptr, t->text.len);
    pthread_mutex_unlock(&s->lock);
    int rc = t ? persist_write_mode(path, tern_bytes(copy.data, copy.len), 0600) : TERN_OK;
    if (rc != TERN_OK)
        atomic_store(&s->dirty, true);
    if (copy.len)
        OPENSSL_cleanse(copy.data, copy.len);
    buf_deinit(&copy);
    return rc;
}

int acl_slot_load(struct acl_slot *s, const char *path, char *err, size_t errlen)
{
    buf_t text;
    buf_init(&text);
    int rc = persist_read(path, &text);
    if (rc != TERN_OK) {
        buf_deinit(&text);
        if (rc != TERN_ENOT_FOUND)
            snprintf(err, errlen, "cannot read %s", path);
        return rc;
    }
    struct acl_table *t = NULL;
    rc = acl_table_parse(tern_bytes(text.data, text.len), &t, err, errlen);
    OPENSSL_cleanse(text.data, text.len);
    buf_deinit(&text);
    if (rc != TERN_OK)
        return rc;
    (void)acl_slot_swap(s, t);
    atomic_store(&s->dirty, false);
    return TERN_OK;
}
