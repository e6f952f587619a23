// rnnkit native backend, module entry: the export table of the N-API addon that
// implements src/backend/backend.ts.
//
// Matrix products go to the system BLAS (cblas_sgemm). Everything else is a plain
// loop over float32 arrays, written so that GCC vectorises it at -O3 -march=native:
// no calls inside the loops (exp and tanh are inlined polynomials, elementary.h), no
// branches (selects instead), and `restrict` where the outputs must not overlap the
// inputs (checked at the boundary, so restrict is never a lie).
//
// Every exported function takes exactly the arguments of the Backend method of the
// same name: typed arrays plus element offsets and sizes. Arguments are validated
// (element type, integer sizes, offset + extent <= length) before any memory is
// touched, so a wrong call throws a JS error instead of corrupting the heap.
//
// The reference backend (src/backend/ref) is the spec; test/backend-conformance.test.ts
// holds this addon to it. Where the reference computes in double (optimizer updates,
// scale, loss and norm accumulation, layer-norm row sums) this addon does too, so results
// agree to a few float32 ulps; the activations are computed in float.
//
// The kernels are grouped by kind in gemm.c, rows.c, cells.c, sequence.c (fused time
// loops, with pool.c's threads), norm.c, xent.c and optim.c; napi_args.c holds the argument checks they share.

#include "bindings.h"
#include "napi_args.h"

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"gemm", js_gemm},
      {"fillRows", js_fillRows},
      {"sumRows", js_sumRows},
      {"lstmStepForward", js_lstmStepForward},
      {"lstmStepBackward", js_lstmStepBackward},
      {"gruStepForward", js_gruStepForward},
      {"gruStepBackward", js_gruStepBackward},
      {"rnnStepForward", js_rnnStepForward},
      {"rnnStepBackward", js_rnnStepBackward},
      {"recurrentSequenceForward", js_recurrentSequenceForward},
      {"recurrentSequenceBackward", js_recurrentSequenceBackward},
      {"setSequenceThreshold", js_setSequenceThreshold},
      {"layerNormForward", js_layerNormForward},
      {"layerNormBackward", js_layerNormBackward},
      {"softmaxXent", js_softmaxXent},
      {"softmaxXentBackward", js_softmaxXentBackward},
      {"gatherRows", js_gatherRows},
      {"scatterAddRows", js_scatterAddRows},
      {"sumSquares", js_sumSquares},
      {"scale", js_scale},
      {"sgdStep", js_sgdStep},
      {"adagradStep", js_adagradStep},
      {"rmspropStep", js_rmspropStep},
      {"adamStep", js_adamStep},
      {"setThreads", js_setThreads},
      {"info", js_info},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
