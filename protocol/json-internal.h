/* Private to the JSON reader and writer (json.c, json-write.c). */
#ifndef CHAT_PROTOCOL_JSON_INTERNAL_H
#define CHAT_PROTOCOL_JSON_INTERNAL_H

#include <locale.h>

/* strtod and printf follow LC_NUMERIC, which a GTK program sets from the
 * environment (a ',' decimal point in many languages); JSON numbers always
 * use '.'. These switch the calling thread to the C locale for one call. */
typedef struct {
  locale_t c_locale;
  locale_t previous;
} chat_json_c_locale;

void chat_json_c_locale_enter(chat_json_c_locale *scope);
void chat_json_c_locale_leave(chat_json_c_locale *scope);

#endif
