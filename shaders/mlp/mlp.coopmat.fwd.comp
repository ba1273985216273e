#version 450
// Fused MLP forward on tensor cores (MlpCoopMatKernels; KHR cooperative matrices, f16 operands, f32 accumulation,
// Precision.Fp16). A workgroup takes blocks of ROWS rows (blocks wg, wg + groups, ...) whose activations stay in
// shared memory (As, f16) from layer to layer (include/mlp_coopmat.glsl). Per layer each subgroup loads its column
// tiles' weights (wh, f16, packed by mlp.pack_f16) and bias tile (bt) into registers straight from global memory,
// then multiplies every row tile of As by them: one A load per S x S x S product, no shared-memory staging of the
// weights. After a barrier (every subgroup has read all of As) the activation is applied per element and each subgroup
// overwrites its own columns of As with the result, rounded to f16, and when training (SAVE) stores them to h as the
// next layer's input (x is copied there on the way in); the last layer's go to y from As after another barrier.
// Bindings: 0 x [N, W0] (act_t), 1 y [N, WL] (act_t), 2 h (f16), 3 wh (f16), 4 bt (float).
// Specialization: include/mlp.glsl's shape (20 PAD = S), 19 SAVE, 21 SGS, 22 NSG.  Push: n (rows).
// Local size: SGS * NSG.  Shared memory: ROWS * 72 * 2 bytes (S = 16: 18 KiB).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "mlp.glsl"
#include "storage.glsl"
#include "mlp_coopmat.glsl"

layout(constant_id = 19) const int SAVE = 0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 2) writeonly buffer H { float16_t h[]; };
layout(std430, binding = 3) readonly buffer WH { float16_t wh[]; };
layout(std430, binding = 4) readonly buffer BT { float bt[]; };
layout(push_constant) uniform P { uint n; } p;

shared float16_t As[ROWS * LD];

void main()
{
    const int tid = int(gl_LocalInvocationIndex), sg = int(gl_SubgroupID);
    const int n = int(p.n), blocks = (n + ROWS - 1) / ROWS, hp = mc_input_offset(L), p0 = mlp_padded(0);
    for (int blk = int(gl_WorkGroupID.x); blk < blocks; blk += int(gl_NumWorkGroups.x))
    {
        const int row0 = blk * ROWS;
        barrier(); // the previous block's last reads of As are done
        for (int e = tid; e < ROWS * p0; e += THREADS)
        {
            const int r = e / p0, k = e % p0, row = row0 + r;
            const float16_t v = row < n && k < W0 ? float16_t(float(x[row * W0 + k])) : float16_t(0.0);
            As[r * LD + k] = v;
            if (SAVE != 0) h[row * hp + k] = v;
        }
        barrier();
        [[unroll]] for (int l = 0; l < MLP_MAX_LAYERS; l++)
        {
            if (l >= L) continue;
            const int pin = mlp_padded(l), pout = mlp_padded(l + 1), kt = pin / S, nt = pout / S, act = mlp_act(l);
            const int wo = mc_weight_offset(l), bo = mc_bias_offset(l);
            coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[CT_MAX][RT];
            [[unroll]] for (int c = 0; c < CT_MAX; c++)
            {
                const int j = sg + c * NSG;
                if (j >= nt) continue;
                // W^T's tiles of column j: wh's rows j * S.., each read as a column-major S x S matrix.
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> b[NT_MAX];
                [[unroll]] for (int k = 0; k < NT_MAX; k++)
                    if (k < kt) coopMatLoad(b[k], wh, uint(wo + j * S * pin + k * S), uint(pin), gl_CooperativeMatrixLayoutColumnMajor);
                coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> bias;
                coopMatLoad(bias, bt, uint(bo + j * S), uint(pout), gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int i = 0; i < RT; i++)
                {
                    acc[c][i] = bias;
                    [[unroll]] for (int k = 0; k < NT_MAX; k++)
                    {
                        if (k >= kt) continue;
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a;
                        coopMatLoad(a, As, uint(i * S * LD + k * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                        acc[c][i] = coopMatMulAdd(a, b[k], acc[c][i]);
                    }
                }
            }
            barrier(); // every subgroup's reads of As are done

            [[unroll]] for (int c = 0; c < CT_MAX; c++)
            {
                const int j = sg + c * NSG;
                if (j >= nt) continue;
                [[unroll]] for (int i = 0; i < RT; i++)
                {
                    coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> t = acc[c][i];
                    if (act != ACT_NONE)
                        for (int e = 0; e < t.length(); e++) t[e] = kiln_activate(t[e], act, SLOPE);
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> o =
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(t);
                    coopMatStore(o, As, uint(i * S * LD + j * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                    if (SAVE != 0 && l + 1 < L)
                        coopMatStore(o, h, uint((row0 + i * S) * hp + mc_input_offset(l + 1) + j * S), uint(hp), gl_CooperativeMatrixLayoutRowMajor);
                }
            }
            barrier(); // the layer's output is in As

            if (l + 1 == L)
            {
                const int wl = mlp_width(L);
                for (int e = tid; e < ROWS * wl; e += THREADS)
                {
                    const int r = e / wl, j = e % wl, row = row0 + r;
                    if (row < n) y[row * wl + j] = act_t(As[r * LD + j]);
                }
            }
        }
    }
}
