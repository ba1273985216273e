#version 450
// Strided block copy for concat along dim 1: element i (of count) lies in block b = i / block at r = i % block;
// dst[b * dst_stride + dst_offset + r] = src[b * src_stride + src_offset + r].
// Forward: src = input i, block = src_stride = C_i*inner, dst = y, dst_stride = C*inner, dst_offset = channel offset*inner.
// Backward: the reverse (src = grad_y sliced, dst = grad of input i).
// Bindings: 0 src, 1 dst.  Specialization: none.
// Push constants: count, block, src_stride, src_offset, dst_stride, dst_offset.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
layout(std430, binding = 0) readonly buffer S { float src[]; };
layout(std430, binding = 1) writeonly buffer D { float dst[]; };
layout(push_constant) uniform P { uint count, block, src_stride, src_offset, dst_stride, dst_offset; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    uint b = i / p.block, r = i - b * p.block;
    dst[b * p.dst_stride + p.dst_offset + r] = src[b * p.src_stride + p.src_offset + r];
}
