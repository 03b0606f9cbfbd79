/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <sha2.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_chain.h"
#include "macro.h"

/* SHA-256 by libmd: OpenSSL's EVP set up its default provider on the
 * first digest (2 MiB of the idle daemon's memory) and looked the digest
 * up again for every record. */
void audit_chain_hash(const char *line, size_t len, char hex[AUDIT_CHAIN_HEX]) {
        uint8_t md[SHA256_DIGEST_LENGTH];
        SHA2_CTX ctx;
        SHA256Init(&ctx);
        SHA256Update(&ctx, (const uint8_t *) line, len);
        SHA256Final(md, &ctx);
        for (unsigned i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void genesis(struct audit_chain *c) {
        c->seq = 0;
        memcpy(c->last, AUDIT_CHAIN_GENESIS, AUDIT_CHAIN_HEX);
}

/* The record's seq, 0 if it has none. */
static uint64_t seq_of(const char *line, size_t len) {
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return 0;
        json_object *o = json_tokener_parse_ex(tok, line, (int) len), *v;
        uint64_t seq = 0;
        if (o && json_object_object_get_ex(o, "seq", &v) && json_object_is_type(v, json_type_int) &&
            json_object_get_int64(v) > 0)
                seq = (uint64_t) json_object_get_int64(v);
        json_object_put(o);
        json_tokener_free(tok);
        return seq;
}

/* Records are at most a few KiB; the last line is found in the last MiB. */
#define RESUME_WINDOW (1 << 20)

int audit_chain_resume(const char *path, struct audit_chain *ret, bool *ret_partial) {
        struct audit_chain c;
        genesis(&c);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret = c;
                *ret_partial = false;
                return 0;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        size_t want = st.st_size < RESUME_WINDOW ? (size_t) st.st_size : RESUME_WINDOW;
        _cleanup_free_ char *buf = malloc(want + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n = pread(fd, buf, want, st.st_size - (off_t) want);
        if (n < 0)
                return -errno;
        bool partial = n > 0 && buf[n - 1] != '\n';
        /* the last complete line: between the last two newlines */
        ssize_t end = n;
        while (end > 0 && buf[end - 1] != '\n')
                end--;
        if (end > 0) {
                ssize_t start = end - 1;
                while (start > 0 && buf[start - 1] != '\n')
                        start--;
                size_t len = (size_t) (end - 1 - start);
                c.seq = seq_of(buf + start, len);
                audit_chain_hash(buf + start, len, c.last);
        }
        *ret = c;
        *ret_partial = partial;
        return 0;
}

void audit_verify_init(struct audit_verify *v) {
        *v = (struct audit_verify){ 0 };
        genesis(&v->chain);
}

__attribute__((format(printf, 2, 3))) static int broken(struct audit_verify *v, const char *fmt, ...) {
        char what[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(v->why, sizeof(v->why), "line %" PRIu64 ": %s", v->line, what);
        return -EBADMSG;
}

int audit_verify_line(struct audit_verify *v, const char *line, size_t len) {
        v->line++;
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_object *o = json_tokener_parse_ex(tok, line, (int) len), *seq_v, *prev_v;
        bool whole = o && json_tokener_get_parse_end(tok) == len && json_object_is_type(o, json_type_object);
        json_tokener_free(tok);
        int r = 0;
        if (!whole)
                r = broken(v, "not a JSON record (after seq %" PRIu64 ")", v->chain.seq);
        else if (!json_object_object_get_ex(o, "seq", &seq_v) || !json_object_is_type(seq_v, json_type_int) ||
                 json_object_get_int64(seq_v) < 1 || !json_object_object_get_ex(o, "prev", &prev_v) ||
                 !json_object_is_type(prev_v, json_type_string) || json_object_get_string_len(prev_v) != 64)
                r = broken(v, "a record without seq and prev (after seq %" PRIu64 ")", v->chain.seq);
        else {
                uint64_t seq = (uint64_t) json_object_get_int64(seq_v);
                const char *prev = json_object_get_string(prev_v);
                bool anchor = !v->started && seq != 1; /* its predecessor is in an earlier file */
                if (v->started && seq != v->chain.seq + 1)
                        r = seq > v->chain.seq + 1
                                    ? broken(v, "seq %" PRIu64 " follows seq %" PRIu64 ": records missing", seq,
                                             v->chain.seq)
                                    : broken(v, "seq %" PRIu64 " follows seq %" PRIu64 ": out of order or repeated", seq,
                                             v->chain.seq);
                else if (!anchor && strcmp(prev, v->chain.last))
                        r = broken(v, "seq %" PRIu64 ": prev is not the hash of the record before it (seq %" PRIu64
                                      "): a record edited, removed or inserted",
                                   seq, v->chain.seq);
                if (r == 0) {
                        if (!v->started)
                                v->first_seq = seq;
                        v->started = true;
                        v->records++;
                        v->chain.seq = seq;
                        audit_chain_hash(line, len, v->chain.last);
                }
        }
        json_object_put(o);
        return r;
}

int audit_verify_file(struct audit_verify *v, FILE *f) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        v->line = 0;
        while ((n = getline(&line, &cap, f)) >= 0) {
                if (n > 0 && line[n - 1] == '\n')
                        n--;
                else {
                        v->line++;
                        snprintf(v->why, sizeof(v->why), "line %" PRIu64 ": the last line has no newline (a write cut short)",
                                 v->line);
                        return -EBADMSG;
                }
                int r = audit_verify_line(v, line, (size_t) n);
                if (r < 0)
                        return r;
        }
        return ferror(f) ? -EIO : 0;
}
