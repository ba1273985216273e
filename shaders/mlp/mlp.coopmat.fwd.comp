#version 450
// Fused MLP forward on tensor cores (MlpCoopMatKernels; KHR cooperative matrices, f16 operands, f32 accumulation,
// Precision.Fp16). A workgroup takes blocks of ROWS rows (blocks wg, wg + groups, ...; include/mlp_coopmat.glsl).
// The block's activations stay in shared memory (As, f16) from layer to layer. Per layer the workgroup stages the
// weight (Ws, rounded to f16) and the bias (Bt: S identical rows, f32); each subgroup then computes its RS rows by
// every output tile: accumulators that start from the bias, TR A loads (its rows of As) and one B load (the weight
// tile, column-major: Ws holds W, the product needs W^T) per S x S x TR products. The activation is applied per
// element and the result, rounded to f16, overwrites the subgroup's own rows of As (no other subgroup reads them,
// so only the next weight's staging waits on a barrier). With SAVE the hidden outputs are copied to h
// ([N, sum of hidden widths], the layout every fused MLP backward reads), the last layer's to y, each subgroup its
// own rows (a row's units by consecutive invocations).
// Bindings: 0 x [N, W0] (act_t), 1 y [N, WL] (act_t), 2 h (act_t), 3.. parameters (float, include/mlp.glsl).
// Specialization: include/mlp.glsl's shape (20 PAD = S), 19 SAVE, 21 SGS, 22 NSG.  Push: n (rows).
// Local size: SGS * NSG.  Shared memory: (ROWS + 64) * 72 * 2 + S * 64 * 4 bytes (S = 16: 31 KiB).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#define MLP_PARAM_BASE 3
#include "kiln.glsl"
#include "mlp.glsl"
#include "storage.glsl"
#include "mlp_coopmat.glsl"

layout(constant_id = 19) const int SAVE = 0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 2) writeonly buffer H { act_t h[]; };
layout(push_constant) uniform P { uint n; } p;

shared float16_t As[ROWS * LD];
shared float Bt[S * MLP_MAX_WIDTH];

void main()
{
    const int tid = int(gl_LocalInvocationIndex), sg = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int n = int(p.n), blocks = (n + ROWS - 1) / ROWS, hidden = mlp_hidden_offset(L - 1), r0 = sg * RS;
    for (int blk = int(gl_WorkGroupID.x); blk < blocks; blk += int(gl_NumWorkGroups.x))
    {
        const int row0 = blk * ROWS;
        barrier(); // the previous block's last reads of As, Ws and Bt are done
        for (int e = tid; e < ROWS * mlp_padded(0); e += THREADS)
        {
            const int r = e / mlp_padded(0), k = e % mlp_padded(0), row = row0 + r;
            As[r * LD + k] = row < n && k < W0 ? float16_t(x[row * W0 + k]) : float16_t(0.0);
        }
        [[unroll]] for (int l = 0; l < MLP_MAX_LAYERS; l++)
        {
            if (l >= L) continue;
            const int fout = mlp_width(l + 1), kt = mlp_padded(l) / S, nt = mlp_padded(l + 1) / S, act = mlp_act(l);
            if (l > 0) barrier(); // every subgroup's reads of the previous layer's Ws and Bt are done
            MC_STAGE_W(l)
            for (int e = tid; e < S * nt * S; e += THREADS)
            {
                const int j = e % (nt * S);
                Bt[e / (nt * S) * MLP_MAX_WIDTH + j] = j < fout ? mlp_param(2 * l + 1, j) : 0.0;
            }
            barrier();

            coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[TR][NT_MAX];
            [[unroll]] for (int i = 0; i < TR; i++)
                [[unroll]] for (int j = 0; j < NT_MAX; j++)
                    if (j < nt) coopMatLoad(acc[i][j], Bt, uint(j * S), uint(MLP_MAX_WIDTH), gl_CooperativeMatrixLayoutRowMajor);
            [[unroll]] for (int k = 0; k < NT_MAX; k++)
            {
                if (k >= kt) continue;
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TR];
                [[unroll]] for (int i = 0; i < TR; i++)
                    coopMatLoad(a[i], As, uint((r0 + i * S) * LD + k * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int j = 0; j < NT_MAX; j++)
                {
                    if (j >= nt) continue;
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> b;
                    coopMatLoad(b, Ws, uint(j * S * LD + k * S), uint(LD), gl_CooperativeMatrixLayoutColumnMajor);
                    [[unroll]] for (int i = 0; i < TR; i++) acc[i][j] = coopMatMulAdd(a[i], b, acc[i][j]);
                }
            }

            // Every load of the subgroup's rows is done before they are overwritten.
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            [[unroll]] for (int i = 0; i < TR; i++)
                [[unroll]] for (int j = 0; j < NT_MAX; j++)
                {
                    if (j >= nt) continue;
                    if (act != ACT_NONE)
                        for (int e = 0; e < acc[i][j].length(); e++) acc[i][j][e] = kiln_activate(acc[i][j][e], act, SLOPE);
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> o =
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(acc[i][j]);
                    coopMatStore(o, As, uint((r0 + i * S) * LD + j * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                }
            subgroupMemoryBarrierShared();
            subgroupBarrier();

            if (l + 1 < L && SAVE != 0)
            {
                const int off = mlp_hidden_offset(l);
                for (int e = lane; e < RS * fout; e += SGS)
                {
                    const int r = e / fout, j = e % fout, row = row0 + r0 + r;
                    if (row < n) h[row * hidden + off + j] = act_t(As[(r0 + r) * LD + j]);
                }
            }
            if (l + 1 == L)
                for (int e = lane; e < RS * fout; e += SGS)
                {
                    const int r = e / fout, j = e % fout, row = row0 + r0 + r;
                    if (row < n) y[row * fout + j] = act_t(As[(r0 + r) * LD + j]);
                }
        }
    }
}
