/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mount tests run in their own mount namespace (entered once, in main)
 * with scratch bases under a fresh directory, so nothing reaches the host's
 * mount table and a crashed test leaves nothing behind: when the process
 * exits, its namespace goes, and its loop devices with it (autoclear). */
#ifndef HN_TEST_MOUNT_FIXTURE_H
#define HN_TEST_MOUNT_FIXTURE_H

#include <hpcnode/mount.h>

#include "fixture.h"

/* unshare(CLONE_NEWNS) + make every mount private. 0, or skip reason. */
const char *mount_ns_enter(void);

#define REQUIRE_MOUNT_ENV()                                                                                            \
        do {                                                                                                           \
                const char *why_ = mount_ns_enter();                                                                   \
                if (why_)                                                                                              \
                        SKIP_BECAUSE("%s", why_);                                                                      \
        } while (0)

struct mount_env {
        char dir[128];      /* scratch root */
        char uenv[192], workdir[192], images[192];
        char image[4][256]; /* four squashfs images, each with /id = "image-N\n" */
        struct hn_mount_manager *m;
        struct hn_mount_config cfg;
        struct audit_log log;
        struct hn_emergency *emergency;
};

/* Builds the scratch dir, four images and a manager (hold 1 s). */
int mount_env_setup(void **state);
int mount_env_teardown(void **state);
/* Builds a squashfs image at path whose /id file says content. */
int make_image(const char *path, const char *content);

/* The mountinfo line for target: its mount id, fstype, options. */
struct mnt_line {
        int id;
        char fstype[32];
        char options[256];  /* per-mount options, e.g. "ro,nosuid,nodev,relatime" */
        char source[256];
        unsigned major, minor;
};
bool mountinfo_find(const char *target, struct mnt_line *ret);
/* Number of mounts whose target starts with prefix. */
int mounts_below(const char *prefix);
/* Loop devices whose backing file starts with prefix. */
int loops_backing(const char *prefix);
/* A loop device with autoclear detaches asynchronously after its last
 * user goes: polls until none backs prefix, or timeout_ms. */
bool wait_loops_gone(const char *prefix, unsigned timeout_ms);
/* True if the comma-separated options contain every one of want. */
bool has_options(const char *options, const char *want);

#endif
