#version 450
// Sum of squares of up to 8 small gradients in one workgroup (engine/Training/GradientClipping.cs: the check of dynamic
// loss scaling and global-norm clipping, where one reduction per gradient would cost more dispatches than arithmetic),
// mixed with plain sums: bit k of SQUARE says buffer k is a gradient whose elements are squared; a clear bit, a partial
// sum of squares added as it is. Invocation t adds elements t, t + 256, ... of each buffer in turn, then the workgroup
// adds the invocations' sums in a fixed tree: the same bits every run.
// The .loss_scale and .clip_scale variants (KILN_SCALE_UPDATE; the last dispatch of a gradient-norm tree) then update
// the step state from the total themselves (include/scale_update.glsl), so no dispatch of their own follows.
// Bindings: 0..7 g0..g7 (float; slots past BUFFERS repeat the last buffer and are not read), 8 result [1] (float),
// 9 the step state (the .loss_scale and .clip_scale variants).
// Specialization: 0 BUFFERS (1..8), 1 SQUARE (bit k: square buffer k's elements), and in those variants 2 MAX_NORM (float),
// 3 GROWTH_INTERVAL.  Push: the 8 element counts.
// Dispatch: 1 x 1 x 1, local x = 256.
#include "kiln.glsl"
#include "reduce.glsl"
layout(constant_id = 0) const int BUFFERS = 1;
layout(constant_id = 1) const int SQUARE = 255;
layout(std430, binding = 0) readonly buffer G0 { float g0[]; };
layout(std430, binding = 1) readonly buffer G1 { float g1[]; };
layout(std430, binding = 2) readonly buffer G2 { float g2[]; };
layout(std430, binding = 3) readonly buffer G3 { float g3[]; };
layout(std430, binding = 4) readonly buffer G4 { float g4[]; };
layout(std430, binding = 5) readonly buffer G5 { float g5[]; };
layout(std430, binding = 6) readonly buffer G6 { float g6[]; };
layout(std430, binding = 7) readonly buffer G7 { float g7[]; };
layout(std430, binding = 8) writeonly buffer Result { float result; };
layout(push_constant) uniform P { uint count[8]; } p;
#if KILN_SCALE_UPDATE
#include "state.glsl"
DECLARE_STEP_STATE(9)
layout(constant_id = 2) const float MAX_NORM = 0.0;
layout(constant_id = 3) const uint GROWTH_INTERVAL = 2000;
#include "scale_update.glsl"
#endif

#define SUM_SQUARES(buf, k) if (BUFFERS > k) for (uint i = t; i < p.count[k]; i += REDUCE_SIZE) { float v = buf[i]; s += (SQUARE & (1 << k)) != 0 ? v * v : v; }

void main()
{
    uint t = gl_LocalInvocationID.x;
    float s = 0.0;
    SUM_SQUARES(g0, 0) SUM_SQUARES(g1, 1) SUM_SQUARES(g2, 2) SUM_SQUARES(g3, 3)
    SUM_SQUARES(g4, 4) SUM_SQUARES(g5, 5) SUM_SQUARES(g6, 6) SUM_SQUARES(g7, 7)
    float total = kiln_workgroup_sum(s);
    if (t == 0u)
    {
        result = total;
#if KILN_SCALE_UPDATE
        kiln_scale_update(total);
#endif
    }
}
