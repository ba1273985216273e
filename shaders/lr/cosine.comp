#version 450
// Cosine annealing, as torch's CosineAnnealingLR: lr = ETA_MIN + (base - ETA_MIN) (1 + cos(pi t / T_MAX)) / 2
// (past T_MAX it rises again, as torch's does).  See lr_schedule.glsl (bindings, dispatch).
// Specialization: 3 T_MAX (uint), 4 ETA_MIN.
#include "lr_schedule.glsl"
layout(constant_id = 3) const uint T_MAX = 1;
layout(constant_id = 4) const float ETA_MIN = 0.0;
float kiln_schedule(uint t, float base)
{
    // The angle's whole turns removed in integers first, so a long run keeps the cosine's argument small.
    uint r = t % (2u * T_MAX);
    return ETA_MIN + (base - ETA_MIN) * 0.5 * (1.0 + cos(3.14159265358979 * float(r) / float(T_MAX)));
}
