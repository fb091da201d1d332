/* g_auto() cleanups for the plain-C protocol core's value types, for GLib
 * code. The core itself has no GLib (protocol/buffer.h, protocol/arena.h),
 * so the declarations live here, on the GLib side.
 *
 * chat_buffer and chat_arena are values with an init and a clear function,
 * not heap objects, so they get G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC:
 *
 *   g_auto(chat_buffer) out = {0};     (the zero value is an empty buffer)
 *   g_auto(chat_arena) arena = {0};    (and an empty arena)
 *
 * and are cleared when they go out of scope. */
#pragma once

#include <glib.h>

#include "protocol/arena.h"
#include "protocol/buffer.h"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(chat_buffer, chat_buffer_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(chat_arena, chat_arena_clear)
