/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A real hpcnoded for end-to-end tests: a scratch cgroup root, scratch
 * mount bases, its own audit log and API socket in a fresh directory, the
 * agents' stand-ins as its identities. */
#ifndef HN_TEST_DAEMON_FIXTURE_H
#define HN_TEST_DAEMON_FIXTURE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fixture.h"

struct dmn {
        struct env *cg;
        char dir[64], config[128], log[128], socket[128], daemon[PATH_MAX];
        struct agents agents;
        const char *pact_exe, *workload_exe;
        const char *pact_extra, *workload_extra; /* more lines for the identity sections */
        pid_t pid;
        const char *mode; /* the mode start() expects; NULL: what the kernel allows */
        const char *bounding_set; /* setpriv --bounding-set for the daemon; NULL: all of root's */
        bool pid_namespace; /* start() runs it in a new PID namespace (pid is unshare's) */
        /* BpfPinDir=: "" (none) unless a test pins, on a bpffs of its own
         * (dmn_pin_setup), which teardown unmounts: nothing outlives it */
        char pin_dir[160], bpffs[128];
};

int dmn_setup(void **state);
/* A bpffs mounted at DIR/bpf for this test, and BpfPinDir= below it. */
void dmn_pin_setup(struct dmn *d);
int dmn_teardown(void **state);
/* The mode hpcnoded must choose here: enforce where BPF LSM works. */
bool can_enforce(void);
const char *daemon_path(void);
/* hpcnodectl, beside the daemon. */
const char *ctl_path(void);
/* The test configuration, extra lines in [hpcnoded]. */
void write_config(struct dmn *d, const char *extra);
/* Forks hpcnoded --config config with stdout (and, if quiet, stderr) on
 * /dev/null, under setpriv --bounding-set when bounding_set is non-NULL;
 * its pid. Does not wait for it to be ready. */
pid_t daemon_spawn(const char *config, const char *bounding_set, bool quiet);
/* Starts hpcnoded and waits for its start record (fails the test if none). */
void start(struct dmn *d);
double now_s(void);
/* The first record with "event" == name (and target.path == path if
 * non-NULL), waiting up to 10 s. The caller json_object_put()s it. */
json_object *wait_record(const char *log, const char *name, const char *path);
/* Waits (up to 10 s) until at least n lines of log contain needle; the
 * count found. */
int wait_lines(const char *log, const char *needle, int n);
/* Fails the test, showing text, unless needle is in it. */
bool has(const char *text, const char *needle);
/* o.a or o.a.b; a missing field fails the test naming it. */
const char *str(json_object *o, const char *a, const char *b);
int64_t num(json_object *o, const char *a, const char *b);

/* A connection to the API socket (fails the test if none). */
int api_connect(struct dmn *d);
/* Reads from fd until buf holds `lines` newlines, the stream ends, or
 * nothing came for timeout_ms; NUL-terminated; the bytes read. */
size_t read_lines(int fd, char *buf, size_t size, int lines, int timeout_ms);
/* One request line (newline added) on a new connection; the reply parsed. */
json_object *api_request(struct dmn *d, const char *line);
/* {"call":call,"args":args_json}; args_json may be NULL. */
json_object *api_call(struct dmn *d, const char *call, const char *args_json);
/* reply.ok */
bool api_ok(json_object *reply);
/* hpcnodectl against this daemon: argument string split by the shell,
 * stdout (and stderr, if err) captured; its exit code. prefix (may be
 * NULL) runs before it, e.g. "setpriv --reuid=65534 --regid=65534 --clear-groups". */
int ctl_run(struct dmn *d, const char *prefix, char *out, size_t size, const char *args);

#endif
