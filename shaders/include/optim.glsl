// Shared by the optimizer kernels (engine/Training). Every optimizer module binds 0 step state, 1 g, 2 w, then
// its own state buffers, and declares specialization 0 L1, 1 L2 here, then its own constants from 2.
// The gradient an update uses: g * state.gradScale (global-norm clipping; 1 without) + L1 sign(w) + L2 w
// (CompileOptions.L1/L2; 0 for parameters they don't apply to). Needs DECLARE_STEP_STATE first.
// kiln_update_skipped(): the step's gradients were not finite under loss scaling; the kernel must change nothing.
#ifndef KILN_OPTIM_GLSL
#define KILN_OPTIM_GLSL
layout(constant_id = 0) const float L1 = 0.0;
layout(constant_id = 1) const float L2 = 0.0;
bool kiln_update_skipped()
{
    return state.skip != 0u;
}
float kiln_update_gradient(float g, float w)
{
    return g * state.gradScale + L1 * sign(w) + L2 * w;
}
#endif
