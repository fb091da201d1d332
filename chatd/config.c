/* Loading chatd's configuration (see config.h).
 *
 * Each section is described by a table of known keys; a generic walker reads
 * the members of a section in file order, converts each known one into its
 * field of ChatdConfig and warns about the others. Checks that involve two
 * keys (the queue against the message size, Argon2 memory against lanes,
 * crypto required by allow_legacy) run after the walk. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/config.h"

#include <stddef.h>
#include <string.h>

#include <gio/gio.h>

#include "protocol/arena.h"
#include "protocol/config-file.h"
#include "protocol/error.h"
#include "protocol/json.h"

/* Largest config file read, in bytes. */
#define CONFIG_MAX_FILE_SIZE CHAT_CONFIG_FILE_MAX

/* The quark name is stringified as written: no spaces around its dashes. */
/* clang-format off */
G_DEFINE_QUARK(chatd-config-error-quark, chatd_config_error)
/* clang-format on */

/* ---- key tables ---- */

typedef enum {
  FIELD_DIGITS, /* char *: a positive decimal integer, number or string */
  FIELD_IP,     /* char *: an IP address string */
  FIELD_PATH,   /* char *: a path, made absolute */
  FIELD_STRING, /* char *: a non-empty string, kept as written */
  FIELD_BOOL,   /* gboolean */
  FIELD_U16,    /* guint16 in [min, max] */
  FIELD_UINT,   /* guint in [min, max] */
  FIELD_SIZE,   /* gsize in [min, max] */
  FIELD_CHOICE, /* guint: the index of the string in choices */
  FIELD_OBJECT, /* a nested section */
} FieldType;

typedef struct KeySpec KeySpec;

struct KeySpec {
  const char *name;
  FieldType type;
  gsize offset; /* of the field in ChatdConfig */
  guint64 min;
  guint64 max;
  const KeySpec *keys;        /* FIELD_OBJECT: the nested section's keys */
  const char *const *choices; /* FIELD_CHOICE: the strings, NULL-terminated */
};

/* server.durability, in ChatdStoreDurability order. */
static const char *const durability_choices[] = {"fsync", "os", NULL};

#define FIELD(member) offsetof(ChatdConfig, member)

static const KeySpec password_hash_keys[] = {
    {"t_cost", FIELD_UINT, FIELD(password_cost.t_cost), CHATD_PASSWORD_T_COST_MIN,
     CHATD_PASSWORD_T_COST_MAX, NULL, NULL},
    {"m_cost_kib", FIELD_UINT, FIELD(password_cost.m_cost_kib), CHATD_PASSWORD_M_COST_KIB_MIN,
     CHATD_PASSWORD_M_COST_KIB_MAX, NULL, NULL},
    {"parallelism", FIELD_UINT, FIELD(password_cost.parallelism), CHATD_PASSWORD_PARALLELISM_MIN,
     CHATD_PASSWORD_PARALLELISM_MAX, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const KeySpec login_rate_keys[] = {
    {"per_minute", FIELD_UINT, FIELD(login_rate_per_minute), 1,
     CHATD_CONFIG_MAX_LOGIN_RATE_PER_MINUTE, NULL, NULL},
    {"burst", FIELD_UINT, FIELD(login_rate_burst), 1, CHATD_CONFIG_MAX_LOGIN_RATE_BURST, NULL,
     NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const KeySpec register_rate_keys[] = {
    {"per_hour", FIELD_UINT, FIELD(register_per_hour), 1, CHATD_CONFIG_MAX_REGISTER_PER_HOUR, NULL,
     NULL},
    {"burst", FIELD_UINT, FIELD(register_burst), 1, CHATD_CONFIG_MAX_REGISTER_BURST, NULL, NULL},
    {"total_per_minute", FIELD_UINT, FIELD(register_total_per_minute), 1,
     CHATD_CONFIG_MAX_REGISTER_TOTAL_PER_MINUTE, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const KeySpec server_keys[] = {
    {"bind_ip", FIELD_IP, FIELD(bind_ip), 0, 0, NULL, NULL},
    {"bind_port", FIELD_U16, FIELD(bind_port), 0, G_MAXUINT16, NULL, NULL},
    {"database", FIELD_PATH, FIELD(database), 0, 0, NULL, NULL},
    {"key_file", FIELD_PATH, FIELD(key_file), 0, 0, NULL, NULL},
    {"postgresql", FIELD_STRING, FIELD(postgresql), 0, 0, NULL, NULL},
    {"allow_legacy", FIELD_BOOL, FIELD(allow_legacy), 0, 0, NULL, NULL},
    {"max_message_size", FIELD_SIZE, FIELD(max_message_size), CHATD_CONFIG_MIN_MAX_MESSAGE_SIZE,
     CHATD_CONFIG_MAX_MAX_MESSAGE_SIZE, NULL, NULL},
    /* The upper bound is max_message_size / 2, checked after the walk. */
    {"max_image_size", FIELD_SIZE, FIELD(max_image_size), CHATD_CONFIG_MIN_MAX_IMAGE_SIZE,
     CHATD_CONFIG_MAX_MAX_MESSAGE_SIZE / 2, NULL, NULL},
    {"max_connections", FIELD_UINT, FIELD(max_connections), 1, CHATD_CONFIG_MAX_MAX_CONNECTIONS,
     NULL, NULL},
    {"max_connections_per_address", FIELD_UINT, FIELD(max_connections_per_address), 1,
     CHATD_CONFIG_MAX_MAX_CONNECTIONS, NULL, NULL},
    {"handshake_timeout", FIELD_UINT, FIELD(handshake_timeout), 1,
     CHATD_CONFIG_MAX_HANDSHAKE_TIMEOUT, NULL, NULL},
    {"login_timeout", FIELD_UINT, FIELD(login_timeout), 1, CHATD_CONFIG_MAX_LOGIN_TIMEOUT, NULL,
     NULL},
    {"idle_timeout", FIELD_UINT, FIELD(idle_timeout), 0, CHATD_CONFIG_MAX_IDLE_TIMEOUT, NULL, NULL},
    {"io_threads", FIELD_UINT, FIELD(io_threads), 0, CHATD_CONFIG_MAX_IO_THREADS, NULL, NULL},
    {"durability", FIELD_CHOICE, FIELD(durability), 0, 0, NULL, durability_choices},
    /* The lower bound is max_message_size, checked after the walk. */
    {"max_queue_bytes", FIELD_SIZE, FIELD(max_queue_bytes), CHATD_CONFIG_MIN_MAX_MESSAGE_SIZE,
     CHATD_CONFIG_MAX_MAX_QUEUE_BYTES, NULL, NULL},
    {"max_transit_bytes", FIELD_SIZE, FIELD(max_transit_bytes), CHATD_CONFIG_MIN_MAX_TRANSIT_BYTES,
     CHATD_CONFIG_MAX_MAX_TRANSIT_BYTES, NULL, NULL},
    {"resume_token_days", FIELD_UINT, FIELD(resume_token_days), 1,
     CHATD_CONFIG_MAX_RESUME_TOKEN_DAYS, NULL, NULL},
    {"password_hash", FIELD_OBJECT, 0, 0, 0, password_hash_keys, NULL},
    {"login_rate", FIELD_OBJECT, 0, 0, 0, login_rate_keys, NULL},
    {"register_rate", FIELD_OBJECT, 0, 0, 0, register_rate_keys, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const KeySpec crypto_keys[] = {
    {"base", FIELD_DIGITS, FIELD(crypto_base), 0, 0, NULL, NULL},
    {"modulus", FIELD_DIGITS, FIELD(crypto_modulus), 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* Keys checked against others after the walk, and the keys they depend on. */
#define KEY_MAX_QUEUE_BYTES "server.max_queue_bytes"
#define KEY_MAX_IMAGE_SIZE "server.max_image_size"
#define KEY_MAX_MESSAGE_SIZE "server.max_message_size"
#define KEY_M_COST_KIB "server.password_hash.m_cost_kib"
#define KEY_PARALLELISM "server.password_hash.parallelism"
#define KEY_ALLOW_LEGACY "server.allow_legacy"
#define KEY_CRYPTO_BASE "crypto.base"
#define KEY_CRYPTO_MODULUS "crypto.modulus"

/* Top-level sections. "client" belongs to the client: skipped silently. */
#define CLIENT_SECTION CHAT_CONFIG_SECTION_CLIENT

static const KeySpec top_keys[] = {
    {CHAT_CONFIG_SECTION_CRYPTO, FIELD_OBJECT, 0, 0, 0, crypto_keys, NULL},
    {"server", FIELD_OBJECT, 0, 0, 0, server_keys, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* ---- defaults ---- */

static char *default_data_path(const char *name) {
  return g_build_filename(g_get_user_data_dir(), CHATD_CONFIG_DATA_SUBDIR, name, NULL);
}

void chatd_config_init_defaults(ChatdConfig *config) {
  g_return_if_fail(config != NULL);
  memset(config, 0, sizeof *config);
  config->crypto_base = NULL;
  config->crypto_modulus = NULL;
  config->bind_ip = g_strdup(CHATD_CONFIG_DEFAULT_BIND_IP);
  config->bind_port = CHATD_CONFIG_DEFAULT_BIND_PORT;
  config->database = default_data_path(CHATD_CONFIG_DEFAULT_DATABASE_NAME);
  config->key_file = default_data_path(CHATD_CONFIG_DEFAULT_KEY_FILE_NAME);
  config->allow_legacy = FALSE;
  config->max_message_size = CHATD_CONFIG_DEFAULT_MAX_MESSAGE_SIZE;
  config->max_image_size = CHATD_CONFIG_DEFAULT_MAX_IMAGE_SIZE;
  config->max_connections = CHATD_CONFIG_DEFAULT_MAX_CONNECTIONS;
  config->max_connections_per_address = CHATD_CONFIG_DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  config->handshake_timeout = CHATD_CONFIG_DEFAULT_HANDSHAKE_TIMEOUT;
  config->login_timeout = CHATD_CONFIG_DEFAULT_LOGIN_TIMEOUT;
  config->idle_timeout = CHATD_CONFIG_DEFAULT_IDLE_TIMEOUT;
  config->io_threads = CHATD_CONFIG_DEFAULT_IO_THREADS;
  config->max_transit_bytes = CHATD_CONFIG_DEFAULT_MAX_TRANSIT_BYTES;
  config->resume_token_days = CHATD_CONFIG_DEFAULT_RESUME_TOKEN_DAYS;
  config->max_queue_bytes =
      (gsize)CHATD_CONFIG_QUEUE_MESSAGES_DEFAULT * CHATD_CONFIG_DEFAULT_MAX_MESSAGE_SIZE;
  chatd_password_cost_init_defaults(&config->password_cost);
  config->login_rate_per_minute = CHATD_CONFIG_DEFAULT_LOGIN_RATE_PER_MINUTE;
  config->login_rate_burst = CHATD_CONFIG_DEFAULT_LOGIN_RATE_BURST;
  config->register_per_hour = CHATD_CONFIG_DEFAULT_REGISTER_PER_HOUR;
  config->register_burst = CHATD_CONFIG_DEFAULT_REGISTER_BURST;
  config->register_total_per_minute = CHATD_CONFIG_DEFAULT_REGISTER_TOTAL_PER_MINUTE;
  config->warnings = g_ptr_array_new_with_free_func(g_free);
}

void chatd_config_clear(ChatdConfig *config) {
  g_return_if_fail(config != NULL);
  g_free(config->crypto_base);
  g_free(config->crypto_modulus);
  g_free(config->bind_ip);
  g_free(config->database);
  g_free(config->key_file);
  g_free(config->postgresql);
  if (config->warnings != NULL)
    g_ptr_array_unref(config->warnings);
  memset(config, 0, sizeof *config);
}

/* ---- the loader ---- */

typedef struct {
  const char *display_path;     /* the file, for messages */
  char *base_dir;               /* absolute directory of the file */
  ChatdConfig *config;          /* being filled */
  const chat_json *queue_bytes; /* server.max_queue_bytes, when given */
  const chat_json *image_size;  /* server.max_image_size, when given */
  const chat_json *m_cost;      /* server.password_hash.m_cost_kib, when given */
  GError **error;
} Loader;

/* The dotted name of a key, for messages: "server.bind_port". */
static char *key_path(const char *prefix, const chat_json_member *member) {
  GString *out = g_string_new(prefix);
  if (prefix[0] != '\0')
    g_string_append_c(out, '.');
  char quoted[CHAT_CONFIG_QUOTE_SIZE];
  chat_config_quote(member->key, member->key_len, quoted);
  g_string_append(out, quoted);
  return g_string_free(out, FALSE);
}

/* Fails the load: "PATH: KEY: expected EXPECTED, got VALUE". */
static gboolean fail_value(Loader *l, const char *key, const char *expected,
                           const chat_json *value) {
  char got[CHAT_CONFIG_DESCRIBE_SIZE];
  chat_config_describe(value, got);
  g_set_error(l->error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_INVALID,
              "%s: %s: expected %s, got %s", l->display_path, key, expected, got);
  return FALSE;
}

static void warn_unknown(Loader *l, const char *key) {
  char *message = g_strdup_printf("%s: %s: unknown key, ignored", l->display_path, key);
  g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "CHATD_CONFIG_FILE", l->display_path,
                   "CHATD_CONFIG_KEY", key, "MESSAGE", "%s", message);
  g_ptr_array_add(l->config->warnings, message);
}

/* A string without NUL bytes (a C string can hold it). */
static gboolean is_plain_string(const chat_json *value) {
  return value->kind == CHAT_JSON_STRING && strlen(value->as.string.data) == value->as.string.len;
}

static void set_string_field(Loader *l, const KeySpec *spec, char *value) {
  char **field = (char **)G_STRUCT_MEMBER_P(l->config, spec->offset);
  g_free(*field);
  *field = value;
}

/* crypto.base / crypto.modulus, by the shared rule (protocol/config-file.h). */
static gboolean read_digits(Loader *l, const KeySpec *spec, const char *key,
                            const chat_json *value) {
  chat_config_problem problem;
  const char *digits;
  size_t len;
  if (!chat_config_read_digits(key, value, &digits, &len, &problem))
    return fail_value(l, key, problem.expected, value);
  set_string_field(l, spec, g_strndup(digits, len));
  return TRUE;
}

static gboolean read_ip(Loader *l, const KeySpec *spec, const char *key, const chat_json *value) {
  static const char expected[] = "an IPv4 or IPv6 address string";
  if (!is_plain_string(value))
    return fail_value(l, key, expected, value);
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string(value->as.string.data);
  if (address == NULL)
    return fail_value(l, key, expected, value);
  set_string_field(l, spec, g_strdup(value->as.string.data));
  return TRUE;
}

static gboolean read_path(Loader *l, const KeySpec *spec, const char *key, const chat_json *value) {
  if (!is_plain_string(value) || value->as.string.len == 0)
    return fail_value(l, key, "a non-empty path string", value);
  set_string_field(l, spec, g_canonicalize_filename(value->as.string.data, l->base_dir));
  return TRUE;
}

static gboolean read_string(Loader *l, const KeySpec *spec, const char *key,
                            const chat_json *value) {
  if (!is_plain_string(value) || value->as.string.len == 0)
    return fail_value(l, key, "a non-empty string", value);
  set_string_field(l, spec, g_strdup(value->as.string.data));
  return TRUE;
}

static gboolean read_choice(Loader *l, const KeySpec *spec, const char *key,
                            const chat_json *value) {
  g_autoptr(GString) expected = g_string_new("one of");
  for (guint i = 0; spec->choices[i]; i++)
    g_string_append_printf(expected, "%s \"%s\"", i ? "," : "", spec->choices[i]);
  if (is_plain_string(value)) {
    for (guint i = 0; spec->choices[i]; i++) {
      if (strcmp(value->as.string.data, spec->choices[i]) == 0) {
        *(guint *)G_STRUCT_MEMBER_P(l->config, spec->offset) = i;
        return TRUE;
      }
    }
  }
  return fail_value(l, key, expected->str, value);
}

static gboolean read_bool(Loader *l, const KeySpec *spec, const char *key, const chat_json *value) {
  if (value->kind != CHAT_JSON_BOOL)
    return fail_value(l, key, "true or false", value);
  *(gboolean *)G_STRUCT_MEMBER_P(l->config, spec->offset) = value->as.boolean;
  return TRUE;
}

static gboolean read_integer(Loader *l, const KeySpec *spec, const char *key,
                             const chat_json *value) {
  uint64_t number;
  if (!chat_json_get_u64(value, &number) || number < spec->min || number > spec->max) {
    g_autofree char *expected = g_strdup_printf(
        "an integer %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, spec->min, spec->max);
    return fail_value(l, key, expected, value);
  }
  gpointer field = G_STRUCT_MEMBER_P(l->config, spec->offset);
  switch (spec->type) {
  case FIELD_U16:
    *(guint16 *)field = (guint16)number;
    break;
  case FIELD_UINT:
    *(guint *)field = (guint)number;
    break;
  case FIELD_SIZE:
    *(gsize *)field = (gsize)number;
    break;
  default:
    g_assert_not_reached();
  }
  return TRUE;
}

static gboolean read_section(Loader *l, const char *prefix, const chat_json *section,
                             const KeySpec *keys);

static gboolean read_key(Loader *l, const KeySpec *spec, const char *key, const chat_json *value) {
  switch (spec->type) {
  case FIELD_DIGITS:
    return read_digits(l, spec, key, value);
  case FIELD_IP:
    return read_ip(l, spec, key, value);
  case FIELD_PATH:
    return read_path(l, spec, key, value);
  case FIELD_STRING:
    return read_string(l, spec, key, value);
  case FIELD_BOOL:
    return read_bool(l, spec, key, value);
  case FIELD_U16:
  case FIELD_UINT:
  case FIELD_SIZE:
    return read_integer(l, spec, key, value);
  case FIELD_CHOICE:
    return read_choice(l, spec, key, value);
  case FIELD_OBJECT:
    return read_section(l, key, value, spec->keys);
  }
  g_assert_not_reached();
}

static const KeySpec *find_key(const KeySpec *keys, const chat_json_member *member) {
  for (const KeySpec *spec = keys; spec->name != NULL; spec++) {
    if (strlen(spec->name) == member->key_len &&
        memcmp(spec->name, member->key, member->key_len) == 0)
      return spec;
  }
  return NULL;
}

/* Reads every member of a section (prefix: its dotted name, "" for the top
 * level) in file order. */
static gboolean read_section(Loader *l, const char *prefix, const chat_json *section,
                             const KeySpec *keys) {
  if (section->kind != CHAT_JSON_OBJECT) {
    if (prefix[0] == '\0') {
      char got[CHAT_CONFIG_DESCRIBE_SIZE];
      chat_config_describe(section, got);
      g_set_error(l->error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_INVALID,
                  "%s: expected a JSON object at the top level, got %s", l->display_path, got);
      return FALSE;
    }
    return fail_value(l, prefix, "an object", section);
  }
  for (gsize i = 0; i < section->as.object.count; i++) {
    const chat_json_member *member = &section->as.object.members[i];
    g_autofree char *key = key_path(prefix, member);
    const KeySpec *spec = find_key(keys, member);
    if (spec == NULL) {
      if (prefix[0] == '\0' && strcmp(key, CLIENT_SECTION) == 0)
        continue;
      warn_unknown(l, key);
      continue;
    }
    if (!read_key(l, spec, key, &member->value))
      return FALSE;
    if (strcmp(key, KEY_MAX_QUEUE_BYTES) == 0)
      l->queue_bytes = &member->value;
    else if (strcmp(key, KEY_MAX_IMAGE_SIZE) == 0)
      l->image_size = &member->value;
    else if (strcmp(key, KEY_M_COST_KIB) == 0)
      l->m_cost = &member->value;
  }
  return TRUE;
}

/* The checks that involve more than one key. */
static gboolean check_relations(Loader *l) {
  ChatdConfig *c = l->config;
  if (l->queue_bytes == NULL) {
    c->max_queue_bytes = (gsize)CHATD_CONFIG_QUEUE_MESSAGES_DEFAULT * c->max_message_size;
  } else if (c->max_queue_bytes < c->max_message_size) {
    g_autofree char *expected =
        g_strdup_printf("an integer " KEY_MAX_MESSAGE_SIZE " (%" G_GSIZE_FORMAT ")..%u",
                        c->max_message_size, CHATD_CONFIG_MAX_MAX_QUEUE_BYTES);
    return fail_value(l, KEY_MAX_QUEUE_BYTES, expected, l->queue_bytes);
  }
  /* An image and its notice fit in one message, with room to spare. */
  gsize image_limit = c->max_message_size / 2;
  if (l->image_size == NULL) {
    c->max_image_size = MIN(c->max_image_size, image_limit);
  } else if (c->max_image_size > image_limit) {
    g_autofree char *expected =
        g_strdup_printf("an integer %u..half of " KEY_MAX_MESSAGE_SIZE " (%" G_GSIZE_FORMAT ")",
                        CHATD_CONFIG_MIN_MAX_IMAGE_SIZE, image_limit);
    return fail_value(l, KEY_MAX_IMAGE_SIZE, expected, l->image_size);
  }
  const ChatdPasswordCost *cost = &c->password_cost;
  if (cost->m_cost_kib < CHATD_PASSWORD_M_COST_KIB_PER_LANE * cost->parallelism) {
    g_autofree char *expected = g_strdup_printf(
        "at least %d * " KEY_PARALLELISM " (%u), that is %u", CHATD_PASSWORD_M_COST_KIB_PER_LANE,
        cost->parallelism, CHATD_PASSWORD_M_COST_KIB_PER_LANE * cost->parallelism);
    if (l->m_cost != NULL)
      return fail_value(l, KEY_M_COST_KIB, expected, l->m_cost);
    g_set_error(l->error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_INVALID,
                "%s: " KEY_M_COST_KIB ": expected %s, got the default %u", l->display_path,
                expected, cost->m_cost_kib);
    return FALSE;
  }
  if (c->allow_legacy) {
    const char *missing = c->crypto_base == NULL      ? KEY_CRYPTO_BASE
                          : c->crypto_modulus == NULL ? KEY_CRYPTO_MODULUS
                                                      : NULL;
    if (missing != NULL) {
      g_set_error(l->error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_MISSING,
                  "%s: %s: required when " KEY_ALLOW_LEGACY " is true "
                  "(a positive decimal integer)",
                  l->display_path, missing);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean chatd_config_load(ChatdConfig *config, const char *path, GError **error) {
  g_return_val_if_fail(config != NULL, FALSE);
  g_return_val_if_fail(path != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  g_autofree char *display_path = g_filename_display_name(path);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) read_error = NULL;
  if (!g_file_get_contents(path, &text, &len, &read_error)) {
    g_set_error(error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_READ, "%s: cannot read: %s",
                display_path, read_error->message);
    return FALSE;
  }
  if (len > CONFIG_MAX_FILE_SIZE) {
    g_set_error(error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_READ,
                "%s: larger than %d bytes, not a config file", display_path, CONFIG_MAX_FILE_SIZE);
    return FALSE;
  }

  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *root = NULL;
  chat_error json_error;
  if (chat_json_parse(text, len, &arena, &root, &json_error) != 0) {
    g_set_error(error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_SYNTAX, "%s: %s", display_path,
                json_error.message);
    chat_arena_clear(&arena);
    return FALSE;
  }

  g_autofree char *dir = g_path_get_dirname(path);
  ChatdConfig loaded;
  chatd_config_init_defaults(&loaded);
  Loader loader = {
      .display_path = display_path,
      .base_dir = g_canonicalize_filename(dir, NULL),
      .config = &loaded,
      .queue_bytes = NULL,
      .m_cost = NULL,
      .error = error,
  };
  gboolean ok = read_section(&loader, "", root, top_keys) && check_relations(&loader);
  g_free(loader.base_dir);
  chat_arena_clear(&arena);
  if (!ok) {
    chatd_config_clear(&loaded);
    return FALSE;
  }
  chatd_config_clear(config);
  *config = loaded;
  return TRUE;
}
