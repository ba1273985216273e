#version 450
// Dynamic loss scaling after the backward pass (engine/Training/LossScaling.cs), from the sum of squares of every
// (scaled) parameter gradient: finite -> the optimizers use gradScale = 1 / lossScale (times global-norm clipping's
// factor of the unscaled norm when MAX_NORM > 0), and after GROWTH_INTERVAL finite steps in a row the scale doubles;
// an infinity or NaN -> this step updates nothing (skip = 1, read by the optimizer kernels and the step counter), the
// scale halves, the count of skipped steps grows.
// Bindings: 0 step state, 1 total (one float).  Specialization: 0 MAX_NORM (0: no clipping), 1 GROWTH_INTERVAL
// (0: the scale never grows).  Dispatch: 1x1x1, local 1.
#include "kiln.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
layout(constant_id = 0) const float MAX_NORM = 0.0;
layout(constant_id = 1) const uint GROWTH_INTERVAL = 2000;
layout(std430, binding = 1) readonly buffer Total { float total; };
void main()
{
    float scale = state.lossScale;
    if (isinf(total) || isnan(total))
    {
        state.skip = 1u;
        state.gradScale = 0.0;
        state.lossScale = max(scale * 0.5, 1.0);
        state.goodSteps = 0u;
        state.skippedSteps += 1u;
        return;
    }
    state.skip = 0u;
    float clip = MAX_NORM > 0.0 ? min(1.0, MAX_NORM / (sqrt(total) / scale + 1e-6)) : 1.0;
    state.gradScale = clip / scale;
    state.goodSteps += 1u;
    if (GROWTH_INTERVAL > 0u && state.goodSteps >= GROWTH_INTERVAL && scale * 2.0 < 3.0e38)
    {
        state.lossScale = scale * 2.0;
        state.goodSteps = 0u;
    }
}
