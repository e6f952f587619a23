// The JS-callable functions, one per Backend method, defined in the kernel files
// and put on the exports object by module.c.

#ifndef RNNKIT_BINDINGS_H
#define RNNKIT_BINDINGS_H

#include "napi_args.h"

#define BINDING(name) napi_value js_##name(napi_env env, napi_callback_info info)

BINDING(gemm);  // gemm.c
BINDING(setThreads);
BINDING(info);
BINDING(fillRows);  // rows.c
BINDING(sumRows);
BINDING(gatherRows);
BINDING(scatterAddRows);
BINDING(lstmStepForward);  // cells.c
BINDING(lstmStepBackward);
BINDING(gruStepForward);
BINDING(gruStepBackward);
BINDING(rnnStepForward);
BINDING(rnnStepBackward);
BINDING(recurrentSequenceForward);  // sequence.c
BINDING(recurrentSequenceBackward);
BINDING(setSequenceThreshold);
BINDING(layerNormForward);  // norm.c
BINDING(layerNormBackward);
BINDING(softmaxXent);  // xent.c
BINDING(softmaxXentBackward);
BINDING(sumSquares);  // optim.c
BINDING(scale);
BINDING(sgdStep);
BINDING(adagradStep);
BINDING(rmspropStep);
BINDING(adamStep);

#undef BINDING

#endif
