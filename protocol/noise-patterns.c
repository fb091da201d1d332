/* The handshake pattern table (spec sections 7.4, 7.5 and 18, revision 34).
 *
 * One engine (noise-handshake.c) runs every entry. Messages alternate between
 * the parties, the initiator first; pre-messages are the static keys known in
 * advance ("-> s" / "<- s" before the "..."). */
#include "protocol/noise-internal.h"

#include <string.h>

#define E CHAT_NOISE_TOKEN_E
#define S CHAT_NOISE_TOKEN_S
#define EE CHAT_NOISE_TOKEN_EE
#define ES CHAT_NOISE_TOKEN_ES
#define SE CHAT_NOISE_TOKEN_SE
#define SS CHAT_NOISE_TOKEN_SS
#define PRE_NONE CHAT_NOISE_PRE_NONE
#define PRE_S CHAT_NOISE_PRE_S
#define ONE_WAY true
#define INTERACTIVE false

static const chat_noise_pattern patterns[] = {
    /* One-way patterns (7.4). */
    {"N", PRE_NONE, PRE_S, ONE_WAY, {{E, ES}}},
    {"K", PRE_S, PRE_S, ONE_WAY, {{E, ES, SS}}},
    {"X", PRE_NONE, PRE_S, ONE_WAY, {{E, ES, S, SS}}},

    /* Fundamental interactive patterns (7.5). */
    {"NN", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE}}},
    {"NK", PRE_NONE, PRE_S, INTERACTIVE, {{E, ES}, {E, EE}}},
    {"NX", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S, ES}}},
    {"XN", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE}, {S, SE}}},
    {"XK", PRE_NONE, PRE_S, INTERACTIVE, {{E, ES}, {E, EE}, {S, SE}}},
    {"XX", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S, ES}, {S, SE}}},
    {"KN", PRE_S, PRE_NONE, INTERACTIVE, {{E}, {E, EE, SE}}},
    {"KK", PRE_S, PRE_S, INTERACTIVE, {{E, ES, SS}, {E, EE, SE}}},
    {"KX", PRE_S, PRE_NONE, INTERACTIVE, {{E}, {E, EE, SE, S, ES}}},
    {"IN", PRE_NONE, PRE_NONE, INTERACTIVE, {{E, S}, {E, EE, SE}}},
    {"IK", PRE_NONE, PRE_S, INTERACTIVE, {{E, ES, S, SS}, {E, EE, SE}}},
    {"IX", PRE_NONE, PRE_NONE, INTERACTIVE, {{E, S}, {E, EE, SE, S, ES}}},

    /* Deferred patterns (18.2). */
    {"NK1", PRE_NONE, PRE_S, INTERACTIVE, {{E}, {E, EE, ES}}},
    {"NX1", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S}, {ES}}},
    {"X1N", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE}, {S}, {SE}}},
    {"X1K", PRE_NONE, PRE_S, INTERACTIVE, {{E, ES}, {E, EE}, {S}, {SE}}},
    {"XK1", PRE_NONE, PRE_S, INTERACTIVE, {{E}, {E, EE, ES}, {S, SE}}},
    {"X1K1", PRE_NONE, PRE_S, INTERACTIVE, {{E}, {E, EE, ES}, {S}, {SE}}},
    {"X1X", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S, ES}, {S}, {SE}}},
    {"XX1", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S}, {ES, S, SE}}},
    {"X1X1", PRE_NONE, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S}, {ES, S}, {SE}}},
    {"K1N", PRE_S, PRE_NONE, INTERACTIVE, {{E}, {E, EE}, {SE}}},
    {"K1K", PRE_S, PRE_S, INTERACTIVE, {{E, ES}, {E, EE}, {SE}}},
    {"KK1", PRE_S, PRE_S, INTERACTIVE, {{E}, {E, EE, SE, ES}}},
    {"K1K1", PRE_S, PRE_S, INTERACTIVE, {{E}, {E, EE, ES}, {SE}}},
    {"K1X", PRE_S, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S, ES}, {SE}}},
    {"KX1", PRE_S, PRE_NONE, INTERACTIVE, {{E}, {E, EE, SE, S}, {ES}}},
    {"K1X1", PRE_S, PRE_NONE, INTERACTIVE, {{E}, {E, EE, S}, {SE, ES}}},
    {"I1N", PRE_NONE, PRE_NONE, INTERACTIVE, {{E, S}, {E, EE}, {SE}}},
    {"I1K", PRE_NONE, PRE_S, INTERACTIVE, {{E, ES, S}, {E, EE}, {SE}}},
    {"IK1", PRE_NONE, PRE_S, INTERACTIVE, {{E, S}, {E, EE, SE, ES}}},
    {"I1K1", PRE_NONE, PRE_S, INTERACTIVE, {{E, S}, {E, EE, ES}, {SE}}},
    {"I1X", PRE_NONE, PRE_NONE, INTERACTIVE, {{E, S}, {E, EE, S, ES}, {SE}}},
    {"IX1", PRE_NONE, PRE_NONE, INTERACTIVE, {{E, S}, {E, EE, SE, S}, {ES}}},
    {"I1X1", PRE_NONE, PRE_NONE, INTERACTIVE, {{E, S}, {E, EE, S}, {SE, ES}}},
};

#define PATTERN_COUNT (sizeof patterns / sizeof patterns[0])

const chat_noise_pattern *chat_noise_pattern_lookup(const char *name, size_t name_len) {
  for (size_t i = 0; i < PATTERN_COUNT; i++) {
    if (strlen(patterns[i].name) == name_len && memcmp(patterns[i].name, name, name_len) == 0)
      return &patterns[i];
  }
  return NULL;
}

size_t chat_noise_pattern_message_count(const chat_noise_pattern *p) {
  size_t count = 0;
  while (count < CHAT_NOISE_MAX_PATTERN_MESSAGES && p->messages[count][0] != CHAT_NOISE_TOKEN_END)
    count++;
  return count;
}
