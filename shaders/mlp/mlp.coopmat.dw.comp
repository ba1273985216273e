#version 450
// Fused MLP backward on tensor cores (MlpCoopMatKernels), the parameters' gradients: workgroup (g, l) sums layer l's
// weight gradient d_l^T h_l and bias gradient ones^T d_l over chunk g of the rows (include/mlp_coopmat.glsl's h and
// d, rows rounded up to a multiple of S) into partial slot g, in mlp.glsl's padded packed order, which mlp.reduce
// (PAD = S) then sums over the slots in order. Subgroup sg takes the rows of S units u = sg, sg + NSG, ... of the
// weight: per S rows of the chunk one A load (d's tile, column-major: the transpose), P(l) / S B loads (h's tiles)
// and as many products, straight from global memory, and the bias tile as ones times d's tile (each of its rows the
// column sums; mlp.reduce reads row 0). Every tile of the slot's layer is written, so no slot needs clearing.
// Bindings: 0 h, 1 d (f16), 2 partial [groups, stride] (float).
// Specialization: include/mlp.glsl's shape (20 PAD = S), 21 SGS, 22 NSG.  Push: rows (padded), chunk (rows a
// workgroup, a multiple of S), stride.
// Local size: SGS * NSG.  Dispatch: (groups, L, 1).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "mlp.glsl"
#include "mlp_coopmat.glsl"

layout(std430, binding = 0) readonly buffer H { float16_t h[]; };
layout(std430, binding = 1) readonly buffer D { float16_t d[]; };
layout(std430, binding = 2) writeonly buffer Part { float part[]; };
layout(push_constant) uniform P { uint rows; uint chunk; uint stride; } p;

void main()
{
    const int sg = int(gl_SubgroupID), g = int(gl_WorkGroupID.x), l = int(gl_WorkGroupID.y);
    const int hp = mc_input_offset(L), dp = mc_delta_offset(L);
    const int pin = mlp_padded(l), pout = mlp_padded(l + 1), kt = pin / S, jt = pout / S;
    const int hin = mc_input_offset(l), dout = mc_delta_offset(l);
    const int r0 = g * int(p.chunk), r1 = min(r0 + int(p.chunk), int(p.rows));
    const int slot = g * int(p.stride) + mlp_padded_offset(l);
    const coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> ones = coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA>(1.0);
    for (int u = sg; u < jt; u += NSG)
    {
        coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> c[NT_MAX];
        [[unroll]] for (int k = 0; k < NT_MAX; k++)
            if (k < kt) c[k] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);
        coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> cb = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);
        for (int r = r0; r < r1; r += S)
        {
            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a;
            coopMatLoad(a, d, uint(r * dp + dout + u * S), uint(dp), gl_CooperativeMatrixLayoutColumnMajor);
            [[unroll]] for (int k = 0; k < NT_MAX; k++)
            {
                if (k >= kt) continue;
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> b;
                coopMatLoad(b, h, uint(r * hp + hin + k * S), uint(hp), gl_CooperativeMatrixLayoutRowMajor);
                c[k] = coopMatMulAdd(a, b, c[k]);
            }
            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> t;
            coopMatLoad(t, d, uint(r * dp + dout + u * S), uint(dp), gl_CooperativeMatrixLayoutRowMajor);
            cb = coopMatMulAdd(ones, t, cb);
        }
        [[unroll]] for (int k = 0; k < NT_MAX; k++)
            if (k < kt) coopMatStore(c[k], part, uint(slot + u * S * pin + k * S), uint(pin), gl_CooperativeMatrixLayoutRowMajor);
        coopMatStore(cb, part, uint(slot + pout * pin + u * S), uint(pout), gl_CooperativeMatrixLayoutRowMajor);
    }
}
