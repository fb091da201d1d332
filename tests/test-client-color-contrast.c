/* gtk-client/core/chat-color-contrast.c: a sender's chosen text colour is
 * drawn with at least WCAG AA contrast (4.5:1) against the bubble under it,
 * in the light theme and the dark one, keeping its hue; a colour that is
 * already readable is drawn as chosen. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtk-client/core/chat-color-contrast.h"

/* The bubbles of gtk-client/style.css under libadwaita 1.2, made opaque:
 * incoming = 7% of the text colour over the view background, outgoing =
 * 18% of the accent colour over it. */
static const char *const light_incoming = "#f1f1f1";
static const char *const light_outgoing = "#dbe9fa";
static const char *const dark_incoming = "#2e2e2e";
static const char *const dark_outgoing = "#223041";

static ChatColor color(const char *text) {
  ChatColor parsed = {0};
  cr_assert(chat_color_parse(text, &parsed), "cannot parse %s", text);
  return parsed;
}

/* HSL hue in sixths of the circle (0 .. 6); saturation 0 has none. */
static double hue_of(ChatColor c) {
  double r = c.red / 255.0, g = c.green / 255.0, b = c.blue / 255.0;
  double max = fmax(r, fmax(g, b)), min = fmin(r, fmin(g, b));
  double chroma = max - min;
  if (chroma <= 0)
    return 0;
  if (max == r)
    return fmod((g - b) / chroma + 6, 6);
  if (max == g)
    return (b - r) / chroma + 2;
  return (r - g) / chroma + 4;
}

static double hue_distance(double a, double b) {
  double d = fabs(a - b);
  return fmin(d, 6 - d);
}

static void assert_readable(const char *foreground, const char *background) {
  ChatColor adjusted =
      chat_color_ensure_contrast(color(foreground), color(background), CHAT_CONTRAST_MIN_RATIO);
  double ratio = chat_color_contrast_ratio(adjusted, color(background));
  char *shown = chat_color_to_string(adjusted);
  cr_assert_geq(ratio, CHAT_CONTRAST_MIN_RATIO, "%s on %s became %s: %.2f:1", foreground,
                background, shown, ratio);
  g_free(shown);
}

Test(color_contrast, wcag_luminance_and_ratio) {
  cr_assert_float_eq(chat_color_relative_luminance(color("#000000")), 0.0, 1e-9);
  cr_assert_float_eq(chat_color_relative_luminance(color("#ffffff")), 1.0, 1e-9);
  cr_assert_float_eq(chat_color_contrast_ratio(color("#000000"), color("#ffffff")), 21.0, 1e-9);
  cr_assert_float_eq(chat_color_contrast_ratio(color("#ffffff"), color("#000000")), 21.0, 1e-9);
  cr_assert_float_eq(chat_color_contrast_ratio(color("#777777"), color("#777777")), 1.0, 1e-9);
  /* WCAG's worked value: #777777 on white is 4.48:1. */
  cr_assert_float_eq(chat_color_contrast_ratio(color("#777777"), color("#ffffff")), 4.48, 0.005);
}

Test(color_contrast, parses_only_hash_rrggbb) {
  ChatColor parsed = {1, 2, 3};
  cr_assert(chat_color_parse("#C01c28", &parsed));
  cr_assert_eq(parsed.red, 0xc0);
  cr_assert_eq(parsed.green, 0x1c);
  cr_assert_eq(parsed.blue, 0x28);
  char *text = chat_color_to_string(parsed);
  cr_assert_str_eq(text, "#c01c28");
  g_free(text);
  const char *bad[] = {"", "red", "#12345", "#1234567", "#12345g", "c01c28#", "#c01c2"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    ChatColor untouched = {1, 2, 3};
    cr_assert_not(chat_color_parse(bad[i], &untouched), "accepted \"%s\"", bad[i]);
    cr_assert(untouched.red == 1 && untouched.green == 2 && untouched.blue == 3);
  }
  cr_assert_not(chat_color_parse(NULL, &parsed));
}

/* The issue's case: red #c01c28 on the dark bubble was about 2:1. */
Test(color_contrast, red_on_the_dark_bubbles_is_lightened_keeping_its_hue) {
  ChatColor red = color("#c01c28");
  const char *dark[] = {dark_incoming, dark_outgoing};
  for (size_t i = 0; i < G_N_ELEMENTS(dark); i++) {
    cr_assert_lt(chat_color_contrast_ratio(red, color(dark[i])), CHAT_CONTRAST_MIN_RATIO);
    ChatColor adjusted = chat_color_ensure_contrast(red, color(dark[i]), CHAT_CONTRAST_MIN_RATIO);
    double ratio = chat_color_contrast_ratio(adjusted, color(dark[i]));
    cr_assert_geq(ratio, CHAT_CONTRAST_MIN_RATIO, "on %s: %.2f:1", dark[i], ratio);
    /* The nearest lightness that is readable, not white. */
    cr_assert_lt(ratio, CHAT_CONTRAST_MIN_RATIO + 0.3, "on %s: %.2f:1", dark[i], ratio);
    cr_assert_gt(chat_color_relative_luminance(adjusted), chat_color_relative_luminance(red));
    cr_assert_lt(hue_distance(hue_of(adjusted), hue_of(red)), 0.05, "hue moved");
    cr_assert(adjusted.red > adjusted.green && adjusted.red > adjusted.blue, "no longer red");
  }
}

Test(color_contrast, readable_colours_are_unchanged) {
  struct {
    const char *foreground, *background;
  } cases[] = {
      {"#c01c28", light_incoming}, {"#c01c28", "#ffffff"},     {"#000000", light_outgoing},
      {"#1a5fb4", light_incoming}, {"#ffffff", dark_incoming}, {"#f6d32d", dark_outgoing},
      {"#8ff0a4", dark_incoming},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    ChatColor chosen = color(cases[i].foreground);
    cr_assert_geq(chat_color_contrast_ratio(chosen, color(cases[i].background)),
                  CHAT_CONTRAST_MIN_RATIO);
    ChatColor adjusted =
        chat_color_ensure_contrast(chosen, color(cases[i].background), CHAT_CONTRAST_MIN_RATIO);
    cr_assert(adjusted.red == chosen.red && adjusted.green == chosen.green &&
                  adjusted.blue == chosen.blue,
              "%s on %s was changed", cases[i].foreground, cases[i].background);
  }
}

Test(color_contrast, black_on_dark_becomes_a_light_grey) {
  ChatColor adjusted =
      chat_color_ensure_contrast(color("#000000"), color(dark_incoming), CHAT_CONTRAST_MIN_RATIO);
  cr_assert_geq(chat_color_contrast_ratio(adjusted, color(dark_incoming)), CHAT_CONTRAST_MIN_RATIO);
  cr_assert(adjusted.red == adjusted.green && adjusted.green == adjusted.blue, "not grey");
  cr_assert_lt(adjusted.red, 255, "white, not the nearest readable grey");
}

Test(color_contrast, white_and_yellow_on_light_become_darker) {
  const char *light[] = {light_incoming, light_outgoing, "#ffffff"};
  for (size_t i = 0; i < G_N_ELEMENTS(light); i++) {
    ChatColor adjusted =
        chat_color_ensure_contrast(color("#ffffff"), color(light[i]), CHAT_CONTRAST_MIN_RATIO);
    cr_assert_geq(chat_color_contrast_ratio(adjusted, color(light[i])), CHAT_CONTRAST_MIN_RATIO);
    cr_assert_gt(adjusted.red, 0, "black, not the nearest readable grey");
    ChatColor yellow = color("#f6d32d");
    adjusted = chat_color_ensure_contrast(yellow, color(light[i]), CHAT_CONTRAST_MIN_RATIO);
    cr_assert_geq(chat_color_contrast_ratio(adjusted, color(light[i])), CHAT_CONTRAST_MIN_RATIO);
    cr_assert_lt(hue_distance(hue_of(adjusted), hue_of(yellow)), 0.05, "hue moved");
  }
}

/* Every colour of a coarse grid of the cube, on every bubble. */
Test(color_contrast, every_colour_is_readable_on_every_bubble) {
  const char *bubbles[] = {light_incoming, light_outgoing, dark_incoming, dark_outgoing,
                           "#ffffff",      "#000000",      "#777777",     "#3584e4"};
  for (size_t i = 0; i < G_N_ELEMENTS(bubbles); i++)
    for (int r = 0; r <= 255; r += 51)
      for (int g = 0; g <= 255; g += 51)
        for (int b = 0; b <= 255; b += 51) {
          char foreground[8];
          g_snprintf(foreground, sizeof foreground, "#%02x%02x%02x", r, g, b);
          assert_readable(foreground, bubbles[i]);
        }
}

/* A mid grey background: white reaches only 4.48:1, so a light colour on it
 * goes dark instead. */
Test(color_contrast, the_side_that_cannot_reach_the_ratio_is_left) {
  ChatColor background = color("#777777");
  ChatColor adjusted =
      chat_color_ensure_contrast(color("#eeeeee"), background, CHAT_CONTRAST_MIN_RATIO);
  cr_assert_geq(chat_color_contrast_ratio(adjusted, background), CHAT_CONTRAST_MIN_RATIO);
  cr_assert_lt(chat_color_relative_luminance(adjusted), chat_color_relative_luminance(background));
}

Test(color_contrast, an_unreachable_ratio_gives_the_stronger_of_black_and_white) {
  ChatColor adjusted = chat_color_ensure_contrast(color("#c01c28"), color("#202020"), 100);
  cr_assert(adjusted.red == 255 && adjusted.green == 255 && adjusted.blue == 255);
  adjusted = chat_color_ensure_contrast(color("#c01c28"), color("#f0f0f0"), 100);
  cr_assert(adjusted.red == 0 && adjusted.green == 0 && adjusted.blue == 0);
}

/* The widget side (gtk-client/chat-message-row.c) reads the bubble colours
 * by the names style.css gives them: the bubbles must be drawn in exactly
 * those colours, or the text is made readable on a colour not drawn. */
static char *css_rule(const char *css, const char *selector) {
  char *opening = g_strconcat(selector, " {", NULL);
  const char *start = strstr(css, opening);
  g_free(opening);
  cr_assert_not_null(start, "style.css has no rule \"%s\"", selector);
  const char *end = strchr(start, '}');
  cr_assert_not_null(end);
  return g_strndup(start, (gsize)(end - start));
}

Test(color_contrast, style_css_draws_the_bubbles_in_the_named_colours) {
  char *path = g_build_filename(CHAT_SOURCE_ROOT, "gtk-client", "style.css", NULL);
  char *css = NULL;
  cr_assert(g_file_get_contents(path, &css, NULL, NULL), "cannot read %s", path);
  const char *names[] = {"@define-color chat_messages_bg_color ",
                         "@define-color chat_incoming_bubble_color ",
                         "@define-color chat_outgoing_bubble_color "};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
    cr_assert_not_null(strstr(css, names[i]), "style.css does not define %s", names[i]);
  struct {
    const char *selector, *declaration;
  } rules[] = {
      {".message.incoming .bubble", "background-color: @chat_incoming_bubble_color;"},
      {".message.outgoing .bubble", "background-color: @chat_outgoing_bubble_color;"},
      {".messages-scroller", "background-color: @chat_messages_bg_color;"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) {
    char *rule = css_rule(css, rules[i].selector);
    cr_assert_not_null(strstr(rule, rules[i].declaration), "\"%s\" is not drawn with \"%s\"",
                       rules[i].selector, rules[i].declaration);
    g_free(rule);
  }
  g_free(css);
  g_free(path);
}
