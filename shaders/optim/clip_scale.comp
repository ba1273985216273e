#version 450
// Global-norm clipping's factor, as torch.nn.utils.clip_grad_norm_: norm = sqrt(sum of squares of every gradient),
// state.gradScale = min(1, MAX_NORM / (norm + 1e-6)); the optimizer kernels multiply gradients by it.
// Bindings: 0 step state, 1 total (one float, the sum of squares).  Specialization: 0 MAX_NORM.  Dispatch: 1x1x1, local 1.
#include "kiln.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
layout(constant_id = 0) const float MAX_NORM = 1.0;
layout(std430, binding = 1) readonly buffer Total { float total; };
void main()
{
    state.gradScale = min(1.0, MAX_NORM / (sqrt(total) + 1e-6));
}
