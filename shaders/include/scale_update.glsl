// The step state's update from the sum of squares of every (scaled) parameter gradient, shared by optim/loss_scale.comp
// and optim/clip_scale.comp and by the final reduce/sum_squares_many dispatch of a gradient-norm tree, which runs it
// itself in its .loss_scale and .clip_scale variants (engine/Training/GradientClipping.cs), so no dispatch of its own
// follows the sum. Before including: DECLARE_STEP_STATE, and the constants MAX_NORM (float) and, for the loss scale,
// GROWTH_INTERVAL (uint).
#ifndef KILN_SCALE_UPDATE_GLSL
#define KILN_SCALE_UPDATE_GLSL

// Dynamic loss scaling (engine/Training/LossScaling.cs): finite -> the optimizers use gradScale = 1 / lossScale (times
// global-norm clipping's factor of the unscaled norm when MAX_NORM > 0), and after GROWTH_INTERVAL finite steps in a row
// the scale doubles; an infinity or NaN -> this step updates nothing (skip = 1, read by the optimizer kernels and the
// step counter), the scale halves, the count of skipped steps grows.
#ifdef KILN_LOSS_SCALE_UPDATE
void kiln_scale_update(float total)
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
#else
// Global-norm clipping's factor, as torch.nn.utils.clip_grad_norm_: norm = sqrt(sum of squares of every gradient),
// state.gradScale = min(1, MAX_NORM / (norm + 1e-6)); the optimizer kernels multiply gradients by it.
void kiln_scale_update(float total) { state.gradScale = min(1.0, MAX_NORM / (sqrt(total) + 1e-6)); }
#endif
#endif
