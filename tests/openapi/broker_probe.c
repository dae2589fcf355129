/* SPDX-License-Identifier: Apache-2.0 */
/* broker_probe.c: prints what a broker really holds, for the Open API tests.
 *   broker_probe HOST:PORT topics   body of GET_ALL_TOPIC_CONFIG (21)
 *   broker_probe HOST:PORT groups   body of GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201)
 *   broker_probe HOST:PORT stats NAME KEY   body of VIEW_BROKER_STATS_DATA (315)
 *   broker_probe HOST:PORT minutes SINCE    body of GET_STATS_MINUTES (10315)
 * Exit 0 with the JSON body on stdout; 1 when the call fails (the answer's
 * code and remark on stderr). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "protocol/codes.h"
#include "remoting/remoting.h"

int main(int argc, char **argv);

int main(int argc, char **argv)
{
    bool stats = argc == 5 && strcmp(argv[2], "stats") == 0;
    bool minutes = argc == 4 && strcmp(argv[2], "minutes") == 0;
    if (!stats && !minutes &&
        (argc != 3 || (strcmp(argv[2], "topics") && strcmp(argv[2], "groups")))) {
        fprintf(stderr, "usage: broker_probe HOST:PORT topics|groups|stats NAME KEY|minutes "
                        "SINCE\n");
        return 2;
    }
    struct rclient_opts o = {0};
    struct rclient *c;
    if (rclient_new(&o, &c) != TERN_OK)
        return 1;
    struct rcmd req;
    rcmd_init(&req);
    req.code = strcmp(argv[2], "topics") == 0 ? RC_GET_ALL_TOPIC_CONFIG
                                              : RC_GET_ALL_SUBSCRIPTIONGROUP_CONFIG;
    if (stats) {
        req.code = RC_VIEW_BROKER_STATS_DATA;
        rcmd_add_cstr(&req, "statsName", argv[3]);
        rcmd_add_cstr(&req, "statsKey", argv[4]);
    } else if (minutes) {
        req.code = RC_TERN_GET_STATS_MINUTES;
        rcmd_add_cstr(&req, "sinceMinute", argv[3]);
    }
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(c, argv[1], &req, 3000, &resp);
    rcmd_deinit(&req);
    int status = 1;
    if (rc != TERN_OK)
        fprintf(stderr, "broker_probe: %s\n", tern_strerror(rc));
    else if (resp.cmd.code != RESP_SUCCESS)
        fprintf(stderr, "broker_probe: code %d %.*s\n", (int)resp.cmd.code,
                (int)resp.cmd.remark.len,
                resp.cmd.remark.ptr ? (const char *)resp.cmd.remark.ptr : "");
    else
        status =
            fwrite(resp.cmd.body.ptr, 1, resp.cmd.body.len, stdout) == resp.cmd.body.len ? 0 : 1;
    rresp_deinit(&resp);
    rclient_free(c);
    return status;
}
