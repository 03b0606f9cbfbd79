/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HND_JSON_STRICT_H
#define HND_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>

/* 0 if text is one strict JSON value (RFC 8259, UTF-8) with no duplicate
 * member names, no NUL or lone surrogate in a string, no integer beyond
 * int64 and nothing after it; else -EBADMSG with why ("duplicate member
 * name at byte 17"). */
int json_strict_check(const char *text, size_t len, char *why, size_t size);

#endif
