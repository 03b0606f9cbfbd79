/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API's strict JSON check: what json-c would accept and a hostile
 * caller could use is refused, with where; every valid request passes. */
#include <string.h>

#include "fixture.h"
#include "json_strict.h"

static void check(const char *text, size_t len, const char *want_why) {
        char why[128] = "";
        int r = json_strict_check(text, len, why, sizeof(why));
        if (!want_why) {
                if (r != 0)
                        fail_msg("refused %s: %s", text, why);
                return;
        }
        if (r != -EBADMSG)
                fail_msg("accepted %s", text);
        if (!strstr(why, want_why))
                fail_msg("%s: \"%s\", not \"%s\"", text, why, want_why);
}
#define OK(t) check(t, sizeof(t) - 1, NULL)
#define BAD(t, why) check(t, sizeof(t) - 1, why)

static void valid_requests_pass(void **state) {
        (void) state;
        OK("{\"call\":\"status\"}");
        OK(" {\"call\":\"scope.create\",\"args\":{\"name\":\"job-1\",\"pids\":[1,2,3]},\"id\":7} \r\n");
        OK("{\"a\":\"\\u00e9\\ud83d\\ude00 \xc3\xa9 \xf0\x9f\x98\x80\",\"b\":[true,false,null,-0.5e+3,0]}");
        OK("{\"n\":9223372036854775807,\"m\":-9223372036854775808,\"x\":{}}");
        OK("[]");
}

static void hostile_requests_are_refused(void **state) {
        (void) state;
        BAD("{\"call\":\"a\",\"call\":\"b\"}", "duplicate member name at byte 12");
        BAD("{\"args\":{\"name\":\"x2\\u0000/../../evil\"}}", "NUL (\\u0000) in a string");
        BAD("{\"a\":\"\\ud800\"}", "lone high surrogate");
        BAD("{\"a\":\"\\ud800\\u0041\"}", "lone high surrogate");
        BAD("{\"a\":\"\\udc00\"}", "lone low surrogate");
        BAD("{\"a\":\"\xff\"}", "invalid UTF-8");
        BAD("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8");          /* overlong "/" */
        BAD("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8");      /* a surrogate in UTF-8 */
        BAD("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8");  /* beyond U+10FFFF */
        BAD("{\"a\":1,}", "expected a member name");
        BAD("[1,2,]", "unexpected character");
        BAD("{\"n\":9223372036854775808}", "integer out of range");
        BAD("{\"n\":-9223372036854775809}", "integer out of range");
        BAD("{\"n\":184467440737095516160}", "integer out of range");
        BAD("{\"n\":01}", "leading zero");
        BAD("{\"a\":\"tab\there\"}", "control character in a string");
        BAD("{\"a\":\"\\x41\"}", "bad escape");
        BAD("{\"a\":1} {\"b\":2}", "data after the JSON value");
        BAD("{\"a\":\"open", "unterminated string");
        BAD("{'a':1}", "expected a member name");
        BAD("{\"a\":tru}", "unexpected character");
        /* a NUL byte in the text itself */
        check("{\"a\":\"x\0y\"}", 11, "control character in a string");
        char deep[200];
        memset(deep, '[', 40);
        memset(deep + 40, ']', 40);
        check(deep, 80, "nested too deep");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(valid_requests_pass),
                cmocka_unit_test(hostile_requests_are_refused),
        };
        test_filter_from_env();
        return cmocka_run_group_tests_name("json_strict", tests, NULL, NULL);
}
