// Argument handling shared by every binding: the Call record, the validating
// accessors and the overlap check (defined in napi_args.c).
//
// A Call collects the arguments of one invocation. Accessors record the first error
// (and throw it) and return harmless placeholders afterwards, so each binding reads
// all its arguments in a straight line and checks `failed` once at the end.

#ifndef RNNKIT_NAPI_ARGS_H
#define RNNKIT_NAPI_ARGS_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <stdbool.h>
#include <stdint.h>

#define MAX_ARGS 20

typedef struct {
  napi_env env;
  const char *fn;
  napi_value argv[MAX_ARGS];
  bool failed;
} Call;

typedef struct {  // a validated float32 array argument
  float *data;    // element 0 of the typed array
  int64_t length; // elements
} F32;

// The cell kernels declare their arrays restrict so that GCC vectorises without
// runtime alias checks. That promise is kept by disjoint(): an output region may not
// overlap any other region of the call (reading the same input twice is fine, and an
// in/out argument is a single region).
typedef struct {
  const char *name;
  const float *p;
  int64_t n;
  bool written;
} Region;

void fail(Call *c, bool range, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool begin(Call *c, napi_env env, napi_callback_info info, const char *fn, size_t want);
int64_t mul(Call *c, int64_t a, int64_t b);
int64_t size_arg(Call *c, int i, const char *name);
double num_arg(Call *c, int i, const char *name);
bool bool_arg(Call *c, int i, const char *name);
float *f32_arg(Call *c, int i, const char *name, int64_t off, int64_t extent, F32 *out);
float *f32_opt_arg(Call *c, int i, const char *name, int64_t off, int64_t extent);
const int32_t *i32_arg(Call *c, int i, const char *name, int64_t n);
int64_t mat_extent(Call *c, int64_t rows, int64_t cols, int64_t ld);
bool disjoint(Call *c, const Region *r, int count);
napi_value number(napi_env env, double v);

#endif
