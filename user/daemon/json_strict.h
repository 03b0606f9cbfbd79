/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_JSON_STRICT_H
#define HND_JSON_STRICT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* 0 if text is one strict JSON value (RFC 8259, UTF-8) with no duplicate
 * member names, no NUL or lone surrogate in a string, no integer beyond
 * int64 and nothing after it; else -EBADMSG with why ("duplicate member
 * name at byte 17"). */
int json_strict_check(const char *text, size_t len, char *why, size_t size);

/* Every record and reply is valid UTF-8, whatever the kernel named (a
 * cgroup, a file, a comm can hold any byte but '/' and NUL): */
bool json_utf8_valid(const char *text, size_t len);
/* rewrites each string value of o (recursively) that is not valid UTF-8
 * with its invalid bytes as \xNN and its backslashes doubled; the number
 * of strings rewritten. */
unsigned json_utf8_repair(json_object *o);

#endif
