#version 450
#include "optim_adam.glsl"
