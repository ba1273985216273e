#version 450
// Step decay, as torch's StepLR: lr = base GAMMA^floor(t / STEP_SIZE).  See lr_schedule.glsl (bindings, dispatch).
// Specialization: 3 STEP_SIZE (uint), 4 GAMMA.
#include "lr_schedule.glsl"
layout(constant_id = 3) const uint STEP_SIZE = 1;
layout(constant_id = 4) const float GAMMA = 0.1;
float kiln_schedule(uint t, float base) { return base * pow(GAMMA, float(t / STEP_SIZE)); }
