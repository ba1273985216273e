#version 450
#define KILN_AMSGRAD 1
#include "optim_adam.glsl"
