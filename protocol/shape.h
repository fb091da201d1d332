/* The shape notation: a compact description of a value's structure, used by
 * the message catalogue to describe and check parameters.
 *
 *   shape  := term ('|' term)*                 one of several shapes
 *   term   := 'any' | 'null' | 'int' | 'float' | 'str' | 'bool' | 'bytes'
 *           | '@' name                         a named shape (catalogue)
 *           | '[' ']'                          the empty list
 *           | '[' item (',' item)* ']'         a list of exactly these items
 *           | '[' shape '...' ']'              a list of any length
 *           | '{' field (',' field)* [',' '...'] '}'
 *   item   := [label ':'] shape                the label only documents
 *   field  := key ['?'] ':' shape              '?' marks an optional key
 *
 * Dicts are open: keys a shape does not name are allowed (so a peer can add
 * keys without breaking older ones); a named key must have its shape. A
 * trailing '...' in a dict only documents that extra keys are expected.
 * Whitespace between tokens is ignored.
 *
 * Example: "{target_type:int, target_id:int, message:@body}". */
#ifndef CHAT_PROTOCOL_SHAPE_H
#define CHAT_PROTOCOL_SHAPE_H

#include "protocol/value.h"

/* Resolves `@name` references; returns the shape text or NULL. */
typedef const char *(*chat_shape_resolver)(const char *name, size_t len, void *data);

/* Checks value against shape. path names the value in messages ("params").
 * Errors: CHAT_ERR_SHAPE (the message names the path and what was expected),
 * CHAT_ERR_SYNTAX (the shape text itself is malformed; a programming error). */
int chat_shape_check(const char *shape, const chat_value *value, const char *path,
                     chat_shape_resolver resolve, void *resolve_data, chat_error *err);

/* Checks that a shape text is well formed and every @name resolves.
 * Errors: CHAT_ERR_SYNTAX. */
int chat_shape_validate(const char *shape, chat_shape_resolver resolve, void *resolve_data,
                        chat_error *err);

#endif
