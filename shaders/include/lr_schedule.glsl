// Shared by the learning-rate schedule kernels (shaders/lr): one invocation writes this step's learning rate into
// the step-state buffer from the step counter and the base rate. Linear warm-up first (torch's LinearLR inside
// SequentialLR): for t < WARMUP_STEPS, lr = base (WARMUP_START + (WARMUP_END - WARMUP_START) t / WARMUP_STEPS);
// after it the module's kiln_schedule(t - WARMUP_STEPS, base).
// Bindings: 0 step state.  Specialization: 0 WARMUP_STEPS (uint, 0 = none), 1 WARMUP_START, 2 WARMUP_END, then the
// module's own from 3.  Dispatch: 1x1x1, local 1.
#include "kiln.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
layout(constant_id = 0) const uint WARMUP_STEPS = 0;
layout(constant_id = 1) const float WARMUP_START = 1.0;
layout(constant_id = 2) const float WARMUP_END = 1.0;
float kiln_schedule(uint t, float base);
void main()
{
    uint t = state.step;
    float base = state.baseLearningRate;
    state.learningRate = t < WARMUP_STEPS
        ? base * (WARMUP_START + (WARMUP_END - WARMUP_START) * float(t) / float(WARMUP_STEPS))
        : kiln_schedule(t - WARMUP_STEPS, base);
}
