#version 450
// The backward pass's seed, d loss / d loss, as the step's loss scale (dynamic loss scaling; engine/Training/LossScaling.cs).
// Bindings: 0 step state, 1 seed [1].  Dispatch: 1x1x1, local 1.
#include "kiln.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
layout(std430, binding = 1) writeonly buffer Seed { float seed; };
void main()
{
    seed = state.lossScale;
}
