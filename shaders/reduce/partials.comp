#version 450
// Second pass of a split reduction: y[i] = act(sum over s in 0..SPLITS-1 of partial[s * COUNT + i] + bias[i % COLS]).
// Deterministic (a fixed order, no atomics). LANES = 1: one invocation per output adds the splits in order; consecutive
// invocations read consecutive floats. LANES > 1 (a power of two, few outputs and many splits, on a GPU): a workgroup
// is gl_WorkGroupSize.x outputs by LANES lanes; lane l adds splits l, l + LANES, ... in order, then the lanes are added
// in a fixed shared-memory tree, so no invocation walks thousands of splits alone. The sum, bias and activation are f32;
// the .f16 build (include/storage.glsl) rounds the result once into an f16 y (activation storage), so a split product
// whose output is an f16 activation takes no separate conversion pass.
// Bindings: 0 partial [SPLITS, COUNT] (float)  1 bias [COLS] (float; unused when HAS_BIAS=0)  2 y [COUNT] (act_t)
//           3 the activation's output [COUNT] (act_t), in the .dact variant only: y is the sum through the derivative of ACT taken
//           from it, the finish of a split input gradient (include/product_epilogue.glsl)
// Specialization: 0 SPLITS, 1 COUNT, 2 HAS_BIAS, 3 COLS, 4 ACT (activation code), 5 SLOPE (float), 6 LANES
// Dispatch: ceil(COUNT / local x) workgroups spread over x and y like Emitter.ElementwiseGroups; local x = 64 with
// LANES = 1, else local (32, LANES) (engine/Layers/PartialSums.cs)
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int SPLITS = 1;
layout(constant_id = 1) const int COUNT = 1;
layout(constant_id = 2) const int HAS_BIAS = 0;
layout(constant_id = 3) const int COLS = 1;
layout(constant_id = 4) const int ACT = 0;
layout(constant_id = 5) const float SLOPE = 0.01;
layout(constant_id = 6) const int LANES = 1;

layout(std430, binding = 0) readonly buffer Part { float partial[]; };
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };
layout(std430, binding = 2) writeonly buffer Y { act_t y[]; };
#define KILN_ACT_GRAD_BINDING 3
#include "product_epilogue.glsl"

shared float lanes[LANES == 1 ? 1 : 1024];

void main()
{
    const int i = int(kiln_element_index());
    const bool live = i < COUNT;
    const int lane = int(gl_LocalInvocationID.y);
    float s = 0.0;
    if (live)
        for (int k = lane; k < SPLITS; k += LANES) s += partial[k * COUNT + i];
    if (LANES > 1)
    {
        const uint x = gl_LocalInvocationID.x, w = gl_WorkGroupSize.x;
        lanes[lane * w + x] = s;
        barrier();
        for (int h = LANES / 2; h > 0; h >>= 1)
        {
            if (lane < h) lanes[lane * w + x] += lanes[(lane + h) * w + x];
            barrier();
        }
        s = lanes[x];
    }
    if (live && lane == 0) y[i] = act_t(kiln_product_out(s + (HAS_BIAS != 0 ? bias[i % COLS] : 0.0), i));
}
