#version 450
// Strided block copy for concat along dim 1: element i (of count) lies in block b = i / block at r = i % block;
// dst[b * dst_stride + dst_offset + r] = src[b * src_stride + src_offset + r].
// Forward: src = input i, block = src_stride = C_i*inner, dst = y, dst_stride = C*inner, dst_offset = channel offset*inner
// (channels-last: block = C_i, dst_stride = C, dst_offset = the channel offset); row bands copy rows the same way.
// Backward: the reverse (src = grad_y sliced, dst = grad of input i).
// With WIDTH 4 (the host's choice where count, block, strides and offsets are all multiples of 4) an invocation copies
// 4 consecutive elements of one block through 4-wide views of the same bindings (values are 256-byte aligned).
// Bindings: 0 src (act_t), 1 dst (act_t).  Specialization: 0 WIDTH (1 or 4).
// Push constants: count, block, src_stride, src_offset, dst_stride, dst_offset.
// Dispatch: Emitter.ElementwiseGroups(count / WIDTH), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const uint WIDTH = 1u;
layout(std430, binding = 0) readonly buffer S { act_t src[]; };
layout(std430, binding = 0) readonly buffer S4 { act4_t src4[]; };
layout(std430, binding = 1) writeonly buffer D { act_t dst[]; };
layout(std430, binding = 1) writeonly buffer D4 { act4_t dst4[]; };
layout(push_constant) uniform P { uint count, block, src_stride, src_offset, dst_stride, dst_offset; } p;
void main()
{
    uint i = kiln_element_index() * WIDTH;
    if (i >= p.count) return;
    uint b = i / p.block, r = i - b * p.block;
    uint s = b * p.src_stride + p.src_offset + r, d = b * p.dst_stride + p.dst_offset + r;
    if (WIDTH == 4u) dst4[d / 4u] = src4[s / 4u];
    else dst[d] = src[s];
}
