// The step-state buffer (CompiledNetwork): what changes from step to step, read by kernels on the GPU so a
// recorded step replays unchanged. Word 0 step counter (uint), 1 learning rate, 2 seed (uint), 3 loss scale.
#ifndef KILN_STATE_GLSL
#define KILN_STATE_GLSL
#define DECLARE_STEP_STATE(b) layout(std430, binding = b) buffer StepState { uint step; float learningRate; uint seed; float lossScale; } state;
#endif
