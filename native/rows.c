// Rows: bias broadcast (fillRows), bias gradient (sumRows), embedding gather / scatter.

#include "bindings.h"
#include "napi_args.h"

#include <stdint.h>
#include <string.h>

napi_value js_fillRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "fillRows", 5)) return NULL;
  int64_t yOff = size_arg(&c, 1, "yOff"), rows = size_arg(&c, 3, "rows"), n = size_arg(&c, 4, "n");
  int64_t total = mul(&c, rows, n);
  float *Y = f32_arg(&c, 0, "Y", yOff, total, NULL);
  const float *bias = f32_arg(&c, 2, "bias", 0, n, NULL);
  if (c.failed) return NULL;
  // memmove: a caller may legitimately broadcast a row of Y into Y.
  for (int64_t r = 0; r < rows; r++) memmove(Y + r * n, bias, (size_t)n * sizeof(float));
  return NULL;
}

napi_value js_sumRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "sumRows", 5)) return NULL;
  int64_t dyOff = size_arg(&c, 2, "dyOff"), rows = size_arg(&c, 3, "rows"), n = size_arg(&c, 4, "n");
  float *db = f32_arg(&c, 0, "db", 0, n, NULL);
  int64_t total = mul(&c, rows, n);
  const float *dY = f32_arg(&c, 1, "dY", dyOff, total, NULL);
  Region reg[] = {{"db", db, n, true}, {"dY", dY, total, false}};
  if (!disjoint(&c, reg, 2)) return NULL;
  // Row by row into db, the reference's order: same float roundings, same result.
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict row = dY + r * n;
    float *restrict d = db;
    for (int64_t j = 0; j < n; j++) d[j] += row[j];
  }
  return NULL;
}

napi_value js_gatherRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "gatherRows", 6)) return NULL;
  int64_t yOff = size_arg(&c, 1, "yOff"), N = size_arg(&c, 4, "N"), w = size_arg(&c, 5, "width");
  F32 tab = {0};
  float *Y = f32_arg(&c, 0, "Y", yOff, mul(&c, N, w), NULL);
  const float *table = f32_arg(&c, 2, "table", 0, 0, &tab);
  const int32_t *ids = i32_arg(&c, 3, "ids", N);
  if (c.failed) return NULL;
  int64_t rowsInTable = w ? tab.length / w : INT64_MAX;
  for (int64_t n = 0; n < N; n++) {
    if (ids[n] < 0 || ids[n] >= rowsInTable) {
      fail(&c, true, "ids[%lld] = %d outside the table's %lld rows", (long long)n, ids[n], (long long)rowsInTable);
      return NULL;
    }
  }
  for (int64_t n = 0; n < N; n++) memmove(Y + n * w, table + (int64_t)ids[n] * w, (size_t)w * sizeof(float));
  return NULL;
}

napi_value js_scatterAddRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "scatterAddRows", 6)) return NULL;
  int64_t dyOff = size_arg(&c, 2, "dyOff"), N = size_arg(&c, 4, "N"), w = size_arg(&c, 5, "width");
  F32 tab = {0};
  float *dtable = f32_arg(&c, 0, "dtable", 0, 0, &tab);
  int64_t total = mul(&c, N, w);
  const float *dY = f32_arg(&c, 1, "dY", dyOff, total, NULL);
  const int32_t *ids = i32_arg(&c, 3, "ids", N);
  if (c.failed) return NULL;
  Region reg[] = {{"dtable", tab.data, tab.length, true}, {"dY", dY, total, false}};
  if (!disjoint(&c, reg, 2)) return NULL;
  int64_t rowsInTable = w ? tab.length / w : INT64_MAX;
  for (int64_t n = 0; n < N; n++) {
    if (ids[n] < 0 || ids[n] >= rowsInTable) {
      fail(&c, true, "ids[%lld] = %d outside the table's %lld rows", (long long)n, ids[n], (long long)rowsInTable);
      return NULL;
    }
  }
  // In id order, so a repeated id accumulates exactly as in the reference.
  for (int64_t n = 0; n < N; n++) {
    float *restrict d = dtable + (int64_t)ids[n] * w;
    const float *restrict s = dY + n * w;
    for (int64_t k = 0; k < w; k++) d[k] += s[k];
  }
  return NULL;
}
