/* SPDX-License-Identifier: Apache-2.0 */
/* h_dlq.c: /json/message/getByIdInDLQ|getByPagedDLQ|resendByIdInDLQ (spec
 * §6.10). A group's dead letters are the records of %DLQ%<group> (physical
 * group name); each keeps the business topic in its RETRY_TOPIC property.
 * A resend is a SEND_MESSAGE (10) of the stored record into the group's
 * %RETRY%<group> topic at the broker holding the dead letter: only that
 * group consumes it, it is delivered at once (no delay level), it waits for
 * a consumer when none is online, and it keeps its reconsume count, so one
 * more failure dead-letters it again as a new entry. */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "openapi/admin.h"
#include "openapi/msgview.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

#define RESEND_PRODUCER_GROUP "CID_ONSAPI_RESEND" /* shown as the sender */

/* Resolves groupId (the group must be usable by the caller) and its DLQ
 * topic. OUT: *g (logical), *phys_group, *dlq (physical, arena). */
static int dlq_of(struct api_req *r, struct api_instance *in, const char **g,
                  const char **phys_group, const char **dlq)
{
    if (api_str(r, "groupId", true, 1, 255, g) < 0 || api_existing_group(r, *g, in) < 0)
        return -1;
    *phys_group = api_phys_name(r, in, *g);
    if (!*phys_group)
        return -1;
    size_t n = strlen(*phys_group) + sizeof "%DLQ%";
    char *t = arena_alloc(&r->arena, n);
    if (!t)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    snprintf(t, n, "%%DLQ%%%s", *phys_group);
    *dlq = t;
    return 0;
}

/* The newest DLQ entry with msgId. 1 found (OUT: *f), 0 answered, -1 error. */
static int find_dead(struct api_req *r, struct api_instance *in, const char **phys_group,
                     struct msg_found *f)
{
    const char *g, *dlq, *id;
    if (dlq_of(r, in, &g, phys_group, &dlq) < 0 ||
        api_str(r, "msgId", true, 1, MSGID_MAX_LEN, &id) < 0)
        return -1;
    int rc = msgview_find_by_id(r, in, dlq, id, f);
    if (rc == 0)
        return api_fail(r, API_BIZ_NO_MESSAGE, "no message %s in the dead-letter queue of %s", id,
                        g);
    return rc;
}

int h_dlq_get_by_id(struct api_req *r)
{
    struct api_instance in;
    const char *pg;
    struct msg_found f;
    if (find_dead(r, &in, &pg, &f) < 0)
        return -1;
    jw_t w;
    api_data_begin(r, &w);
    msgview_write(r, &w, &in, &f.m, msgview_shown_topic(r, &in, &f.m, true));
    return 0;
}

int h_dlq_get_by_paged(struct api_req *r)
{
    const char *g, *pg, *dlq;
    struct paged_params p;
    struct api_instance in;
    if (api_str(r, "groupId", true, 1, 255, &g) < 0 || paged_params(r, &p) < 0)
        return -1;
    if (p.task_id)
        return paged_answer(r, "dlq", NULL, NULL, true, &p);
    if (dlq_of(r, &in, &g, &pg, &dlq) < 0)
        return -1;
    return paged_answer(r, "dlq", &in, dlq, true, &p);
}

int h_dlq_resend_by_id(struct api_req *r)
{
    struct api_instance in;
    const char *pg;
    struct msg_found f;
    if (find_dead(r, &in, &pg, &f) < 0)
        return -1;
    const struct msg_record *m = &f.m;
    /* The DLQ marker (DELAY=-1) and timer state must not travel along. */
    static const char *const SKIP[] = {PROP_DELAY,
                                       PROP_TIMER_DELIVER_MS,
                                       PROP_TIMER_DELAY_SEC,
                                       PROP_TIMER_DELAY_MS,
                                       PROP_REAL_TOPIC,
                                       PROP_REAL_QID,
                                       NULL};
    buf_t props;
    buf_init(&props);
    props_copy_except(&props, m->props, SKIP);
    size_t tn = strlen(pg) + sizeof "%RETRY%";
    char *retry = arena_alloc(&r->arena, tn);
    if (!retry || buf_failed(&props)) {
        buf_deinit(&props);
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    }
    snprintf(retry, tn, "%%RETRY%%%s", pg);

    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_SEND_MESSAGE;
    rcmd_add_cstr(&req, "producerGroup", RESEND_PRODUCER_GROUP);
    rcmd_add_cstr(&req, "topic", retry);
    rcmd_add_cstr(&req, "defaultTopic", "TBW102");
    rcmd_add_i64(&req, "defaultTopicQueueNums", 1);
    rcmd_add_i64(&req, "queueId", 0);
    rcmd_add_i64(&req, "sysFlag",
                 m->sys_flag &
                     ~(MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6 | MSG_SYSFLAG_TXN_MASK));
    rcmd_add_i64(&req, "bornTimestamp", m->born_ts);
    rcmd_add_i64(&req, "flag", m->flag);
    rcmd_add(&req, "properties", buf_view(&props));
    /* Keep the count: the broker's "too many reconsumes" check compares it
     * with maxReconsumeTimes, which is set to the same value here so that
     * the resend itself is not dead-lettered again. */
    rcmd_add_i64(&req, "reconsumeTimes", m->reconsume_times);
    rcmd_add_i64(&req, "maxReconsumeTimes", m->reconsume_times);
    req.body = m->body;
    char err[400];
    struct admin_reply rep;
    int rc = admin_request(r->o->admin, f.addr, &req, &r->arena, &rep, err, sizeof err);
    buf_deinit(&props);
    if (rc != TERN_OK)
        return api_invoke_failed(r, "resending the message", err);
    if (rep.code != RESP_SUCCESS)
        return api_fail(r, API_ONS_INVOKE_ERROR, "%s refused the resend (code %d): %.*s", f.addr,
                        rep.code, (int)rep.remark.len,
                        rep.remark.ptr ? (const char *)rep.remark.ptr : "");
    return 0;
}
