/* SPDX-License-Identifier: Apache-2.0 */
/* checkpoint.c: two-slot checkpoint file (layout in checkpoint.h and
 * docs/design/store.md#checkpoint). */
#include "store/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/xalloc.h"

_Static_assert(CKPT_OFF_CRC + 4 == CKPT_SLOT_BYTES, "checkpoint slot is 64 bytes");
_Static_assert(CKPT_SLOT1_POS + CKPT_SLOT_BYTES <= CKPT_FILE_BYTES, "slots fit the file");

bool checkpoint_decode_slot(const uint8_t *s, uint64_t *seq, struct checkpoint_data *d)
{
    if (be32_load(s + CKPT_OFF_MAGIC) != CKPT_MAGIC ||
        be32_load(s + CKPT_OFF_VERSION) != CKPT_VERSION)
        return false;
    if (be32_load(s + CKPT_OFF_CRC) != crc32_update(0, s, CKPT_OFF_CRC))
        return false;
    *seq = be64_load(s + CKPT_OFF_SEQ);
    d->phy_flushed_off = (int64_t)be64_load(s + CKPT_OFF_PHY);
    d->cq_flushed_phy = (int64_t)be64_load(s + CKPT_OFF_CQ);
    d->index_phy = (int64_t)be64_load(s + CKPT_OFF_INDEX);
    d->write_ms = (int64_t)be64_load(s + CKPT_OFF_WRITEMS);
    return d->phy_flushed_off >= 0 && d->cq_flushed_phy >= 0 && d->index_phy >= 0;
}

int checkpoint_open(const char *root, struct checkpoint **out, struct checkpoint_data *data,
                    bool *valid)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint", root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    uint8_t page[CKPT_FILE_BYTES];
    memset(page, 0, sizeof page);
    ssize_t got = pread(fd, page, sizeof page, 0);
    if (got < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    struct checkpoint *cp = xcalloc(1, sizeof *cp);
    cp->fd = fd;
    memset(data, 0, sizeof *data);
    *valid = false;
    const size_t pos[2] = {0, CKPT_SLOT1_POS};
    for (int i = 0; i < 2; i++) {
        uint64_t seq;
        struct checkpoint_data d;
        if (!checkpoint_decode_slot(page + pos[i], &seq, &d))
            continue;
        if (!*valid || seq > cp->seq) {
            *data = d;
            cp->seq = seq;
            *valid = true;
        }
    }
    if (got < CKPT_FILE_BYTES && ftruncate(fd, CKPT_FILE_BYTES) != 0) {
        int e = -errno;
        checkpoint_close(cp);
        return e;
    }
    *out = cp;
    return TERN_OK;
}

int checkpoint_write(struct checkpoint *cp, const struct checkpoint_data *d, bool sync)
{
    uint8_t s[CKPT_SLOT_BYTES];
    memset(s, 0, sizeof s);
    uint64_t seq = cp->seq + 1;
    be32_store(s + CKPT_OFF_MAGIC, CKPT_MAGIC);
    be32_store(s + CKPT_OFF_VERSION, CKPT_VERSION);
    be64_store(s + CKPT_OFF_SEQ, seq);
    be64_store(s + CKPT_OFF_PHY, (uint64_t)d->phy_flushed_off);
    be64_store(s + CKPT_OFF_CQ, (uint64_t)d->cq_flushed_phy);
    be64_store(s + CKPT_OFF_INDEX, (uint64_t)d->index_phy);
    be64_store(s + CKPT_OFF_WRITEMS, (uint64_t)d->write_ms);
    be32_store(s + CKPT_OFF_CRC, crc32_update(0, s, CKPT_OFF_CRC));
    off_t pos = (seq & 1) ? CKPT_SLOT1_POS : 0;
    if (pwrite(cp->fd, s, sizeof s, pos) != (ssize_t)sizeof s)
        return errno ? -errno : TERN_ECORRUPT;
    if (sync && fdatasync(cp->fd) != 0)
        return -errno;
    cp->seq = seq;
    return TERN_OK;
}

void checkpoint_close(struct checkpoint *cp)
{
    if (!cp)
        return;
    close(cp->fd);
    free(cp);
}
