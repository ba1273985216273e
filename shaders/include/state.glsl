// The step-state buffer (CompiledNetwork): what changes from step to step, read by kernels on the GPU so a
// recorded step replays unchanged. Word 0 step counter (uint), 1 learning rate of this step (written by the
// schedule kernel), 2 seed (uint), 3 loss scale, 4 base learning rate (written by the host), 5 gradient scale
// (global-norm clipping's factor, 1 without clipping).
#ifndef KILN_STATE_GLSL
#define KILN_STATE_GLSL
#define DECLARE_STEP_STATE(b) layout(std430, binding = b) buffer StepState { uint step; float learningRate; uint seed; float lossScale; float baseLearningRate; float gradScale; } state;
#endif
