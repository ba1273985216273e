#version 450
// Constant learning rate (after any warm-up): lr = base.  See lr_schedule.glsl (bindings, dispatch).
#include "lr_schedule.glsl"
float kiln_schedule(uint t, float base) { return base; }
