#version 450
// Gradient of one input of c = a OP b with broadcasting (binary.bcast.fwd), written (not accumulated): for each
// element of input WHICH, the sum of binary_grad over the `reduce` output elements that read it. A gather in a fixed
// order, so no atomics and the same result every run. PER_GROUP: one workgroup per input element, its invocations
// striding over the reduction and summing with kiln_workgroup_sum; else one invocation per input element.
// The .split variant (KILN_SPLIT: long reductions into few elements) cuts each reduction into chunks of CHUNK: workgroup
// (k, j) writes chunk k's sum to partial[k * count + j] (f32), and reduce/partials adds the chunks in order
// (BroadcastKernels), so a GPU gets many workgroups where there are few elements.
// Bindings: 0 a, 1 b, 2 dy (output shape), 3 d (shape of input WHICH) (act_t; the sums in f32), or the partials
// [chunks, count] (float) in .split.
// Specialization: 0 OP (0 mul, 1 sub, 2 div, 3 add), 1 WHICH (0 = a, 1 = b), 2 PER_GROUP (0/1), 3 CHUNK (.split).
// Push: count (elements of d), reduce (output elements per element of d), dims[6], sa[6], sb[6] as in binary.bcast.fwd.
// Dispatch: PER_GROUP: NormKernels.PerItemGroups(count), local x = 64; else Emitter.ElementwiseGroups(count), local x = 256;
// .split: (chunks, count, 1), local x = 64.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#define REDUCE_SIZE 64
#include "reduce.glsl"
#include "binary.glsl"
layout(constant_id = 0) const int OP = 0;
layout(constant_id = 1) const int WHICH = 0;
layout(constant_id = 2) const int PER_GROUP = 0;
layout(constant_id = 3) const uint CHUNK = 4096;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 2) readonly buffer DY { act_t dy[]; };
#if KILN_SPLIT
layout(std430, binding = 3) writeonly buffer D { float d[]; };
#else
layout(std430, binding = 3) writeonly buffer D { act_t d[]; };
#endif
layout(push_constant) uniform P { uint count; uint reduce; int dims[6]; int sa[6]; int sb[6]; } p;

int own_stride(int k) { return WHICH == 0 ? p.sa[k] : p.sb[k]; }

void main()
{
#if KILN_SPLIT
    const uint j = gl_WorkGroupID.y, k = gl_WorkGroupID.x;
    const uint r0 = k * CHUNK + gl_LocalInvocationID.x, rEnd = min(p.reduce, (k + 1u) * CHUNK), rstep = uint(REDUCE_SIZE);
#else
    const uint j = PER_GROUP != 0 ? gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x : kiln_element_index();
    const uint r0 = PER_GROUP != 0 ? gl_LocalInvocationID.x : 0u, rEnd = p.reduce;
    const uint rstep = PER_GROUP != 0 ? uint(REDUCE_SIZE) : 1u;
#endif
    const bool valid = j < p.count;
    float g = 0.0;
    if (valid)
    {
        for (uint r = r0; r < rEnd; r += rstep)
        {
            // r enumerates the broadcast dimensions (row-major); the others are element j's coordinates in the gradient's
            // input, taken from j on the way. (No local array: glslang would give it the push constants' laid-out type.)
            uint rr = r, rj = j;
            int o = 0, ia = 0, ib = 0, ostride = 1;
            for (int k = 5; k >= 0; k--)
            {
                int c;
                if (own_stride(k) == 0)
                {
                    c = int(rr % uint(p.dims[k]));
                    rr /= uint(p.dims[k]);
                }
                else
                {
                    c = int(rj % uint(p.dims[k]));
                    rj /= uint(p.dims[k]);
                }
                o += c * ostride;
                ostride *= p.dims[k];
                ia += c * p.sa[k];
                ib += c * p.sb[k];
            }
            g += binary_grad(OP, WHICH, float(dy[o]), float(a[ia]), float(b[ib]));
        }
    }
#if KILN_SPLIT
    const float total = kiln_workgroup_sum(g);
    if (gl_LocalInvocationID.x == 0 && valid) d[k * p.count + j] = total;
#else
    if (PER_GROUP != 0)
    {
        const float total = kiln_workgroup_sum(g);
        if (gl_LocalInvocationID.x == 0 && valid) d[j] = act_t(total);
    }
    else if (valid) d[j] = act_t(g);
#endif
}
