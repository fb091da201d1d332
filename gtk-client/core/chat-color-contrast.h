/* Text colours a reader can read: the WCAG 2 relative luminance and
 * contrast ratio of sRGB colours, and a sender's chosen colour moved in
 * lightness (keeping its hue) until it stands out enough from the bubble
 * it is drawn on, in a light theme and a dark one alike. Display-less:
 * colours are plain 8-bit sRGB triples ("#rrggbb"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* WCAG 2 level AA for normal text. */
#define CHAT_CONTRAST_MIN_RATIO 4.5

typedef struct {
  guint8 red;
  guint8 green;
  guint8 blue;
} ChatColor;

/* Parses "#rrggbb" (hex digits of either case, nothing else). Returns
 * FALSE, leaving *color alone, for anything else. */
gboolean chat_color_parse(const char *text, ChatColor *color);
/* "#rrggbb", lower case. Free with g_free. */
char *chat_color_to_string(ChatColor color);

/* The WCAG 2 relative luminance, 0 (black) .. 1 (white). */
double chat_color_relative_luminance(ChatColor color);
/* The WCAG 2 contrast ratio of two colours, 1 .. 21, symmetric. */
double chat_color_contrast_ratio(ChatColor a, ChatColor b);

/* foreground itself when its contrast against background is at least
 * min_ratio; otherwise the colour of the same hue and saturation whose
 * lightness is the nearest to foreground's that reaches min_ratio, made
 * lighter or darker: towards the side of background that foreground is
 * already on, unless that side cannot reach min_ratio. min_ratio is
 * clamped to 1 .. 21; with a ratio no colour can reach against background,
 * black or white, whichever stands out more. */
ChatColor chat_color_ensure_contrast(ChatColor foreground, ChatColor background, double min_ratio);

G_END_DECLS
