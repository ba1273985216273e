#version 450
// Strided block copy for concat along dim 1: element i (of count) lies in block b = i / block at r = i % block;
// dst[b * dst_stride + dst_offset + r] = src[b * src_stride + src_offset + r].
// Forward: src = input i, block = src_stride = C_i*inner, dst = y, dst_stride = C*inner, dst_offset = channel offset*inner.
// Backward: the reverse (src = grad_y sliced, dst = grad of input i).
// Bindings: 0 src (act_t), 1 dst (act_t).  Specialization: none.
// Push constants: count, block, src_stride, src_offset, dst_stride, dst_offset.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer S { act_t src[]; };
layout(std430, binding = 1) writeonly buffer D { act_t dst[]; };
layout(push_constant) uniform P { uint count, block, src_stride, src_offset, dst_stride, dst_offset; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    uint b = i / p.block, r = i - b * p.block;
    dst[b * p.dst_stride + p.dst_offset + r] = src[b * p.src_stride + p.src_offset + r];
}
