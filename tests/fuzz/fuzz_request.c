/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API's request parser: json_strict_check before json-c. Properties:
 * no crash; what strict accepts json-c parses whole, as one value; a
 * string the UTF-8 repair rewrote serialises to valid UTF-8. */
#include <json-c/json.h>

#include "fuzz_input.h"
#include "json_strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char why[128];
        if (size > 1 << 16)
                return 0;
        int r = json_strict_check((const char *) data, size, why, sizeof(why));
        FUZZ_ASSERT(r == 0 || (r < 0 && why[0]));
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *o = json_tokener_parse_ex(tok, (const char *) data, (int) size);
        size_t lead = 0;
        while (lead < size && strchr(" \t\r\n", data[lead]))
                lead++;
        /* strict is stricter than json-c, never looser: an object or array
         * it accepts json-c parses (a bare number at the end of the input
         * json-c leaves unfinished; a request must be an object anyway) */
        if (r == 0 && lead < size && (data[lead] == '{' || data[lead] == '[')) {
                FUZZ_ASSERT(o && json_tokener_get_error(tok) == json_tokener_success);
                const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
                FUZZ_ASSERT(json_utf8_valid(text, strlen(text)));
        }
        json_object_put(o);
        json_tokener_free(tok);
        /* any bytes as a string value: after repair, valid UTF-8 */
        json_object *s = json_object_new_string_len((const char *) data, (int) size);
        (void) json_utf8_repair(s);
        const char *text = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN);
        FUZZ_ASSERT(json_utf8_valid(text, strlen(text)));
        json_object_put(s);
        return 0;
}
