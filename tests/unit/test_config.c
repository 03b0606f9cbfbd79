/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hpcnoded.conf's [hpcnoded] keys, read from their one table: the example
 * file is exactly the defaults; each key refuses a bad value with what it
 * takes, leaving the configuration untouched; the range edges; and the
 * reload's diff names exactly the keys that changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"

/* The configuration after reading text over the defaults; the error's
 * message (empty on success) in err. */
static int load_text(const char *text, struct hnd_config *cfg, struct hn_error *err) {
        char path[] = "/tmp/hn-config.XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        hnd_config_default(cfg);
        *err = (struct hn_error){ 0 };
        int r = hnd_config_load(path, true, cfg, err);
        unlink(path);
        return r;
}

static void example_file_is_the_defaults(void **state) {
        (void) state;
        struct hnd_config def, example;
        struct hn_error err = { 0 };
        hnd_config_default(&def);
        hnd_config_default(&example);
        /* two fields poisoned first: the file must set them (the diff
         * below cannot see a key the file leaves at its default) */
        memset(example.audit_log, 0, sizeof(example.audit_log));
        example.ringbuf_bytes = 1;
        if (hnd_config_load("user/daemon/hpcnoded.conf", true, &example, &err) < 0)
                fail_msg("%s", err.message);
        char differ[1024];
        hnd_config_restart_keys(&def, &example, differ, sizeof(differ));
        if (differ[0])
                fail_msg("user/daemon/hpcnoded.conf differs from the defaults in: %s", differ);
}

static void each_key_refuses_a_bad_value(void **state) {
        (void) state;
        static const struct {
                const char *line, *want;
        } bad[] = {
                { "CgroupRoot=relative", "CgroupRoot=relative: expected auto, an absolute path, or empty" },
                { "Mode=strict", "Mode=strict: expected auto, enforce or audit" },
                { "AuditLog=log.jsonl", "expected an absolute path, or empty for none" },
                { "AuditFsync=maybe", "AuditFsync=maybe: expected yes or no" },
                { "Journal=2", "Journal=2: expected yes or no" },
                { "RingBufferBytes=6144", "expected a power of two, at least 4096" },
                { "RingBufferBytes=2048", "expected a power of two, at least 4096" },
                { "BpfPinDir=bpf", "expected an absolute path on bpffs, or empty for none" },
                { "EmergencyState=", "EmergencyState=: expected an absolute path" },
                { "LossCheckMSec=9", "expected 10..60000" },
                { "Attribution=kprobe", "expected auto, lsm, tracepoint or off" },
                { "LimitCheckMSec=99", "expected 0 (off) or 100..3600000" },
                { "UenvBase=", "UenvBase=: expected an absolute path" },
                { "WorkdirBase=run", "expected an absolute path" },
                { "HoldTimeSec=86401", "expected 0..86400" },
                { "KillTimeoutMSec=600001", "expected 100..600000" },
                { "MountCheckMSec=99", "expected 100..600000" },
                { "MountCheckBusyMSec=-1", "expected 100..600000" },
                { "ControlSocket=sock", "expected an absolute path, or empty for none" },
                { "ApiRequestTimeoutMSec=1e3", "expected 100..3600000" },
                { "ApiIdleTimeoutMSec=3600001", "expected 100..3600000" },
                { "ApiMaxClients=0", "expected 1..4096" },
                { "MetricsListen=127.0.0.1:9464", "MetricsListen=127.0.0.1:9464: expected nothing: it is gone (0.4)" },
                { "MetricsListen=", "MetricsTextfile=" },
                { "MetricsTextfile=hpcnode.prom", "expected an absolute path, or empty for none" },
                { "MetricsIntervalSec=3601", "expected 1..3600" },
                { "NoSuchKey=1", "unknown key NoSuchKey" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char text[256];
                struct hnd_config cfg, def;
                struct hn_error err;
                snprintf(text, sizeof(text), "[hpcnoded]\nHoldTimeSec=5\n%s\n", bad[i].line);
                if (load_text(text, &cfg, &err) >= 0)
                        fail_msg("%s: accepted", bad[i].line);
                if (!strstr(err.message, bad[i].want) || !strstr(err.message, ":3: "))
                        fail_msg("%s: \"%s\", not line 3 and \"%s\"", bad[i].line, err.message, bad[i].want);
                hnd_config_default(&def);
                if (memcmp(&cfg, &def, sizeof(cfg)) != 0) /* not even the line before it */
                        fail_msg("%s: the configuration changed on a refusal", bad[i].line);
        }
}

static void range_edges_and_off_are_taken(void **state) {
        (void) state;
        struct hnd_config cfg;
        struct hn_error err;
        if (load_text("[hpcnoded]\nLimitCheckMSec=0\nRingBufferBytes=4096\nHoldTimeSec=0\nApiMaxClients=4096\n"
                      "CgroupRoot=\nAuditLog=\nMode=enforce\nAttribution=tracepoint\n"
                      "AuditFsync=no\nLossCheckMSec=60000\n",
                      &cfg, &err) < 0)
                fail_msg("%s", err.message);
        assert_int_equal(cfg.limit_check_ms, 0);
        assert_int_equal(cfg.ringbuf_bytes, 4096);
        assert_int_equal(cfg.hold_time_secs, 0);
        assert_int_equal(cfg.api_max_clients, 4096);
        assert_string_equal(cfg.cgroup_root, "");
        assert_string_equal(cfg.audit_log, "");
        assert_int_equal(cfg.mode, HND_MODE_ENFORCE);
        assert_int_equal(cfg.attribution, HN_ATTRIBUTION_TRACEPOINT);
        assert_false(cfg.audit_fsync);
        assert_int_equal(cfg.loss_check_ms, 60000);
        /* a shorter string over a longer one leaves no tail behind */
        if (load_text("[hpcnoded]\nUenvBase=/run/a-long-place/uenv\nUenvBase=/u\n", &cfg, &err) < 0)
                fail_msg("%s", err.message);
        assert_string_equal(cfg.uenv_base, "/u");
        assert_int_equal(cfg.uenv_base[3], 0);
}

static void reload_names_exactly_the_changed_keys(void **state) {
        (void) state;
        struct hnd_config a, b;
        struct hn_error err;
        char differ[1024];
        hnd_config_default(&a);
        if (load_text("[hpcnoded]\nBpfPinDir=/sys/fs/bpf/other\nMode=audit\nHoldTimeSec=61\n"
                      "AuditLog=/var/log/hpcnode/audit.jsonl\n[identity.pact]\nUid=5\n",
                      &b, &err) < 0)
                fail_msg("%s", err.message);
        hnd_config_restart_keys(&a, &b, differ, sizeof(differ));
        /* in the table's order; an identity is not among them (SIGHUP
         * applies those), a key set to its default value neither */
        assert_string_equal(differ, "Mode, BpfPinDir, HoldTimeSec");
        hnd_config_restart_keys(&b, &b, differ, sizeof(differ));
        assert_string_equal(differ, "");
}

/* Mode= takes exactly the names hnd_mode_name gives (one list), each back
 * to its mode; anything else is refused. */
static void mode_names_read_both_ways(void **state) {
        (void) state;
        const enum hnd_mode modes[] = { HND_MODE_AUTO, HND_MODE_ENFORCE, HND_MODE_AUDIT };
        struct hnd_config cfg;
        struct hn_error err;
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                char text[128];
                snprintf(text, sizeof(text), "[hpcnoded]\nMode=%s\n", hnd_mode_name(modes[i]));
                assert_int_equal(load_text(text, &cfg, &err), 0);
                assert_int_equal(cfg.mode, modes[i]);
        }
        assert_string_equal(hnd_mode_name(HND_MODE_ENFORCE), "enforce");
        assert_true(load_text("[hpcnoded]\nMode=Enforce\n", &cfg, &err) < 0);
        assert_non_null(strstr(err.message, "auto, enforce or audit"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(example_file_is_the_defaults),
                cmocka_unit_test(each_key_refuses_a_bad_value),
                cmocka_unit_test(range_edges_and_off_are_taken),
                cmocka_unit_test(reload_names_exactly_the_changed_keys),
                cmocka_unit_test(mode_names_read_both_ways),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
