// The step-state buffer (CompiledNetwork): what changes from step to step, read by kernels on the GPU so a
// recorded step replays unchanged. Word 0 step counter (uint), 1 learning rate of this step (written by the
// schedule kernel), 2 seed (uint), 3 loss scale (1, or dynamic loss scaling's), 4 base learning rate (written by the
// host), 5 gradient scale (what optimizers multiply gradients by: global-norm clipping's factor and 1 / loss scale; 1
// without either), 6 finite steps since the loss scale last changed (uint), 7 steps skipped for non-finite gradients
// (uint), 8 skip (uint: 1 when this step's gradients were not finite, so nothing is updated).
#ifndef KILN_STATE_GLSL
#define KILN_STATE_GLSL
#define DECLARE_STEP_STATE(b) layout(std430, binding = b) buffer StepState { uint step; float learningRate; uint seed; float lossScale; float baseLearningRate; float gradScale; uint goodSteps; uint skippedSteps; uint skip; } state;
#endif
