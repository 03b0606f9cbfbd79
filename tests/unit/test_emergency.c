/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Emergency state: declared, persisted, shared, ended, expired. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "fixture.h"

struct ctx {
        char dir[64];
        char path[128];
        struct audit_log log;
};

static int setup(void **state) {
        struct ctx *c = calloc(1, sizeof(*c));
        snprintf(c->dir, sizeof(c->dir), "/tmp/hn-emergency.XXXXXX");
        if (!mkdtemp(c->dir))
                return -1;
        snprintf(c->path, sizeof(c->path), "%s/emergency", c->dir);
        *state = c;
        return 0;
}

static int teardown(void **state) {
        struct ctx *c = *state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
        int r = system(cmd);
        free(c);
        return r;
}

static void begin_persists_and_survives_restart(void **state) {
        struct ctx *c = *state;
        struct hn_emergency *e = NULL, *again = NULL;
        struct hn_emergency_info info;
        struct hn_error err = { 0 };
        assert_int_equal(hn_emergency_new(c->path, &e, &err), 0);
        hn_emergency_set_audit(e, audit_record, &c->log);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 0);
        assert_int_equal(hn_emergency_begin(e, "operator:alice", "node 17 hung jobs", 600, &err), 0);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 1);
        assert_string_equal(info.actor, "operator:alice");
        assert_string_equal(info.reason, "node 17 hung jobs");
        assert_true(info.expires_unix == info.started_unix + 600);
        assert_true(path_exists(c->path));

        int i = audit_find(&c->log, "emergency.begin", HN_AUDIT_DONE);
        assert_true(i >= 0);
        assert_string_equal(c->log.e[i].actor, "operator:alice");
        assert_string_equal(c->log.e[i].detail, "node 17 hung jobs");
        assert_true(c->log.e[i].emergency);

        /* A second process (or a restarted one) sees the same state. */
        assert_int_equal(hn_emergency_new(c->path, &again, &err), 0);
        assert_int_equal(hn_emergency_active(again, &info, NULL), 1);
        assert_string_equal(info.actor, "operator:alice");

        /* Only one at a time. */
        assert_int_equal(hn_emergency_begin(again, "operator:bob", "other", 60, &err), -EBUSY);
        assert_int_equal(err.kind, HN_ERR_PERMISSION_DENIED);
        assert_non_null(strstr(err.message, "declared by operator:alice"));

        assert_int_equal(hn_emergency_end(again, "operator:alice", &err), 0);
        assert_int_equal(hn_emergency_active(e, NULL, NULL), 0);
        assert_false(path_exists(c->path));
        assert_int_equal(hn_emergency_end(e, "operator:alice", &err), -ENOENT);
        assert_int_equal(err.kind, HN_ERR_NOT_FOUND);
        hn_emergency_free(e);
        hn_emergency_free(again);
}

static void expiry_closes_the_door_and_is_audited(void **state) {
        struct ctx *c = *state;
        struct hn_emergency *e = NULL;
        assert_int_equal(hn_emergency_new(c->path, &e, NULL), 0);
        hn_emergency_set_audit(e, audit_record, &c->log);
        struct hn_emergency_info info;
        struct timespec before;
        clock_gettime(CLOCK_REALTIME, &before);
        assert_int_equal(hn_emergency_begin(e, "op", "short", 1, NULL), 0);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 1);
        /* At least the second asked for, however close to a second's end
         * it was declared (a whole-second deadline from time() gave 0..1 s). */
        uint64_t before_ns = (uint64_t) before.tv_sec * 1000000000ull + (uint64_t) before.tv_nsec;
        assert_true(info.expires_unix * 1000000000ull >= before_ns + 1000000000ull);
        assert_true(info.expires_unix * 1000000000ull < before_ns + 2000000000ull + 100000000ull);
        sleep(2);
        assert_int_equal(hn_emergency_active(e, NULL, NULL), 0);
        int i = audit_find(&c->log, "emergency.end", HN_AUDIT_DONE);
        assert_true(i >= 0);
        assert_string_equal(c->log.e[i].detail, "expired");
        assert_false(path_exists(c->path));
        hn_emergency_free(e);
}

static void bad_declarations_refused_and_nothing_written(void **state) {
        struct ctx *c = *state;
        struct hn_emergency *e = NULL;
        struct hn_error err = { 0 };
        char longtext[HN_EMERGENCY_TEXT_MAX + 2];
        memset(longtext, 'x', sizeof(longtext) - 1);
        longtext[sizeof(longtext) - 1] = '\0';
        assert_int_equal(hn_emergency_new(c->path, &e, NULL), 0);
        const struct {
                const char *actor, *reason;
                uint32_t secs;
                const char *msg;
        } bad[] = {
                { "", "r", 10, "invalid emergency actor: empty" },
                { NULL, "r", 10, "invalid emergency actor: empty" },
                { "op", "", 10, "invalid emergency reason: empty" },
                { "op", "line1\nline2", 10, "invalid emergency reason: contains a control character" },
                { longtext, "r", 10, "invalid emergency actor: over 256 bytes" },
                { "op", "r", 0, "invalid emergency duration 0 s: must be 1..86400" },
                { "op", "r", 86401, "invalid emergency duration 86401 s: must be 1..86400" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(hn_emergency_begin(e, bad[i].actor, bad[i].reason, bad[i].secs, &err), -EINVAL);
                assert_int_equal(err.kind, HN_ERR_INVALID_ARGUMENT);
                assert_string_equal(err.message, bad[i].msg);
                assert_false(path_exists(c->path));
        }
        assert_int_equal(hn_emergency_new("relative/path", &e, &err), -EINVAL);
        hn_emergency_free(e);
}

static void malformed_state_never_counts_as_active(void **state) {
        struct ctx *c = *state;
        struct hn_emergency *e = NULL;
        assert_int_equal(write_text(c->path, ""), -ENOENT); /* write_text does not create */
        FILE *f = fopen(c->path, "w");
        fputs("actor=x\nexpires=99999999999\n", f); /* no reason, no start */
        fclose(f);
        assert_int_equal(hn_emergency_new(c->path, &e, NULL), 0);
        struct hn_error err = { 0 };
        assert_true(hn_emergency_active(e, NULL, &err) < 0);
        assert_int_equal(err.kind, HN_ERR_IO);
        assert_non_null(strstr(err.message, c->path)); /* names the state file */
        /* A new declaration replaces it. */
        assert_int_equal(hn_emergency_begin(e, "op", "repair", 60, NULL), 0);
        assert_int_equal(hn_emergency_active(e, NULL, NULL), 1);
        hn_emergency_free(e);
}

static void write_text_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* Sealed, the object is the only source of truth: a state someone else
 * wrote (pact, say) is not honoured, at start or later; a change behind
 * its back is reported and undone; its own sealed state survives a
 * restart with the same key, and no other key. */
static void sealed_state_is_the_managers_alone(void **state) {
        struct ctx *c = *state;
        static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
        static const unsigned char other[32] = "ffffffffffffffffffffffffffffffff";
        struct hn_emergency *e = NULL;
        struct hn_emergency_info info;
        struct hn_error err = { 0 };
        char forged[256];
        snprintf(forged, sizeof(forged), "actor=pact\nreason=mine\nstarted=%llu\nexpires=%llu\n",
                 (unsigned long long) time(NULL), (unsigned long long) time(NULL) + 600);

        /* a file pact wrote before the daemon started: not honoured, removed */
        write_text_file(c->path, forged);
        assert_int_equal(hn_emergency_new(c->path, &e, &err), 0);
        hn_emergency_set_audit(e, audit_record, &c->log);
        assert_int_equal(hn_emergency_set_key(e, key, sizeof(key), &err), 0);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 0);
        assert_false(path_exists(c->path));
        int i = audit_find(&c->log, "emergency.state_tampered", HN_AUDIT_REFUSED);
        assert_true(i >= 0);
        assert_string_equal(c->log.e[i].detail, "the state file is not sealed by the manager: not honoured, removed");

        /* written while it runs: ignored, removed again, reported */
        c->log.n = 0;
        write_text_file(c->path, forged);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 0);
        assert_false(path_exists(c->path));
        assert_true(audit_find(&c->log, "emergency.state_tampered", HN_AUDIT_REFUSED) >= 0);

        /* its own: sealed; an edit of it is undone, the truth kept */
        assert_int_equal(hn_emergency_begin(e, "operator:alice", "drain", 600, &err), 0);
        char *sealed = NULL;
        assert_int_equal(read_full_file_at(AT_FDCWD, c->path, &sealed, NULL), 0);
        assert_non_null(strstr(sealed, "\nseal="));
        c->log.n = 0;
        write_text_file(c->path, "actor=pact\nreason=drain\nstarted=1\nexpires=2\n");
        assert_int_equal(hn_emergency_active(e, &info, NULL), 1);
        assert_string_equal(info.actor, "operator:alice");
        assert_true(audit_find(&c->log, "emergency.state_tampered", HN_AUDIT_REFUSED) >= 0);
        char *now = NULL;
        assert_int_equal(read_full_file_at(AT_FDCWD, c->path, &now, NULL), 0);
        assert_string_equal(now, sealed);
        free(now);
        /* removed behind its back: put back */
        assert_int_equal(unlink(c->path), 0);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 1);
        assert_true(path_exists(c->path));
        hn_emergency_free(e);

        /* a restart with the key honours it; with another key it is not */
        assert_int_equal(hn_emergency_new(c->path, &e, &err), 0);
        assert_int_equal(hn_emergency_set_key(e, key, sizeof(key), &err), 0);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 1);
        assert_string_equal(info.actor, "operator:alice");
        hn_emergency_free(e);
        assert_int_equal(hn_emergency_new(c->path, &e, &err), 0);
        assert_int_equal(hn_emergency_set_key(e, other, sizeof(other), &err), 0);
        assert_int_equal(hn_emergency_active(e, &info, NULL), 0);
        assert_false(path_exists(c->path));
        /* a key too short is refused */
        assert_int_equal(hn_emergency_set_key(e, key, 8, &err), -EINVAL);
        hn_emergency_free(e);
        free(sealed);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(begin_persists_and_survives_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(expiry_closes_the_door_and_is_audited, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_declarations_refused_and_nothing_written, setup, teardown),
                cmocka_unit_test_setup_teardown(malformed_state_never_counts_as_active, setup, teardown),
                cmocka_unit_test_setup_teardown(sealed_state_is_the_managers_alone, setup, teardown),
        };
        return cmocka_run_group_tests_name("emergency", tests, NULL, NULL);
}
