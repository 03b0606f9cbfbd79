/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 8259 JSON, checked strictly before json-c parses it: json-c accepts
 * what a hostile caller can use against a daemon that acts on the parsed
 * value (a duplicate key, whose last value wins; "\u0000", which ends the
 * C string it is read as; a lone surrogate, written out as invalid UTF-8;
 * an integer beyond int64, saturated). Each is refused here with where it
 * is, so nothing is acted on and nothing is echoed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"

#define MAX_DEPTH 32
#define MAX_KEYS 256 /* members of one object */

struct scan {
        const unsigned char *p, *end, *start;
        char *why;
        size_t size;
};

static int fail(struct scan *s, const char *what) {
        snprintf(s->why, s->size, "%s at byte %zu", what, (size_t) (s->p - s->start));
        return -EBADMSG;
}

static void skip_space(struct scan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

/* One UTF-8 sequence, well formed and shortest (no surrogates, <= U+10FFFF). */
/* The length of the valid UTF-8 character at p (shortest form, no
 * surrogate, at most U+10FFFF), 0 if there is none. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
        unsigned c = *p;
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || (size_t) (end - p) < n)
                return 0;
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3F);
        }
        static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return n;
}

static int utf8_char(struct scan *s) {
        size_t n = utf8_len(s->p, s->end);
        if (n == 0)
                return fail(s, "invalid UTF-8");
        s->p += n;
        return 0;
}

bool json_utf8_valid(const char *text, size_t len) {
        const unsigned char *p = (const unsigned char *) text, *end = p + len;
        while (p < end) {
                if (*p < 0x80) { /* the common case, a byte at a time */
                        p++;
                        continue;
                }
                size_t n = utf8_len(p, end);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

/* text with each byte that is not part of valid UTF-8 written as the
 * four characters \xNN (and each backslash as two, so the escape is
 * unambiguous); NULL without memory. */
static char *utf8_escape(const char *text, size_t len) {
        char *out = malloc(len * 4 + 1), *w = out;
        if (!out)
                return NULL;
        const unsigned char *p = (const unsigned char *) text, *end = p + len;
        while (p < end) {
                size_t n = *p == '\\' ? 0 : utf8_len(p, end);
                if (*p == '\\') {
                        *w++ = '\\', *w++ = '\\';
                        p++;
                } else if (n == 0) {
                        w += sprintf(w, "\\x%02x", *p);
                        p++;
                } else {
                        memcpy(w, p, n);
                        w += n, p += n;
                }
        }
        *w = '\0';
        return out;
}

unsigned json_utf8_repair(json_object *o) {
        unsigned n = 0;
        switch (json_object_get_type(o)) {
        case json_type_string: {
                const char *text = json_object_get_string(o);
                size_t len = (size_t) json_object_get_string_len(o);
                if (json_utf8_valid(text, len))
                        return 0;
                char *fixed = utf8_escape(text, len);
                (void) json_object_set_string(o, fixed ? fixed : "(invalid UTF-8)");
                free(fixed);
                return 1;
        }
        case json_type_object: {
                json_object_object_foreach(o, key, value) {
                        (void) key;
                        n += json_utf8_repair(value);
                }
                return n;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        n += json_utf8_repair(json_object_array_get_idx(o, i));
                return n;
        default:
                return 0;
        }
}

static int hex4(struct scan *s, uint32_t *ret) {
        uint32_t v = 0;
        if (s->end - s->p < 4)
                return fail(s, "short \\u escape");
        for (int i = 0; i < 4; i++) {
                unsigned char c = s->p[i];
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0)
                        return fail(s, "bad \\u escape");
                v = v << 4 | (uint32_t) d;
        }
        s->p += 4;
        *ret = v;
        return 0;
}

/* A string at s->p (on its opening quote); its raw text is [*ret_from,
 * *ret_to): keys are compared raw after the escapes are checked, and two
 * spellings of one key ("a" and "\u0061") are refused as ambiguous. */
static int string(struct scan *s, const unsigned char **ret_from, const unsigned char **ret_to) {
        s->p++;
        const unsigned char *from = s->p;
        while (s->p < s->end && *s->p != '"') {
                unsigned char c = *s->p;
                if (c < 0x20)
                        return fail(s, "control character in a string");
                if (c != '\\') {
                        int r = utf8_char(s);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (++s->p == s->end)
                        return fail(s, "unterminated string");
                c = *s->p++;
                if (c == 'u') {
                        uint32_t u, lo;
                        int r = hex4(s, &u);
                        if (r < 0)
                                return r;
                        if (u == 0)
                                return fail(s, "NUL (\\u0000) in a string");
                        if (u >= 0xDC00 && u <= 0xDFFF)
                                return fail(s, "lone low surrogate");
                        if (u >= 0xD800 && u <= 0xDBFF) {
                                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                                        return fail(s, "lone high surrogate");
                                s->p += 2;
                                if ((r = hex4(s, &lo)) < 0)
                                        return r;
                                if (lo < 0xDC00 || lo > 0xDFFF)
                                        return fail(s, "lone high surrogate");
                        }
                } else if (!strchr("\"\\/bfnrt", c) || c == '\0')
                        return fail(s, "bad escape");
        }
        if (s->p == s->end)
                return fail(s, "unterminated string");
        *ret_from = from;
        *ret_to = s->p;
        s->p++;
        return 0;
}

/* An integer must fit int64; a number with a fraction or exponent is left
 * to the reader of the value (every argument is an integer or a string). */
static int number(struct scan *s) {
        const unsigned char *from = s->p;
        bool neg = *s->p == '-';
        if (neg)
                s->p++;
        if (s->p == s->end || *s->p < '0' || *s->p > '9')
                return fail(s, "bad number");
        if (*s->p == '0' && s->p + 1 < s->end && s->p[1] >= '0' && s->p[1] <= '9')
                return fail(s, "leading zero");
        uint64_t v = 0;
        bool big = false;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
                unsigned d = *s->p++ - '0';
                if (v > (UINT64_MAX - d) / 10)
                        big = true;
                else
                        v = v * 10 + d;
        }
        bool fraction = false;
        if (s->p < s->end && *s->p == '.') {
                fraction = true;
                if (++s->p == s->end || *s->p < '0' || *s->p > '9')
                        return fail(s, "bad number");
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
                fraction = true;
                s->p++;
                if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                        s->p++;
                if (s->p == s->end || *s->p < '0' || *s->p > '9')
                        return fail(s, "bad number");
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
        }
        if (!fraction && (big || v > (uint64_t) INT64_MAX + neg)) {
                s->p = from;
                return fail(s, "integer out of range");
        }
        return 0;
}

static int value(struct scan *s, int depth);

static int object(struct scan *s, int depth) {
        struct {
                const unsigned char *from, *to;
        } keys[MAX_KEYS];
        size_t n = 0;
        s->p++;
        skip_space(s);
        if (s->p < s->end && *s->p == '}') {
                s->p++;
                return 0;
        }
        for (;;) {
                skip_space(s);
                if (s->p == s->end || *s->p != '"')
                        return fail(s, "expected a member name");
                const unsigned char *from, *to;
                int r = string(s, &from, &to);
                if (r < 0)
                        return r;
                if (n == MAX_KEYS)
                        return fail(s, "too many members");
                for (size_t i = 0; i < n; i++)
                        if ((size_t) (keys[i].to - keys[i].from) == (size_t) (to - from) &&
                            !memcmp(keys[i].from, from, (size_t) (to - from))) {
                                s->p = from - 1; /* its opening quote */
                                return fail(s, "duplicate member name");
                        }
                keys[n].from = from;
                keys[n++].to = to;
                skip_space(s);
                if (s->p == s->end || *s->p != ':')
                        return fail(s, "expected ':'");
                s->p++;
                if ((r = value(s, depth + 1)) < 0)
                        return r;
                skip_space(s);
                if (s->p < s->end && *s->p == ',') {
                        s->p++;
                        continue;
                }
                if (s->p < s->end && *s->p == '}') {
                        s->p++;
                        return 0;
                }
                return fail(s, "expected ',' or '}'");
        }
}

static int array(struct scan *s, int depth) {
        s->p++;
        skip_space(s);
        if (s->p < s->end && *s->p == ']') {
                s->p++;
                return 0;
        }
        for (;;) {
                int r = value(s, depth + 1);
                if (r < 0)
                        return r;
                skip_space(s);
                if (s->p < s->end && *s->p == ',') {
                        s->p++;
                        continue;
                }
                if (s->p < s->end && *s->p == ']') {
                        s->p++;
                        return 0;
                }
                return fail(s, "expected ',' or ']'");
        }
}

static int literal(struct scan *s, const char *word) {
        size_t n = strlen(word);
        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return fail(s, "unexpected character");
        s->p += n;
        return 0;
}

static int value(struct scan *s, int depth) {
        if (depth > MAX_DEPTH)
                return fail(s, "nested too deep");
        skip_space(s);
        if (s->p == s->end)
                return fail(s, "unexpected end");
        const unsigned char *from, *to;
        switch (*s->p) {
        case '{':
                return object(s, depth);
        case '[':
                return array(s, depth);
        case '"':
                return string(s, &from, &to);
        case 't':
                return literal(s, "true");
        case 'f':
                return literal(s, "false");
        case 'n':
                return literal(s, "null");
        default:
                return *s->p == '-' || (*s->p >= '0' && *s->p <= '9') ? number(s) : fail(s, "unexpected character");
        }
}

int json_strict_check(const char *text, size_t len, char *why, size_t size) {
        struct scan s = { .p = (const unsigned char *) text, .end = (const unsigned char *) text + len,
                          .start = (const unsigned char *) text, .why = why, .size = size };
        int r = value(&s, 1);
        if (r < 0)
                return r;
        skip_space(&s);
        return s.p == s.end ? 0 : fail(&s, "data after the JSON value");
}
