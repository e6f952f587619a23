// Argument handling for the bindings: error reporting, number and typed-array
// accessors with bounds checks, the overlap check (declared in napi_args.h).

#include "napi_args.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/** Throws (once per call) a TypeError, or a RangeError when range is set. */
void fail(Call *c, bool range, const char *fmt, ...) {
  if (c->failed) return;
  c->failed = true;
  char msg[320];
  int n = snprintf(msg, sizeof msg, "rnnkit native %s: ", c->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  if (range) napi_throw_range_error(c->env, "ERR_RNNKIT_NATIVE_RANGE", msg);
  else napi_throw_type_error(c->env, "ERR_RNNKIT_NATIVE_ARG", msg);
}

bool begin(Call *c, napi_env env, napi_callback_info info, const char *fn, size_t want) {
  c->env = env;
  c->fn = fn;
  c->failed = false;
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, c->argv, NULL, NULL) != napi_ok) {
    c->failed = true;  // an exception is already pending
    return false;
  }
  if (argc < want) {
    fail(c, false, "expected %zu arguments, got %zu", want, argc);
    return false;
  }
  return true;
}

// Sizes and offsets: JS numbers that must be non-negative safe integers. Extents are
// products of sizes, formed with mul() so that an overflow cannot wrap around into a
// small extent that would pass the bounds checks.
#define MAX_SIZE 9007199254740992.0  // 2^53

int64_t mul(Call *c, int64_t a, int64_t b) {
  int64_t r;
  if (c->failed) return 0;
  if (__builtin_mul_overflow(a, b, &r) || r > (int64_t)MAX_SIZE) {
    fail(c, true, "array extent %lld x %lld is too large", (long long)a, (long long)b);
    return 0;
  }
  return r;
}

int64_t size_arg(Call *c, int i, const char *name) {
  double d;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) {
    fail(c, false, "%s must be a number", name);
    return 0;
  }
  if (!(d >= 0 && d <= MAX_SIZE && d == floor(d))) {
    fail(c, true, "%s must be a non-negative integer, got %g", name, d);
    return 0;
  }
  return (int64_t)d;
}

double num_arg(Call *c, int i, const char *name) {
  double d = 0;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) fail(c, false, "%s must be a number", name);
  return d;
}

bool bool_arg(Call *c, int i, const char *name) {
  bool b = false;
  if (c->failed) return false;
  if (napi_get_value_bool(c->env, c->argv[i], &b) != napi_ok) fail(c, false, "%s must be a boolean", name);
  return b;
}

static bool typed_array(Call *c, int i, const char *name, napi_typedarray_type want, const char *want_name,
                        void **data, int64_t *length) {
  bool is = false;
  napi_typedarray_type type;
  size_t len = 0;
  if (napi_is_typedarray(c->env, c->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(c->env, c->argv[i], &type, &len, data, NULL, NULL) != napi_ok) {
    fail(c, false, "%s must be a %s", name, want_name);
    return false;
  }
  if (type != want) {
    // The usual mistake: a Float64Array from a gradient check (reference backend only).
    fail(c, false, "%s must be a %s (this backend computes in float32)", name, want_name);
    return false;
  }
  *length = (int64_t)len;
  return true;
}

/** A float32 array argument whose elements [off, off + extent) must exist. */
float *f32_arg(Call *c, int i, const char *name, int64_t off, int64_t extent, F32 *out) {
  void *data = NULL;
  int64_t len = 0;
  if (c->failed || !typed_array(c, i, name, napi_float32_array, "Float32Array", &data, &len)) return NULL;
  if (off + extent > len) {
    fail(c, true, "%s needs elements [%lld, %lld) but has length %lld", name, (long long)off,
         (long long)(off + extent), (long long)len);
    return NULL;
  }
  if (out) { out->data = data; out->length = len; }
  // An empty typed array may report a NULL data pointer; nothing is read then.
  return data ? (float *)data + off : NULL;
}

const int32_t *i32_arg(Call *c, int i, const char *name, int64_t n) {
  void *data = NULL;
  int64_t len = 0;
  if (c->failed || !typed_array(c, i, name, napi_int32_array, "Int32Array", &data, &len)) return NULL;
  if (n > len) {
    fail(c, true, "%s needs %lld entries but has length %lld", name, (long long)n, (long long)len);
    return NULL;
  }
  return data;
}

/** Elements spanned by a row-major (rows, cols) matrix with leading dimension ld. */
int64_t mat_extent(Call *c, int64_t rows, int64_t cols, int64_t ld) {
  return rows == 0 || cols == 0 ? 0 : mul(c, rows - 1, ld) + cols;
}

bool disjoint(Call *c, const Region *r, int count) {
  if (c->failed) return false;
  for (int a = 0; a < count; a++) {
    if (!r[a].written || r[a].n == 0) continue;
    for (int b = 0; b < count; b++) {
      if (b == a || r[b].n == 0) continue;
      if (r[a].p < r[b].p + r[b].n && r[b].p < r[a].p + r[a].n) {
        fail(c, true, "%s overlaps %s (outputs must not share memory with other arguments)", r[a].name, r[b].name);
        return false;
      }
    }
  }
  return true;
}

napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}
/** An optional float32 array: null or undefined gives NULL (no error). */
float *f32_opt_arg(Call *c, int i, const char *name, int64_t off, int64_t extent) {
  napi_valuetype t;
  if (c->failed) return NULL;
  if (napi_typeof(c->env, c->argv[i], &t) != napi_ok) {
    fail(c, false, "%s must be a Float32Array or null", name);
    return NULL;
  }
  if (t == napi_null || t == napi_undefined) return NULL;
  return f32_arg(c, i, name, off, extent, NULL);
}

