#version 450
// Advances the step counter at the end of a training step, unless loss scaling skipped the step.
// Bindings: 0 step state.  Dispatch: 1x1x1, local 1.
#include "kiln.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
void main()
{
    if (state.skip == 0u) state.step += 1u;
}
