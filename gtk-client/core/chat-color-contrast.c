#include "gtk-client/core/chat-color-contrast.h"

#include <math.h>
#include <string.h>

#include "protocol/hex.h"

/* Halving the lightness interval this often leaves it under 1/255 wide:
 * finer than an 8-bit channel can show. */
#define LIGHTNESS_SEARCH_STEPS 16

static const ChatColor black = {0, 0, 0};
static const ChatColor white = {255, 255, 255};

gboolean chat_color_parse(const char *text, ChatColor *color) {
  if (text == NULL || strlen(text) != 7 || text[0] != '#')
    return FALSE;
  guint8 channels[3];
  for (int i = 0; i < 3; i++) {
    int high = chat_hex_digit(text[1 + 2 * i]);
    int low = chat_hex_digit(text[2 + 2 * i]);
    if (high < 0 || low < 0)
      return FALSE;
    channels[i] = (guint8)(high * 16 + low);
  }
  color->red = channels[0];
  color->green = channels[1];
  color->blue = channels[2];
  return TRUE;
}

char *chat_color_to_string(ChatColor color) {
  return g_strdup_printf("#%02x%02x%02x", color.red, color.green, color.blue);
}

/* An 8-bit sRGB channel in linear light (WCAG 2's formula). */
static double linear_channel(guint8 channel) {
  double c = channel / 255.0;
  return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

double chat_color_relative_luminance(ChatColor color) {
  return 0.2126 * linear_channel(color.red) + 0.7152 * linear_channel(color.green) +
         0.0722 * linear_channel(color.blue);
}

static double luminance_ratio(double a, double b) {
  return (MAX(a, b) + 0.05) / (MIN(a, b) + 0.05);
}

double chat_color_contrast_ratio(ChatColor a, ChatColor b) {
  return luminance_ratio(chat_color_relative_luminance(a), chat_color_relative_luminance(b));
}

/* ---- HSL, the lightness axis the adjustment moves along ---- */

typedef struct {
  double hue;        /* 0 .. 6, in sixths of the circle */
  double saturation; /* 0 .. 1 */
  double lightness;  /* 0 .. 1 */
} Hsl;

static Hsl hsl_from_color(ChatColor color) {
  double r = color.red / 255.0, g = color.green / 255.0, b = color.blue / 255.0;
  double max = MAX(r, MAX(g, b)), min = MIN(r, MIN(g, b));
  Hsl hsl = {0, 0, (max + min) / 2};
  double chroma = max - min;
  if (chroma <= 0)
    return hsl;
  hsl.saturation = chroma / (1 - fabs(2 * hsl.lightness - 1));
  if (max == r)
    hsl.hue = fmod((g - b) / chroma + 6, 6);
  else if (max == g)
    hsl.hue = (b - r) / chroma + 2;
  else
    hsl.hue = (r - g) / chroma + 4;
  return hsl;
}

static guint8 channel_from_unit(double value) {
  return (guint8)lround(CLAMP(value, 0, 1) * 255);
}

static ChatColor color_from_hsl(Hsl hsl) {
  double chroma = (1 - fabs(2 * hsl.lightness - 1)) * hsl.saturation;
  double x = chroma * (1 - fabs(fmod(hsl.hue, 2) - 1));
  double r = 0, g = 0, b = 0;
  switch ((int)hsl.hue % 6) {
  case 0:
    r = chroma, g = x;
    break;
  case 1:
    r = x, g = chroma;
    break;
  case 2:
    g = chroma, b = x;
    break;
  case 3:
    g = x, b = chroma;
    break;
  case 4:
    r = x, b = chroma;
    break;
  default:
    r = chroma, b = x;
    break;
  }
  double m = hsl.lightness - chroma / 2;
  return (ChatColor){channel_from_unit(r + m), channel_from_unit(g + m), channel_from_unit(b + m)};
}

/* Every channel grows with the lightness, so the luminance does too: the
 * lightness where the contrast is first reached is found by halving. */
static ChatColor search_lightness(Hsl hsl, double background_luminance, double min_ratio,
                                  gboolean lighter) {
  double reached = lighter ? 1 : 0; /* white or black: reaches min_ratio */
  double short_of = hsl.lightness;  /* does not */
  for (int i = 0; i < LIGHTNESS_SEARCH_STEPS; i++) {
    Hsl middle = hsl;
    middle.lightness = (reached + short_of) / 2;
    double luminance = chat_color_relative_luminance(color_from_hsl(middle));
    gboolean on_side =
        lighter ? luminance >= background_luminance : luminance <= background_luminance;
    if (on_side && luminance_ratio(luminance, background_luminance) >= min_ratio)
      reached = middle.lightness;
    else
      short_of = middle.lightness;
  }
  hsl.lightness = reached;
  return color_from_hsl(hsl);
}

ChatColor chat_color_ensure_contrast(ChatColor foreground, ChatColor background, double min_ratio) {
  min_ratio = CLAMP(min_ratio, 1, 21);
  if (chat_color_contrast_ratio(foreground, background) >= min_ratio)
    return foreground;
  double background_luminance = chat_color_relative_luminance(background);
  double with_white = chat_color_contrast_ratio(white, background);
  double with_black = chat_color_contrast_ratio(black, background);
  gboolean lighter = chat_color_relative_luminance(foreground) >= background_luminance;
  if ((lighter ? with_white : with_black) < min_ratio)
    lighter = !lighter;
  if ((lighter ? with_white : with_black) < min_ratio)
    return with_white >= with_black ? white : black;
  return search_lightness(hsl_from_color(foreground), background_luminance, min_ratio, lighter);
}
